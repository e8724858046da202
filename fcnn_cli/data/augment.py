"""Random deformations of the training pictures, drawn afresh every epoch (`data.augment`).

Each picture gets its own random affine map (shift, rotation, scale, shear, and a
horizontal flip) and elastic distortion (Simard, Steinkraus & Platt 2003: uniform noise
in [−1, 1] smoothed by a Gaussian of σ pixels and multiplied by α), each applied with its
own probability. Output pixel p takes the source value at

    q(p) = c + M⁻¹ (p − c − t) + α d(p)

with c the picture's centre, M = rotation · shear · scale · flip, t the shift and d the
smoothed noise; so a shift of t = (1, 0) moves the picture one pixel to the right, and
pixels from beyond the edge repeat the edge. The value there is interpolated bilinearly
by OpenCV's `remap`, one call for a whole chunk of pictures stacked into one tall picture
(each picture's coordinates offset to its own rows and kept inside them).

The coordinates are computed elementwise for a chunk of pictures at a time (see
`Deformer`), and the elastic field cheaply: Gaussian smoothing is a linear map G, so the
smoothed noise is G U Gᵀ; the leading k singular vectors of G carry all but 10⁻³ of its
energy (k = 6 for σ = 5 on 28 pixels), so d = A N Aᵀ with A = U_k S_k and N k×k normal
noise of U's variance: the same random field (smoothing makes it Gaussian either way)
from 36 random numbers per axis instead of 68², and two small matrix products instead of
`cv2.GaussianBlur` with a 41-pixel kernel, which would take several times as long as all
the rest (`benchmarks/augment.py`).

The noise is drawn over a margin of 4σ around the picture, so the field is as strong at
the edges as in the middle. An epoch's draws come from one generator, seeded by the
config's seed and the epoch alone, all at once: the same config gives the same pictures
in every run whatever the chunks, and a resumed run remakes its epoch exactly.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from types import TracebackType

import cv2
import numpy as np

from fcnn_cli.data.augment_spec import AugmentSpec, Draw
from fcnn_cli.errors import FcnnError

Array = np.ndarray

CHUNK = 512          # pictures resampled in one call: their buffers stay in cache
KEPT_ENERGY = 1e-3   # of the smoothing's squared singular values, at most this is dropped
STREAM = 3           # the augmentation's random stream: [seed, STREAM, epoch]
MAX_ROWS = 32766     # OpenCV's remap takes pictures of fewer than 2¹⁵ − 1 rows


@dataclass
class Draws:
    """Each picture's random numbers: (n,) float32 arrays, plus the elastic noise."""

    ty: Array        # shift down, pixels
    tx: Array        # shift right, pixels
    angle: Array     # rotation, radians (clockwise on the screen: y points down)
    shear: Array     # factor: x moves by shear·y
    scale: Array     # factor
    flip: Array      # −1 mirrors left-right, 1 keeps
    noise: Array | None = None  # (2, n, k_y·k_x): α d's coefficients on the smoothing basis

    @classmethod
    def identity(cls, n: int) -> Draws:
        def zero() -> Array:
            return np.zeros(n, np.float32)

        def one() -> Array:
            return np.ones(n, np.float32)

        return cls(zero(), zero(), zero(), zero(), one(), one())

    def __getitem__(self, part: slice) -> Draws:
        """The draws of pictures `part` (a slice)."""
        sliced = {f.name: getattr(self, f.name)[part] for f in fields(self)
                  if f.name != "noise"}
        return Draws(**sliced, noise=None if self.noise is None else self.noise[:, part])


class Deformer:
    """Deforms (n, H·W·C) integer pictures of one shape: `draw` random numbers, `warp`.

    Each picture's coordinates are computed elementwise from its own numbers (the elastic
    field by a product of small matrices per picture), never by one matrix product over a
    chunk, whose rounding may depend on the chunk's size: so a picture's pixels are the same
    to the last bit whichever pictures share its chunk.
    """

    def __init__(self, spec: AugmentSpec, shape: tuple[int, ...]) -> None:
        if len(shape) not in (2, 3):
            raise ValueError(f"pictures are (H, W) or (H, W, C), got shape {shape}")
        self.spec = spec
        self.h, self.w = shape[0], shape[1]
        self.c = shape[2] if len(shape) == 3 else 1
        self.centre = ((self.h - 1) / 2, (self.w - 1) / 2)
        # offsets from the centre: a column of rows, a row of columns
        self.y = (np.arange(self.h, dtype=np.float32) - np.float32(self.centre[0]))[:, None]
        self.x = (np.arange(self.w, dtype=np.float32) - np.float32(self.centre[1]))[None, :]
        if spec.elastic is not None:
            self.ay = smoothing_basis(self.h, spec.elastic.sigma)
            self.ax_t = np.ascontiguousarray(smoothing_basis(self.w, spec.elastic.sigma).T)
            self.k = self.ay.shape[1] * self.ax_t.shape[0]
        self.chunk = max(1, min(CHUNK, MAX_ROWS // self.h))

    def epoch(self, raw: Array, seed: int, epoch: int, out: Array,
              cancelled: threading.Event | None = None) -> Array:
        """Epoch `epoch`'s deformed copy of the (n, H·W·C) pictures `raw`, written into
        `out`."""
        draws = self.draw(len(raw), np.random.default_rng([seed, STREAM, epoch]))
        return self._deform(raw, draws, out, cancelled)

    def __call__(self, raw: Array, draws: Draws | np.random.Generator) -> Array:
        """(n, H·W·C) pictures deformed by `draws`, or by fresh draws from a generator."""
        if isinstance(draws, np.random.Generator):
            draws = self.draw(len(raw), draws)
        return self._deform(raw, draws, np.empty_like(raw))

    def _deform(self, raw: Array, draws: Draws, out: Array,
                cancelled: threading.Event | None = None) -> Array:
        for start in range(0, len(raw), self.chunk):
            if cancelled is not None and cancelled.is_set():
                break
            part = slice(start, start + self.chunk)
            self.warp(raw[part], draws[part], out[part])
        return out

    def draw(self, n: int, rng: np.random.Generator) -> Draws:
        """Random numbers for n pictures; a transform not applied to a picture is identity."""
        s = self.spec

        def drawn(draw: Draw | None, identity: float = 0.0) -> Array:
            if draw is None:
                return np.full(n, identity, np.float32)
            value = rng.uniform(-draw.amount, draw.amount, n)
            return (identity + np.where(rng.random(n) < draw.p, value, 0)).astype(np.float32)

        ty, tx = drawn(s.shift), drawn(s.shift)
        angle, shear = np.radians(drawn(s.rotate)), drawn(s.shear)
        scale = drawn(s.scale, 1.0)
        flip = np.where(rng.random(n) < s.hflip, -1, 1).astype(np.float32) if s.hflip \
            else np.ones(n, np.float32)
        draws = Draws(ty, tx, angle, shear, scale, flip)
        if s.elastic is not None:
            noise = rng.standard_normal((2, n, self.k), dtype=np.float32)
            applied = rng.random(n) < s.elastic.p
            # U(−1, 1), which Simard smooths, has variance 1/3.
            noise *= np.where(applied, s.elastic.alpha / math.sqrt(3), 0).astype(
                np.float32)[:, None]
            draws.noise = noise
        return draws

    def warp(self, raw: Array, draws: Draws, out: Array) -> Array:
        """The (n, H·W·C) pictures `raw` deformed by their draws, into `out`: the n pictures
        as one tall picture of n·H rows, each picture's coordinates kept in its own rows."""
        n, h, w = len(raw), self.h, self.w
        qy, qx = self.coordinates(draws)
        np.clip(qy, 0, h - 1, out=qy)  # beyond the edge: the edge (row h − 1 is weighed
        np.clip(qx, 0, w - 1, out=qx)  # exactly 1, the next picture's first row 0)
        # Rows on a grid of 1/256 pixel: then adding the picture's offset in the stack is
        # exact in float32 (below 2¹⁵ rows), and its pixels do not depend on its chunk.
        qy *= 256
        np.rint(qy, out=qy)
        qy /= 256
        qy += (np.arange(n, dtype=np.float32) * h)[:, None, None]
        tall, into = raw.reshape(n * h, w, self.c), out.reshape(n * h, w, self.c)
        if raw.dtype == np.int8:  # remap takes no signed bytes: offset them by 128
            tall, into = tall.view(np.uint8) ^ np.uint8(128), into.view(np.uint8)
        cv2.remap(tall, qx.reshape(n * h, w), qy.reshape(n * h, w), cv2.INTER_LINEAR,
                  dst=into, borderMode=cv2.BORDER_REPLICATE)
        if raw.dtype == np.int8:
            into ^= np.uint8(128)
        return out

    def coordinates(self, d: Draws) -> tuple[Array, Array]:
        """(n, H, W) float32 source rows and columns q(p) of each output pixel p."""
        cos, sin, sh = np.cos(d.angle), np.sin(d.angle), d.shear
        # M⁻¹ = flip · scale⁻¹ · shear⁻¹ · rotation⁻¹, multiplied out, in (x, y) order
        mxx, mxy = (cos + sh * sin) * d.flip / d.scale, (sin - sh * cos) * d.flip / d.scale
        myx, myy = -sin / d.scale, cos / d.scale
        cy, cx = self.centre

        def affine(along_y: Array, along_x: Array, origin: Array) -> Array:
            def each(v: Array) -> Array:  # one number per picture, broadcast over its pixels
                return v.astype(np.float32)[:, None, None]

            return each(along_y) * self.y + (each(along_x) * self.x + each(origin))

        qy = affine(myy, myx, cy - myx * d.tx - myy * d.ty)
        qx = affine(mxy, mxx, cx - mxx * d.tx - mxy * d.ty)
        if d.noise is not None:
            drawn = np.flatnonzero(d.noise[0].any(axis=1))  # the others' noise is all 0
            qy[drawn] += self.field(d.noise[0, drawn])
            qx[drawn] += self.field(d.noise[1, drawn])
        return qy, qx

    def field(self, noise: Array) -> Array:
        """(n, H, W) elastic displacements α d from (n, k_y·k_x) `draw`n noise: A_y N A_xᵀ."""
        n = noise.reshape(len(noise), self.ay.shape[1], self.ax_t.shape[0])
        return self.ay @ n @ self.ax_t


def picture_deformer(spec: AugmentSpec, shape: tuple[int, ...], raw: bool, source: str
                     ) -> Deformer:
    """The Deformer for a dataset's examples of `shape`, or one error line when they are no
    pictures (`raw`: stored as small integers, as pixels are)."""
    if not raw or len(shape) not in (2, 3):
        raise FcnnError(f"data.augment deforms pictures, but {source} holds "
                        f"{'×'.join(map(str, shape))} numbers per example, not pixels; "
                        "remove data.augment")
    return Deformer(spec, shape)


def smoothing_basis(length: int, sigma: float) -> Array:
    """A (length, k) such that A n, n ~ N(0, I_k), is white noise smoothed by a Gaussian of
    σ pixels (truncated at 4σ, as scipy's) and seen on `length` pixels, up to KEPT_ENERGY
    of its energy."""
    r = max(1, int(4 * sigma + 0.5))
    offsets = np.arange(-r, r + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    g = np.zeros((length, length + 2 * r))
    for i in range(length):  # pixel i sees noise cells i .. i + 2r
        g[i, i:i + 2 * r + 1] = kernel
    u, s, _ = np.linalg.svd(g, full_matrices=False)
    energy = np.cumsum(s ** 2) / np.sum(s ** 2)
    k = int(np.searchsorted(energy, 1 - KEPT_ENERGY)) + 1
    return (u[:, :k] * s[:k]).astype(np.float32)


class DeformedEpochs:
    """Each epoch's deformed copy of the training pictures; the next epoch's is made in a
    background thread while the current one trains (NumPy and OpenCV release the GIL, so
    the deforming runs in the gaps BLAS leaves on the second core).

    OpenCV is held to one thread meanwhile: its own pool would contend for the cores with
    BLAS, whose threads stall when one waits for a core, and the pixels are the same
    either way (each output pixel is computed alone). Two buffers take turns, so an
    epoch's pictures stay valid while the next are made.
    """

    def __init__(self, deformer: Deformer, raw: Array, seed: int) -> None:
        self.deformer, self.seed, self.raw = deformer, seed, raw
        self._buffers = [np.empty_like(raw), np.empty_like(raw)]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fcnn-augment")
        self._cancelled = threading.Event()
        self._next: tuple[int, Future[Array]] | None = None
        self._cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)

    def get(self, epoch: int, more: bool = False) -> Array:
        """Epoch `epoch`'s pictures; with `more`, epoch + 1's are begun in the background."""
        made = None
        if self._next is not None:
            upcoming, future = self._next
            made = future.result()  # waited for even when unwanted: it writes a buffer
            if upcoming != epoch:
                made = None
        if made is None:
            made = self._make(epoch)
        self._next = (epoch + 1, self._pool.submit(self._make, epoch + 1)) if more else None
        return made

    def _make(self, epoch: int) -> Array:
        return self.deformer.epoch(self.raw, self.seed, epoch, self._buffers[epoch % 2],
                                   self._cancelled)

    def close(self) -> None:
        self._cancelled.set()
        self._pool.shutdown(wait=True)
        cv2.setNumThreads(self._cv_threads)

    def __enter__(self) -> DeformedEpochs:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
