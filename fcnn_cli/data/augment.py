"""Random deformations of the training pictures, drawn afresh every epoch (`data.augment`).

Each picture gets its own random affine map (shift, rotation, scale, shear, and a
horizontal flip) and elastic distortion (Simard, Steinkraus & Platt 2003: uniform noise
in [−1, 1] smoothed by a Gaussian of σ pixels and multiplied by α), each applied with its
own probability. Output pixel p takes the source value at

    q(p) = c + M⁻¹ (p − c − t) + α d(p)

with c the picture's centre, M = rotation · shear · scale · flip, t the shift and d the
smoothed noise; so a shift of t = (1, 0) moves the picture one pixel to the right, and
pixels from beyond the edge repeat the edge.

Everything is NumPy on chunks of pictures, cheap enough to run beside training:
resampling MNIST's 54,000 training pictures one by one with `scipy.ndimage` (Gaussian
filters for the fields, `map_coordinates` for the pixels) takes longer than an epoch of
784-800-800-10 takes to train; this takes a fraction of that (`benchmarks/augment.py`).
Three choices make the difference:

- bilinear interpolation at half-pixel resolution: the pictures are upsampled 2× once
  (every midpoint the rounded mean of its neighbours), after which each output pixel is
  one gather, at the half pixel nearest q;
- one matrix product for every coordinate of a chunk (see `Deformer`);
- Gaussian smoothing is a linear map G, so the smoothed noise is G U Gᵀ; the leading k
  singular vectors of G carry all but 10⁻³ of its energy (k = 7 for σ = 4 on 28 pixels),
  so d = A N Aᵀ with A = U_k S_k and N k×k normal noise of U's variance: the same random
  field (smoothing makes it Gaussian either way) from 49 random numbers instead of 784.

The noise is drawn over a margin of 4σ around the picture, so the field is as strong at
the edges as in the middle. Draws come from one generator per epoch, seeded by the
config's seed and the epoch alone, in chunks of a fixed size: the same config gives the
same pictures in every run, and a resumed run remakes its epoch exactly.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from fcnn_cli.data.augment_spec import AugmentSpec, Draw
from fcnn_cli.errors import FcnnError

Array = np.ndarray

CHUNK = 512          # pictures deformed at a time: their buffers stay in cache
KEPT_ENERGY = 1e-3   # of the smoothing's squared singular values, at most this is dropped
STREAM = 3           # the augmentation's random stream: [seed, STREAM, epoch]


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


class Deformer:
    """Deforms (n, H·W·C) integer pictures of one shape: `draw` random numbers, `warp`.

    Every source coordinate is linear in a picture's numbers, so one matrix product gives
    them all: q = C B, with B's rows the offsets from the centre (y and x), ones, and (with
    elastic distortion) the k_y·k_x products of the smoothing bases, and C's rows each
    picture's M⁻¹, offset and noise.
    """

    def __init__(self, spec: AugmentSpec, shape: tuple[int, ...]) -> None:
        if len(shape) not in (2, 3):
            raise ValueError(f"pictures are (H, W) or (H, W, C), got shape {shape}")
        self.spec = spec
        self.h, self.w = shape[0], shape[1]
        self.c = shape[2] if len(shape) == 3 else 1
        self.centre = ((self.h - 1) / 2, (self.w - 1) / 2)
        y, x = np.mgrid[:self.h, :self.w].astype(np.float32)
        rows = [(y - self.centre[0]).ravel(), (x - self.centre[1]).ravel(),
                np.ones(self.h * self.w, np.float32)]
        if spec.elastic is not None:
            ay = smoothing_basis(self.h, spec.elastic.sigma)
            ax = smoothing_basis(self.w, spec.elastic.sigma)
            self.k = ay.shape[1] * ax.shape[1]
            rows += list(np.einsum("ya,xb->abyx", ay, ax).reshape(self.k, -1))
        self.basis = np.ascontiguousarray(np.stack(rows), dtype=np.float32)

    def epoch(self, up: Array, seed: int, epoch: int, out: Array,
              cancelled: threading.Event | None = None) -> Array:
        """Epoch `epoch`'s deformed copy of every picture, from the pictures `upsampled`,
        written into `out` as (n, H·W·C) rows."""
        rng = np.random.default_rng([seed, STREAM, epoch])
        for start in range(0, len(up), CHUNK):
            if cancelled is not None and cancelled.is_set():
                break
            chunk = up[start:start + CHUNK]
            self.warp(chunk, self.draw(len(chunk), rng), out[start:start + CHUNK])
        return out

    def __call__(self, raw: Array, draws: Draws | np.random.Generator) -> Array:
        """(n, H·W·C) pictures deformed by `draws`, or by fresh draws from a generator."""
        if isinstance(draws, np.random.Generator):
            draws = self.draw(len(raw), draws)
        up = upsampled(raw.reshape(len(raw), self.h, self.w, self.c))
        return self.warp(up, draws, np.empty_like(raw))

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

    def warp(self, up: Array, draws: Draws, out: Array) -> Array:
        """Each of the `upsampled` pictures `up` deformed by its draws, into `out` (n rows)."""
        n = len(up)
        hu, wu = 2 * self.h - 1, 2 * self.w - 1
        # 2q + ½, in the upsampled picture's pixels: truncating rounds to the nearest.
        q = (self._coefficients(draws) @ self.basis).reshape(2, n, -1)
        qy, qx = q[0], q[1]
        np.clip(qy, 0.5, hu - 0.5, out=qy)  # beyond the edge: the edge
        np.clip(qx, 0.5, wu - 0.5, out=qx)
        np.trunc(qy, out=qy)
        qy *= wu
        qy += qx
        qy += (np.arange(n, dtype=np.float32) * (hu * wu))[:, None]
        index = qy.astype(np.intp)  # exact: float32 holds integers up to 2²⁴
        if self.c == 1:  # mode="clip": "raise" would gather into a copy first
            np.take(up.reshape(-1), index, out=out.reshape(n, -1), mode="clip")
        else:
            out.reshape(n, -1, self.c)[...] = up.reshape(-1, self.c)[index]
        return out

    def _coefficients(self, d: Draws) -> Array:
        """C: (2n, rows of B); picture i's y coefficients in row i, its x ones in row n + i,
        scaled by 2 and offset by ½ for the upsampled picture."""
        cos, sin, sh = np.cos(d.angle), np.sin(d.angle), d.shear
        # M⁻¹ = flip · scale⁻¹ · shear⁻¹ · rotation⁻¹, multiplied out, in (x, y) order
        mxx, mxy = (cos + sh * sin) * d.flip / d.scale, (sin - sh * cos) * d.flip / d.scale
        myx, myy = -sin / d.scale, cos / d.scale
        cy, cx = self.centre
        c = np.empty((2, len(d.ty), len(self.basis)), np.float32)
        c[0, :, 0], c[0, :, 1], c[0, :, 2] = myy, myx, cy - myx * d.tx - myy * d.ty
        c[1, :, 0], c[1, :, 1], c[1, :, 2] = mxy, mxx, cx - mxx * d.tx - mxy * d.ty
        if d.noise is not None:
            c[:, :, 3:] = d.noise
        c *= 2
        c[:, :, 2] += 0.5
        return c.reshape(-1, len(self.basis))


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


def upsampled(x: Array) -> Array:
    """(n, H, W, C) pixels → (n, 2H−1, 2W−1, C): the pixels, with the rounded mean of each
    pair of neighbours between them (bilinear interpolation at the half pixels)."""
    if len(x) > CHUNK:  # a chunk at a time, so the temporaries stay small
        return np.concatenate([upsampled(x[i:i + CHUNK]) for i in range(0, len(x), CHUNK)])
    n, h, w, c = x.shape
    up = np.empty((n, 2 * h - 1, 2 * w - 1, c), x.dtype)
    up[:, ::2, ::2] = x
    up[:, ::2, 1::2] = _mean(x[:, :, :-1], x[:, :, 1:])
    up[:, 1::2] = _mean(up[:, :-1:2], up[:, 2::2])
    return up


def _mean(a: Array, b: Array) -> Array:
    """⌈(a + b) / 2⌉ of integer arrays, without widening them to hold a + b."""
    return (a | b) - ((a ^ b) >> 1)


class DeformedEpochs:
    """Each epoch's deformed copy of the training pictures; the next epoch's is made in a
    background thread while the current one trains (NumPy releases the GIL in its loops,
    so the deforming runs in the gaps BLAS leaves on the second core).

    The pictures are upsampled once, at the start (4 × their memory: 163 MB for MNIST);
    two buffers take turns, so an epoch's pictures stay valid while the next are made.
    """

    def __init__(self, deformer: Deformer, raw: Array, seed: int) -> None:
        self.deformer, self.seed = deformer, seed
        d = deformer
        self.up = upsampled(raw.reshape(len(raw), d.h, d.w, d.c))
        self._buffers = [np.empty_like(raw), np.empty_like(raw)]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fcnn-augment")
        self._cancelled = threading.Event()
        self._next: tuple[int, Future[Array]] | None = None

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
        return self.deformer.epoch(self.up, self.seed, epoch, self._buffers[epoch % 2],
                                   self._cancelled)

    def close(self) -> None:
        self._cancelled.set()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> DeformedEpochs:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
