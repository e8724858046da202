"""One training epoch, fast: the same updates as `run_epoch`, with far fewer NumPy calls.

`Network.backprop` stays the readable reference, one line per equation. A small network
spends its time in NumPy's per-call overhead rather than in arithmetic (784-30-10 with
batches of 10 is 6,000 steps an epoch), so this module runs the same equations with:

- each example a column, as the lecture writes z^l = w^l a^{l−1} + b^l: the forward
  products then have the layer's units, not the batch, as their long side, which BLAS
  shares between its threads better (on two threads, workloads A and B about 5 % faster
  an epoch than with examples as rows; on one, B about 3 % slower, as its wᵀδ product is);
- every array preallocated once per batch size and written through `out=`, so a step
  allocates nothing; transposed views go straight to BLAS;
- activations and their derivatives computed in place (ReLU keeps its 0/1 mask as f'(z));
- a stable softmax in place, and δ^L fused (a − y for softmax/log-likelihood and
  sigmoid/cross-entropy) with η/N folded in for SGD, so the GEMMs give the steps directly;
- the examples gathered in the epoch's order with one `np.take(..., mode="clip")` per chunk
  of batches into a buffer touched once (`mode="raise"` would allocate a copy every call);
  `RawInputs` (uint8 pixels) are gathered as uint8, a quarter of the bytes, and each batch
  is normalised (the data pipeline's own float32 arithmetic) just before its products
  read it, into a buffer small enough to still be in cache when they do;
- constants as 0-d arrays of the network's dtype, which NumPy handles faster than Python
  floats and which keep a float32 step free of float64 arrays;
- for SGD, a large weight matrix's step inside its product (`blas.gemm`'s β: w ← w −
  (η/N)δaᵀ, or v ← μv − (η/N)δaᵀ then w ← w + v on BLAS's threads; Nesterov likewise),
  so its gradient is never written to memory and read back.

Hidden layers may be relu, sigmoid, tanh or linear; outputs softmax + log-likelihood,
sigmoid + cross-entropy, or quadratic after sigmoid, tanh, relu or linear; optimisers SGD
(with or without (Nesterov) momentum) and Adam, with L2 and dropout. Anything else (PReLU,
leaky ReLU, swish, other pairs, other optimisers) runs the reference `run_epoch`.

All optimiser state stays in the `Optimizer` (`SGD.velocity`, `Adam.m/v/t`), looked up
afresh at the start of every `run`, so checkpoints and resumes see exactly what the
reference would; nothing else carries from one batch to the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from . import blas
from .activations import PReLU
from .epoch import BatchCallback, DivergenceError, EpochStats, RawInputs, run_epoch
from .network import Network
from .optimizers import SGD, Adam, Optimizer

Array = np.ndarray
Inputs = Array | RawInputs  # ready (N, I) inputs, or raw rows normalised as they are taken
Products = Callable[[int, Array, Array, Array], None]  # (l, δ^l, a^{l−1}, ones)

HIDDEN = ("relu", "sigmoid", "tanh", "linear")
OUTPUTS = {("softmax", "log-likelihood"), ("sigmoid", "cross-entropy"),
           ("sigmoid", "quadratic"), ("tanh", "quadratic"), ("relu", "quadratic"),
           ("linear", "quadratic")}
CHUNK_BYTES = 4 << 20  # examples gathered per `np.take`: a few MiB stays in cache
# Weight matrices from this size on take their optimiser step inside the product (BLAS's
# β): measured on 128×784 it saves 13 % of the product and step, on 30×784 it costs 13 %.
FOLD_MIN = 1 << 16


def fast_path_reason(net: Network, optimizer: Optimizer) -> str | None:
    """Why `EpochRunner` must use the reference loop for this pair, or None when it need not."""
    names = [act.name for act in net.activations]
    if any(isinstance(act, PReLU) for act in net.activations):
        return "PReLU layers"
    slow = [name for name in names[:-1] if name not in HIDDEN]
    if slow:
        return f"hidden activation {slow[0]}"
    if (names[-1], net.cost.name) not in OUTPUTS:
        return f"output {names[-1]} with cost {net.cost.name}"
    if type(optimizer) not in (SGD, Adam):
        return f"optimizer {type(optimizer).__name__}"
    if net.dtype not in (np.float32, np.float64):
        return f"dtype {net.dtype}"
    return None


class EpochRunner:
    """Runs epochs of mini-batch training for one network and optimiser.

    `run` has exactly the contract of `fcnn_cli.nn.epoch.run_epoch`; buffers are kept
    between calls, so make one runner per training run.
    """

    def __init__(self, net: Network, optimizer: Optimizer, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.net = net
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.fallback_reason = fast_path_reason(net, optimizer)
        self._step: _Step | None = None
        self._chunk: _Chunk | None = None

    @property
    def fast(self) -> bool:
        return self.fallback_reason is None

    def run(self, x: Inputs, y: Array, perm: Array, start_batch: int = 0,
            stats: EpochStats | None = None, dropout_rng: np.random.Generator | None = None,
            on_batch: BatchCallback | None = None) -> EpochStats:
        """Train on x[perm] in batches of `batch_size`, starting at batch `start_batch`."""
        if not self.fast:
            return run_epoch(self.net, self.optimizer, x, y, perm, self.batch_size,
                             start_batch, stats, dropout_rng, on_batch)
        stats = stats if stats is not None else EpochStats()
        bs = self.batch_size
        n_batches = -(-len(perm) // bs)
        if start_batch >= n_batches:
            return stats
        _check_indices(perm, len(x))
        step = self._prepare(x, y)
        update = step.update_rule(self.optimizer)
        for i, xb, yb, labels in self._batches(x, y, perm, start_batch):
            buf = step.views(len(xb))
            cost, correct = step.forward(xb, yb, labels, buf, dropout_rng)
            if not math.isfinite(cost):
                raise DivergenceError(i + 1)
            step.backward(buf, update.scale(len(xb)), update.products)
            update.apply()
            stats.cost_sum += cost
            stats.correct += correct
            stats.seen += len(xb)
            stats.batches = i + 1
            if on_batch is not None and not on_batch(i + 1, n_batches, stats):
                break
        return stats

    def gradients(self, x: Array, y: Array, rng: np.random.Generator | None = None
                  ) -> list[Array]:
        """The batch-mean gradients of one batch, in `net.params()` order (for tests).

        Computed by the fast path, so comparing them with `Network.backprop` checks it.
        """
        if not self.fast:
            grads, _ = self.net.backprop(x, y, rng)
            return self.net.grads_list(grads)
        x = np.ascontiguousarray(x, dtype=self.net.dtype)
        y = np.ascontiguousarray(y, dtype=self.net.dtype)
        step = _Step(self.net, len(x))
        labels = _labels(y, np.empty(len(y), np.intp), np.empty(len(y), bool))
        buf = step.views(len(x))
        step.forward(x, y, labels, buf, rng)
        step.backward(buf, np.array(1 / len(x), step.dtype))
        return [g.copy() for g in step.grads]

    def _prepare(self, x: Inputs, y: Array) -> _Step:
        net, bs = self.net, self.batch_size
        if self._step is None or not self._step.matches(net):
            self._step = _Step(net, bs)
        if self._chunk is None or not self._chunk.fits(x, y, net.dtype):
            rows = bs * max(1, CHUNK_BYTES // max(1, bs * x.shape[1] * net.dtype.itemsize))
            self._chunk = _Chunk(rows, bs, x.shape[1], y.shape[1], net.dtype, _raw_dtype(x))
        return self._step

    def _batches(self, x: Inputs, y: Array, perm: Array, start_batch: int
                 ) -> Iterator[tuple[int, Array, Array, Array]]:
        """(batch index, x rows, y rows, class labels) in the order `perm` gives."""
        bs, chunk = self.batch_size, self._chunk
        assert chunk is not None
        raw = x if isinstance(x, RawInputs) else None
        i = start_batch
        for first in range(start_batch * bs, len(perm), chunk.rows):
            xc, yc, labels = chunk.gather(x, y, perm[first:first + chunk.rows])
            for j in range(0, len(xc), bs):
                xb = xc[j:j + bs]
                if raw is not None:  # normalised now, so the products read it from cache
                    xb = raw.normalize(xb, chunk.batch[:len(xb)])
                yield i, xb, yc[j:j + bs], labels[j:j + bs]
                i += 1


def _check_indices(perm: Array, n: int) -> None:
    # `np.take(mode="clip")` would quietly clamp a bad index where x[perm] raises.
    if len(perm) and (perm.min() < 0 or perm.max() >= n):
        raise IndexError(f"perm holds indices outside 0..{n - 1}")


def _labels(y: Array, argmax_out: Array, threshold_out: Array) -> Array:
    """Each row's class as `count_correct` sees it: argmax, or y > ½ for one output."""
    if y.shape[1] == 1:
        return np.greater(y[:, 0], 0.5, out=threshold_out[:len(y)])
    return np.argmax(y, axis=1, out=argmax_out[:len(y)])


def _raw_dtype(x: Inputs) -> np.dtype | None:
    return x.raw.dtype if isinstance(x, RawInputs) else None


class _Chunk:
    """A buffer for the next few MiB of examples, gathered in the epoch's order.

    `x` holds the rows as the inputs store them: ready inputs, or the raw rows of
    `RawInputs`, which are normalised one batch at a time into `batch`.
    """

    def __init__(self, rows: int, batch_size: int, inputs: int, outputs: int,
                 dtype: np.dtype, raw_dtype: np.dtype | None) -> None:
        self.rows, self.dtype, self.raw_dtype = rows, dtype, raw_dtype
        # np.full writes every page now, so the first epoch pays no page faults mid-run.
        self.x = np.full((rows, inputs), 0, dtype if raw_dtype is None else raw_dtype)
        self.batch = np.full((batch_size if raw_dtype is not None else 0, inputs), 0, dtype)
        self.y = np.full((rows, outputs), 0, dtype)
        self.argmax = np.full(rows, 0, np.intp)
        self.threshold = np.full(rows, False)

    def fits(self, x: Inputs, y: Array, dtype: np.dtype) -> bool:
        return ((self.x.shape[1], self.y.shape[1], self.dtype, self.raw_dtype)
                == (x.shape[1], y.shape[1], dtype, _raw_dtype(x)))

    def gather(self, x: Inputs, y: Array, idx: Array) -> tuple[Array, Array, Array]:
        n = len(idx)
        xc, yc = self.x[:n], self.y[:n]
        _take(x.raw if isinstance(x, RawInputs) else x, idx, xc)
        _take(y, idx, yc)
        return xc, yc, _labels(yc, self.argmax, self.threshold)


def _take(src: Array, idx: Array, dst: Array) -> None:
    if src.dtype == dst.dtype:
        np.take(src, idx, axis=0, out=dst, mode="clip")
    else:
        dst[...] = src[idx]


@dataclass
class _Buffers:
    """Every array one step writes, for a batch of n examples, each example a column."""

    z: list[Array]        # (units, n): z^l, overwritten in place by a^l = f(z^l)
    aux: list[Array]      # f'(z^l) for relu, scratch for σ and tanh
    dropped: list[Array]  # a^l ⊙ mask^l, for layers with dropout (else empty)
    noise: list[Array]    # (n, units): dropout's uniform draws, in Network.feedforward's order
    mask: list[Array]     # (n, units): dropout's 0 or 1/keep
    delta: list[Array]    # ∂C/∂a^l, turned in place into δ^l (times the step size)
    y: Array              # (outputs, n): the batch's targets as columns
    ones: Array           # (n,): Σ_n δ^l as the product δ^l 1
    col: Array            # (1, n): softmax's max, then its column sums
    row_sum: Array        # (n,): Σ_j y_j, the weight of each example's ln Σ e^z
    pred: Array           # predicted classes
    hits: Array           # pred == label

    @classmethod
    def allocate(cls, units: list[int], dropout: list[bool], n: int, dtype: np.dtype
                 ) -> _Buffers:
        def full(rows: int) -> Array:
            # np.full writes every page now, so no page faults land in the first epoch.
            return np.full((rows, n), 0, dtype)

        def maybe(u: int, drop: bool) -> Array:
            return full(u if drop else 0)

        def draws(u: int, drop: bool) -> Array:
            return np.full((n, u if drop else 0), 0, dtype)

        return cls(z=[full(u) for u in units], aux=[full(u) for u in units],
                   dropped=[maybe(u, d) for u, d in zip(units, dropout)],
                   noise=[draws(u, d) for u, d in zip(units, dropout)],
                   mask=[draws(u, d) for u, d in zip(units, dropout)],
                   delta=[full(u) for u in units], y=full(units[-1]),
                   ones=np.full(n, 1, dtype), col=full(1), row_sum=np.full(n, 0, dtype),
                   pred=np.full(n, 0, np.intp) if units[-1] > 1 else np.full(n, False),
                   hits=np.full(n, False))


class _Step:
    """Forward and backward passes of one network over preallocated buffers."""

    def __init__(self, net: Network, batch_size: int) -> None:
        self.net = net
        self.dtype = net.dtype
        self.shapes = [w.shape for w in net.w]
        self.names = [act.name for act in net.activations]
        self.cost = net.cost.name
        d = self.dtype
        self.one, self.zero, self.half = (np.array(v, d) for v in (1, 0, 0.5))
        self.tiny = np.array(np.finfo(d).tiny, d)
        self.exp_limit = np.array(np.log(np.finfo(d).max) - 1, d)
        self.ones_out = np.ones(self.shapes[-1][0], d)
        L = len(self.shapes)
        rates = [net.dropout[l] if l < min(L - 1, len(net.dropout)) else 0.0 for l in range(L)]
        self.keep = [np.array(1 - p, d) for p in rates]
        units = [shape[0] for shape in self.shapes]
        dropout = [p > 0 for p in rates]
        self._units, self._dropout_layers = units, dropout  # for buffers of other batch sizes
        self._views = {batch_size: _Buffers.allocate(units, dropout, batch_size, d)}
        self.batch_size = batch_size
        self.grads = ([np.full(w.shape, 0, d) for w in net.w]
                      + [np.full(bias.shape, 0, d) for bias in net.b])
        # What layer l + 1 read in the last forward pass: a^l, or a^l ⊙ mask^l, as columns.
        self._inputs: list[Array] = []

    def matches(self, net: Network) -> bool:
        return (net is self.net and net.dtype == self.dtype
                and [w.shape for w in net.w] == self.shapes
                and [act.name for act in net.activations] == self.names)

    def views(self, n: int) -> _Buffers:
        # A batch of another size (the last, short one) gets buffers of its own: the first
        # n columns of the full ones would not be contiguous.
        if n not in self._views:
            self._views[n] = _Buffers.allocate(self._units, self._dropout_layers, n, self.dtype)
        return self._views[n]

    def update_rule(self, optimizer: Optimizer) -> _Update:
        if isinstance(optimizer, Adam):
            return _AdamUpdate(self, optimizer)
        assert isinstance(optimizer, SGD)
        return _SGDUpdate(self, optimizer)

    # ---- forward: z^l = w^l a^{l-1} + b^l, a^l = f(z^l); then the cost and δ^L
    def forward(self, x: Array, y: Array, labels: Array, buf: _Buffers,
                rng: np.random.Generator | None) -> tuple[float, int]:
        """Fills z, a (and dropout masks) of every layer and ∂C/∂a^L for the rows of x and
        y, one example each; returns (Σ cost, hits)."""
        net, L = self.net, len(self.shapes)
        a = x.T  # the examples as columns: a transposed view, which BLAS reads as it is
        inputs = [a]
        for l in range(L):
            z = buf.z[l]
            np.matmul(net.w[l], a, out=z)
            np.add(z, net.b[l][:, None], z)
            if l < L - 1:
                _FORWARD[self.names[l]](self, z, buf.aux[l])
                a = z if rng is None or not buf.noise[l].size else self._dropout(l, z, buf, rng)
                inputs.append(a)
        self._inputs = inputs
        np.copyto(buf.y, y.T)
        return self._output(buf, buf.y, labels)

    def _dropout(self, l: int, a: Array, buf: _Buffers, rng: np.random.Generator) -> Array:
        # The same draws, in the same order, as Network.feedforward: inverted dropout.
        noise, mask = buf.noise[l], buf.mask[l]
        rng.random(out=noise, dtype=self.dtype)
        np.less(noise, self.keep[l], mask)
        np.divide(mask, self.keep[l], mask)
        return np.multiply(a, mask.T, buf.dropped[l])

    def _output(self, buf: _Buffers, y: Array, labels: Array) -> tuple[float, int]:
        z, delta, name = buf.z[-1], buf.delta[-1], self.names[-1]
        if name == "softmax":
            cost = self._softmax_log_likelihood(z, y, buf)
            np.subtract(z, y, delta)                          # δ^L = a − y
        else:
            _FORWARD[name](self, z, buf.aux[-1])
            if self.cost == "cross-entropy":
                cost = self._cross_entropy(z, y, delta)
                np.subtract(z, y, delta)                      # δ^L = a − y
            else:
                np.subtract(z, y, delta)                      # ∇_a C = a − y
                cost = 0.5 * float(np.vdot(delta, delta))
                _BACKWARD[name](self, delta, z, buf.aux[-1])  # δ^L = ∇_a C ⊙ f'(z^L)
        if z.shape[0] == 1:
            np.greater(z[0], self.half, buf.pred)
        else:
            np.argmax(z, axis=0, out=buf.pred)
        np.equal(buf.pred, labels, buf.hits)
        return cost, int(np.count_nonzero(buf.hits))

    def _softmax_log_likelihood(self, z: Array, y: Array, buf: _Buffers) -> float:
        """Turns z into a = softmax(z) in place, column by column; returns
        Σ_n −Σ_j y_j ln a_j."""
        col, row_sum = buf.col, buf.row_sum
        np.maximum.reduce(z, axis=0, keepdims=True, out=col)
        np.subtract(z, col, z)                    # shifting by max(z) keeps exp finite
        target = float(np.vdot(y, z))             # Σ_n Σ_j y_j (z_j − max z)
        np.exp(z, z)
        np.dot(self.ones_out, z, out=col[0])
        np.divide(z, col, z)
        np.log(col, col)
        # −ln a_j = ln Σ_k e^{z_k − max} − (z_j − max), weighted by y_j and summed
        np.add.reduce(y, axis=0, out=row_sum)
        return float(np.vdot(row_sum, col)) - target

    def _cross_entropy(self, a: Array, y: Array, scratch: Array) -> float:
        """Σ_n −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)], clamped as `CrossEntropy.fn`."""
        np.maximum(a, self.tiny, out=scratch)
        np.log(scratch, scratch)
        ln_a = float(np.vdot(y, scratch))
        np.subtract(self.one, a, scratch)
        np.maximum(scratch, self.tiny, out=scratch)
        np.log(scratch, scratch)
        ln_1ma = float(np.sum(scratch)) - float(np.vdot(y, scratch))
        return -(ln_a + ln_1ma)

    # ---- backward: δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ f'(z^l); ∂C/∂w^l = δ^l (a^{l-1})^T
    def backward(self, buf: _Buffers, scale: Array, products: Products | None = None) -> None:
        """δ of every layer times `scale` (η/N for SGD), and the weight products δ(a^{l−1})ᵀ
        and δ1 that `products` takes for each layer (default: into `grads`)."""
        net, L, inputs = self.net, len(self.shapes), self._inputs
        products = products or self.gradients
        delta = buf.delta[-1]
        np.multiply(delta, scale, delta)
        for l in range(L - 1, -1, -1):
            if l:  # before the products, which may update w^l in place
                below = buf.delta[l - 1]
                np.matmul(net.w[l].T, delta, out=below)
            products(l, delta, inputs[l], buf.ones)
            if l:
                if inputs[l] is not buf.z[l - 1]:
                    np.multiply(below, buf.mask[l - 1].T, below)
                _BACKWARD[self.names[l - 1]](self, below, buf.z[l - 1], buf.aux[l - 1])
                delta = below

    def gradients(self, l: int, delta: Array, a: Array, ones: Array) -> None:
        """∂C/∂w^l = δ^l (a^{l−1})ᵀ and ∂C/∂b^l = Σ_n δ^{n,l}, into `grads`."""
        L = len(self.shapes)
        np.matmul(delta, a.T, out=self.grads[l])
        np.dot(delta, ones, out=self.grads[L + l])


# Elementwise activations in place: forward turns z into a = f(z); backward multiplies ∂C/∂a
# by f'(z), given a (σ and tanh need only a) and what forward left in `aux`.
def _relu_forward(s: _Step, z: Array, aux: Array) -> None:
    # z ⊙ [z > 0] is faster than np.maximum here, and leaves f'(z) in aux for backward.
    np.greater(z, s.zero, out=aux)
    np.multiply(z, aux, z)


def _relu_backward(s: _Step, g: Array, a: Array, aux: Array) -> None:
    np.multiply(g, aux, g)


def _sigmoid_forward(s: _Step, z: Array, aux: Array) -> None:
    np.negative(z, z)
    np.minimum(z, s.exp_limit, out=z)    # e^−z stays finite; σ(z) for z < −88 is ~0 anyway
    np.exp(z, z)
    np.add(z, s.one, z)
    np.reciprocal(z, z)                  # 1 / (1 + e^−z)


def _sigmoid_backward(s: _Step, g: Array, a: Array, aux: Array) -> None:
    np.subtract(s.one, a, aux)
    np.multiply(aux, a, aux)             # σ' = a (1 − a)
    np.multiply(g, aux, g)


def _tanh_forward(s: _Step, z: Array, aux: Array) -> None:
    np.tanh(z, z)


def _tanh_backward(s: _Step, g: Array, a: Array, aux: Array) -> None:
    np.multiply(a, a, aux)
    np.subtract(s.one, aux, aux)         # tanh' = 1 − a²
    np.multiply(g, aux, g)


def _linear_forward(s: _Step, z: Array, aux: Array) -> None:
    pass                                 # a = z


def _linear_backward(s: _Step, g: Array, a: Array, aux: Array) -> None:
    pass                                 # f' = 1


_FORWARD = {"relu": _relu_forward, "sigmoid": _sigmoid_forward, "tanh": _tanh_forward,
            "linear": _linear_forward}
_BACKWARD = {"relu": _relu_backward, "sigmoid": _sigmoid_backward, "tanh": _tanh_backward,
             "linear": _linear_backward}


class _Update:
    """One optimiser step over the gradients a `_Step` left, with the optimiser's own state."""

    def __init__(self, step: _Step) -> None:
        self.products: Products = step.gradients  # the gradients, for `apply` to read

    def scale(self, n: int) -> Array:
        raise NotImplementedError

    def apply(self) -> None:
        raise NotImplementedError


class _SGDUpdate(_Update):
    """w → w − η g, or v → μv − ηg with w → w + v (Nesterov: w → w + μv − ηg).

    The gradients arrive already multiplied by η (η/N folded into δ^L). Where BLAS can add
    a product into its output (`blas.gemm`), a large weight matrix takes its whole step
    while backprop passes it, its gradient never written out and read back: plain SGD is
    the product itself (w ← (1 − ηλ)w − ηg, β = 1 − ηλ); momentum is v ← μv − ηg (β = μ)
    then w ← w + v; Nesterov is w ← w − μv, the same product, then w ← w + (1 + μ)v, which
    is w + μv_new − ηg. The w updates run on BLAS's threads (`axpy`). Biases, small
    matrices (where a call costs more than the passes it saves) and momentum with L2 take
    the gradient and their own passes in `apply`.
    """

    def __init__(self, step: _Step, opt: SGD) -> None:
        super().__init__(step)
        d, params = step.dtype, step.net.params()
        self._scales: dict[int, Array] = {}
        self.lr, self.dtype = opt.lr, d
        self.mu = np.array(opt.momentum, d)
        self.nesterov = opt.nesterov
        decay = np.array(opt.lr * opt.l2, d)
        foldable = blas.gemm is not None and not (opt.momentum and opt.l2)
        self.beta = opt.momentum if opt.momentum else 1 - opt.lr * opt.l2
        self.layers = len(step.shapes)
        self.slots = []
        for i, (p, g, decays) in enumerate(zip(params, step.grads, step.net.decays())):
            v = opt.velocity.setdefault(i, np.zeros_like(p)) if opt.momentum else None
            l2 = (decay, np.empty_like(p)) if decays and opt.l2 else None
            folded = foldable and i < self.layers and p.size >= FOLD_MIN
            self.slots.append((p, g, v, l2, folded))
        if any(slot[-1] for slot in self.slots):
            self.products = self._products

    def _products(self, l: int, delta: Array, a: Array, ones: Array) -> None:
        """Layer l's products; a folded matrix takes its step here (backprop has already
        used w^l for δ^{l−1}, and nothing later in this step reads it)."""
        p, g, v, _, folded = self.slots[l]
        gemm, axpy, mu = blas.gemm, blas.axpy, self.beta
        # gemm reads C-contiguous arrays: a buffer of columns a^{l−1} (then its transpose),
        # or, for the first layer, the input rows that a views (already (a^0)ᵀ)
        b, transposed = (a, True) if a.flags.c_contiguous else (a.T, False)
        if not folded:
            np.matmul(delta, a.T, out=g)
        elif v is None:
            assert gemm is not None
            gemm(-1.0, delta, False, b, transposed, mu, p)    # w ← (1 − ηλ)w − ηg
        else:
            assert gemm is not None and axpy is not None
            if self.nesterov:
                axpy(-mu, v, p)                               # w − μv
            gemm(-1.0, delta, False, b, transposed, mu, v)    # v ← μv − ηg
            axpy(1.0 + mu if self.nesterov else 1.0, v, p)    # w + v, Nesterov w + (1 + μ)v
        np.dot(delta, ones, out=self.slots[self.layers + l][1])

    def scale(self, n: int) -> Array:
        if n not in self._scales:
            self._scales[n] = np.array(self.lr / n, self.dtype)
        return self._scales[n]

    def apply(self) -> None:
        mu, nesterov = self.mu, self.nesterov
        for p, g, v, l2, folded in self.slots:
            if folded:  # stepped in `_products` already
                continue
            if l2 is not None:
                np.multiply(p, l2[0], l2[1])
                np.add(g, l2[1], g)                      # η(g + λw)
            if v is None:
                np.subtract(p, g, p)
                continue
            np.multiply(v, mu, v)
            np.subtract(v, g, v)                         # v → μv − ηg
            if nesterov:
                np.subtract(p, g, p)
                np.multiply(v, mu, g)
                np.add(p, g, p)                          # w → w + μv − ηg
            else:
                np.add(p, v, p)


class _AdamUpdate(_Update):
    """Kingma & Ba's Adam with the bias correction folded into the step, as `Adam._step`."""

    def __init__(self, step: _Step, opt: Adam) -> None:
        super().__init__(step)
        d, params = step.dtype, step.net.params()
        self.opt, self.dtype = opt, d
        self._scales: dict[int, Array] = {}
        self.b1, self.b2 = np.array(opt.beta1, d), np.array(opt.beta2, d)
        self.c1, self.c2 = np.array(1 - opt.beta1, d), np.array(1 - opt.beta2, d)
        self.eps, self.l2 = np.array(opt.eps, d), np.array(opt.l2, d)
        self.step_size = np.array(0, d)
        self.slots = []
        for i, (p, g, decays) in enumerate(zip(params, step.grads, step.net.decays())):
            m = opt.m.setdefault(i, np.zeros_like(p))
            v = opt.v.setdefault(i, np.zeros_like(p))
            self.slots.append((p, g, m, v, np.empty_like(p), decays and bool(opt.l2)))

    def scale(self, n: int) -> Array:
        if n not in self._scales:
            self._scales[n] = np.array(1 / n, self.dtype)
        return self._scales[n]

    def apply(self) -> None:
        opt = self.opt
        opt.t += 1
        self.step_size[...] = (opt.lr * math.sqrt(1 - opt.beta2 ** opt.t)
                               / (1 - opt.beta1 ** opt.t))
        for p, g, m, v, tmp, decay in self.slots:
            if decay:
                np.multiply(p, self.l2, tmp)
                np.add(g, tmp, g)                        # g + λw
            np.multiply(m, self.b1, m)
            np.multiply(g, self.c1, tmp)
            np.add(m, tmp, m)                            # m → β1 m + (1 − β1) g
            np.multiply(g, self.c2, tmp)
            np.multiply(tmp, g, tmp)
            np.multiply(v, self.b2, v)
            np.add(v, tmp, v)                            # v → β2 v + (1 − β2) g²
            np.sqrt(v, tmp)
            np.add(tmp, self.eps, tmp)
            np.divide(m, tmp, tmp)
            np.multiply(tmp, self.step_size, tmp)
            np.subtract(p, tmp, p)                       # w → w − step m / (√v + ε)
