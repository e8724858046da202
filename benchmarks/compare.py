"""fcnn against PyTorch and scikit-learn: one epoch of the same work on the same CPU.

    python benchmarks/compare.py                      # A, B, C, 3 interleaved repeats, time to 98 %
    python benchmarks/compare.py --workloads A --repeats 5 --threads 1
    python benchmarks/compare.py --synthetic --train 600 --test 200 --repeats 1   # a smoke run

Each workload trains one epoch from a fresh network with fcnn's fast runner, with PyTorch
(eager, `nn.Sequential`, `torch.optim.SGD`, preloaded float32 tensors, a permutation per
epoch and per-batch indexing) and with scikit-learn's `MLPClassifier(solver="sgd")`, taking
turns (fcnn, torch, sklearn, fcnn, ...) so that a busy machine slows all of them alike. It
prints per workload the median seconds per epoch, samples/s, achieved GFLOP/s and share of
the measured float32 matmul peak, test accuracy after the epoch, and fcnn's speed-up over
each peer (peer seconds / fcnn seconds: above 1 means fcnn is faster), as the ratio of the
medians and as the range of the ratios of the runs taken side by side; then one summary
line per workload. A missing peer's columns say "not installed". Only same-run ratios mean
anything: on a shared machine the absolute numbers move by ±25 % from run to run.

fcnn trains as `fcnn train` does: on the uint8 pixels, normalised (x / 255) as it gathers
each chunk of examples (`RawInputs`); the peers get the same numbers as a float32 array.

Data: MNIST from --data, else $FCNN_DATA_DIR/mnist, else ../shared/data/mnist beside the
repository; --synthetic makes random data of MNIST's shape instead (no accuracy meaning).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fcnn_cli.nn import SGD, Network, scheduled_lr  # noqa: E402
from fcnn_cli.nn.epoch import RawInputs  # noqa: E402
from fcnn_cli.nn.fast import EpochRunner  # noqa: E402
from fcnn_cli.threads import available_cores, blas_threads  # noqa: E402

PEERS = ("fcnn", "torch", "sklearn")


@dataclass(frozen=True)
class Workload:
    name: str
    sizes: tuple[int, ...]
    hidden: str          # hidden activation
    output: str
    cost: str
    lr: float
    momentum: float
    batch: int
    init: str            # he, or nielsen: N(0, 1/n_in) weights and N(0, 1) biases
    note: str = ""


WORKLOADS = {
    "A": Workload("A", (784, 128, 10), "relu", "softmax", "log-likelihood", 0.1, 0.0, 64, "he"),
    "B": Workload("B", (784, 800, 800, 10), "relu", "softmax", "log-likelihood", 0.05, 0.9, 128,
                  "he"),
    "C": Workload("C", (784, 30, 10), "sigmoid", "sigmoid", "quadratic", 3.0, 0.0, 10, "nielsen",
                  note="sklearn has no quadratic cost: it runs logistic hidden units with a "
                       "softmax/log-loss output at the same η and batch"),
}
# The time-to-98 % recipe: PyTorch's usual MNIST MLP setting.
RECIPE = Workload("98%", (784, 512, 256, 10), "relu", "softmax", "log-likelihood", 0.1, 0.9, 128,
                  "he")
RECIPE_GAMMA = 0.75


PIXEL_MAX = np.array(255, np.float32)


@dataclass
class Data:
    pixels: np.ndarray   # (N, 784) uint8: what fcnn trains on, normalised as it goes
    labels: np.ndarray   # (N,) int64
    x_test: np.ndarray   # (N_test, 784) float32 in [0, 1]
    labels_test: np.ndarray
    source: str
    x: np.ndarray = field(init=False)  # (N, 784) float32 in [0, 1], for the peers

    def __post_init__(self) -> None:
        # The peers' float32 inputs: the very numbers fcnn's RawInputs makes (a division).
        self.x = self.pixels / PIXEL_MAX

    @property
    def onehot(self) -> np.ndarray:
        return np.eye(10, dtype=np.float32)[self.labels]

    @property
    def fcnn_inputs(self) -> RawInputs:
        return RawInputs(self.pixels, np.zeros((), np.float32), PIXEL_MAX)



@dataclass
class Result:
    seconds: float
    accuracy: float


def training_flops(sizes: tuple[int, ...]) -> int:
    """FLOPs per example: forward, weight gradients, and δ of every layer but the first."""
    macs = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2 * (2 * sum(macs) + sum(macs[1:]))


# ---- data ----------------------------------------------------------------------------
def mnist_folder(given: str | None) -> Path:
    if given:
        return Path(given)
    if os.environ.get("FCNN_DATA_DIR"):
        return Path(os.environ["FCNN_DATA_DIR"]) / "mnist"
    return REPO.parent / "shared" / "data" / "mnist"


def load_mnist(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test images (N, 784) uint8 and labels, through fcnn's loader when present."""
    try:
        from fcnn_cli.data.sources import load_dataset
    except ImportError:
        return _read_idx_folder(folder)
    data = load_dataset("mnist", path=folder)
    assert data.x_test is not None and data.y_test is not None
    return (data.x_train.reshape(len(data.x_train), -1), data.y_train,
            data.x_test.reshape(len(data.x_test), -1), data.y_test)


def _read_idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    def read(stem: str) -> np.ndarray:
        raw = gzip.decompress((folder / f"{stem}.gz").read_bytes())
        dims = raw[3]
        shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)

    images = [read(f"{s}-images-idx3-ubyte") for s in ("train", "t10k")]
    labels = [read(f"{s}-labels-idx1-ubyte").astype(np.int64) for s in ("train", "t10k")]
    return images[0].reshape(-1, 784), labels[0], images[1].reshape(-1, 784), labels[1]


def get_data(args: argparse.Namespace) -> Data:
    if args.synthetic:
        rng = np.random.default_rng(0)
        n, n_test = args.train or 60000, args.test or 10000
        centres = rng.random((10, 784), dtype=np.float32)
        labels = rng.integers(0, 10, n + n_test)
        x = np.clip(centres[labels] + 0.3 * rng.standard_normal((n + n_test, 784),
                                                                dtype=np.float32), 0, 1)
        pixels = np.rint(x * 255).astype(np.uint8)  # pixels, like MNIST's
        return Data(pixels[:n], labels[:n], pixels[n:] / PIXEL_MAX, labels[n:],
                    "synthetic (MNIST-shaped)")
    folder = mnist_folder(args.data)
    if not folder.is_dir():
        sys.exit(f"MNIST not found in {folder}: give --data DIR, set FCNN_DATA_DIR, "
                 "or run with --synthetic")
    x, labels, x_test, labels_test = load_mnist(folder)
    n, n_test = args.train or len(x), args.test or len(x_test)
    return Data(np.ascontiguousarray(x[:n]), labels[:n].astype(np.int64),
                x_test[:n_test] / PIXEL_MAX, labels_test[:n_test].astype(np.int64),
                f"MNIST ({folder.name})")


# ---- fcnn ------------------------------------------------------------------------------
def fcnn_network(w: Workload, seed: int) -> Network:
    acts = [w.hidden] * (len(w.sizes) - 2) + [w.output]
    return Network.create(list(w.sizes), acts, w.cost, w.init, np.random.default_rng(seed))


def fcnn_accuracy(net: Network, data: Data) -> float:
    return float(np.mean(net.predict(data.x_test).argmax(axis=1) == data.labels_test))


def fcnn_epoch(w: Workload, data: Data, seed: int, threads: int) -> Result:
    net = fcnn_network(w, seed)
    y = data.onehot
    with blas_threads(threads):
        start = time.perf_counter()
        runner = EpochRunner(net, SGD(w.lr, w.momentum), w.batch)
        runner.run(data.fcnn_inputs, y, np.random.default_rng(seed).permutation(len(data.x)))
        seconds = time.perf_counter() - start
    return Result(seconds, fcnn_accuracy(net, data))


def fcnn_time_to(w: Workload, data: Data, seed: int, threads: int, target: float,
                 epochs: int) -> tuple[float | None, list[float]]:
    """Training seconds until the test accuracy first reaches `target` (None: never)."""
    net = fcnn_network(w, seed)
    opt = SGD(w.lr, w.momentum)
    y, rng, elapsed, accs = data.onehot, np.random.default_rng(seed), 0.0, []
    with blas_threads(threads):
        runner = EpochRunner(net, opt, w.batch)
        for epoch in range(epochs):
            start = time.perf_counter()
            opt.lr = scheduled_lr("exponential", w.lr, epoch, epochs, RECIPE_GAMMA)
            runner.run(data.fcnn_inputs, y, rng.permutation(len(data.x)))
            elapsed += time.perf_counter() - start
            accs.append(fcnn_accuracy(net, data))
            if accs[-1] >= target:
                return elapsed, accs
    return None, accs


# ---- PyTorch ---------------------------------------------------------------------------
def torch_model(w: Workload, seed: int):  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    torch.manual_seed(seed)
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(w.sizes[:-1], w.sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():  # the same init family as fcnn's
            if w.init == "he":
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
                linear.bias.zero_()
            else:
                linear.weight.normal_(0, n_in ** -0.5)
                linear.bias.normal_(0, 1)
        layers.append(linear)
        last = i == len(w.sizes) - 2
        if not last:
            layers.append(act[w.hidden]())
        elif w.output == "sigmoid":
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def _torch_train_epoch(model, opt, w: Workload, xt, yt, n: int) -> None:  # type: ignore[no-untyped-def]
    import torch
    import torch.nn.functional as F

    perm = torch.randperm(n)
    for i in range(0, n, w.batch):
        idx = perm[i:i + w.batch]
        out = model(xt[idx])
        if w.cost == "quadratic":  # C = ½ Σ_j (y_j − a_j)², batch mean, as fcnn's
            loss = 0.5 * F.mse_loss(out, yt[idx], reduction="sum") / len(idx)
        else:
            loss = F.cross_entropy(out, yt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def _torch_tensors(w: Workload, data: Data):  # type: ignore[no-untyped-def]
    import torch

    xt = torch.from_numpy(data.x)
    yt = torch.from_numpy(data.onehot) if w.cost == "quadratic" else torch.from_numpy(data.labels)
    return xt, yt


def torch_accuracy(model, data: Data) -> float:  # type: ignore[no-untyped-def]
    import torch

    with torch.no_grad():
        pred = model(torch.from_numpy(data.x_test)).argmax(dim=1).numpy()
    return float(np.mean(pred == data.labels_test))


def torch_epoch(w: Workload, data: Data, seed: int, threads: int) -> Result:
    import torch

    torch.set_num_threads(threads)
    model = torch_model(w, seed)
    xt, yt = _torch_tensors(w, data)
    start = time.perf_counter()
    opt = torch.optim.SGD(model.parameters(), lr=w.lr, momentum=w.momentum)
    _torch_train_epoch(model, opt, w, xt, yt, len(data.x))
    seconds = time.perf_counter() - start
    return Result(seconds, torch_accuracy(model, data))


def torch_time_to(w: Workload, data: Data, seed: int, threads: int, target: float,
                  epochs: int) -> tuple[float | None, list[float]]:
    import torch

    torch.set_num_threads(threads)
    model = torch_model(w, seed)
    xt, yt = _torch_tensors(w, data)
    opt = torch.optim.SGD(model.parameters(), lr=w.lr, momentum=w.momentum)
    elapsed, accs = 0.0, []
    for epoch in range(epochs):
        start = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = scheduled_lr("exponential", w.lr, epoch, epochs, RECIPE_GAMMA)
        _torch_train_epoch(model, opt, w, xt, yt, len(data.x))
        elapsed += time.perf_counter() - start
        accs.append(torch_accuracy(model, data))
        if accs[-1] >= target:
            return elapsed, accs
    return None, accs


# ---- scikit-learn ----------------------------------------------------------------------
def sklearn_epoch(w: Workload, data: Data, seed: int, threads: int) -> Result:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    activation = "logistic" if w.hidden == "sigmoid" else "relu"
    model = MLPClassifier(
        hidden_layer_sizes=w.sizes[1:-1], activation=activation,
        solver="sgd", alpha=0.0, batch_size=w.batch, learning_rate_init=w.lr,
        momentum=w.momentum, nesterovs_momentum=False, max_iter=1, shuffle=True,
        random_state=seed)
    with blas_threads(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(data.x, data.labels)
        seconds = time.perf_counter() - start
    return Result(seconds, float(np.mean(model.predict(data.x_test) == data.labels_test)))


# ---- measuring -----------------------------------------------------------------------
def installed(peer: str) -> bool:
    module = {"fcnn": "numpy", "torch": "torch", "sklearn": "sklearn"}[peer]
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def matmul_peak(threads: int, size: int) -> float:
    """GFLOP/s of a float32 size³ matmul in NumPy, the best of a few."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    best = float("inf")
    with blas_threads(threads):
        np.matmul(a, b, out=out)
        for _ in range(5):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    for lib in threadpool_info():
        if lib.get("user_api") == "blas" and "numpy" in lib.get("filepath", ""):
            return f"{lib.get('internal_api')} {lib.get('version')} ({lib.get('architecture')})"
    return "unknown"


RUNNERS: dict[str, Callable[[Workload, Data, int, int], Result]] = {
    "fcnn": fcnn_epoch, "torch": torch_epoch, "sklearn": sklearn_epoch}


def measure(w: Workload, data: Data, peers: list[str], repeats: int, threads: int,
            settle: float) -> dict[str, list[Result]]:
    results: dict[str, list[Result]] = {p: [] for p in peers}
    warm = Data(data.pixels[:2 * w.batch], data.labels[:2 * w.batch], data.x_test[:10],
                data.labels_test[:10], data.source)
    for peer in peers:  # first calls load libraries and fill caches; keep them out of the timing
        RUNNERS[peer](w, warm, 0, threads)
    for rep in range(repeats):
        for peer in peers:  # interleaved, so that load on the machine hits every peer alike
            # PyTorch's OpenMP threads keep spinning for a while after its last product and
            # steal the cores from the next peer's BLAS threads: let them go idle first.
            time.sleep(settle)
            results[peer].append(RUNNERS[peer](w, data, rep, threads))
            print(f"  {w.name} {peer:8s} run {rep + 1}: {results[peer][-1].seconds:7.3f} s",
                  file=sys.stderr, flush=True)
    return results


NAMES = {"torch": "PyTorch", "sklearn": "scikit-learn"}


def run_ratios(peer: list[Result], fcnn: list[Result]) -> tuple[float, float]:
    """Lowest and highest peer/fcnn time ratio over the runs taken side by side."""
    ratios = [p.seconds / f.seconds for p, f in zip(peer, fcnn)]
    return min(ratios), max(ratios)


def summarise(key: str, w: Workload, results: dict[str, list[Result]],
              median: dict[str, float], n: int, peak: float) -> str:
    """One line: fcnn's share of the matmul peak and its speed-up over each peer."""
    gflops = training_flops(w.sizes) * n / median["fcnn"] / 1e9
    parts = [f"{100 * gflops / peak:.0f} % of the matmul peak"]
    for peer in (p for p in PEERS if p != "fcnn" and p in results):
        low, high = run_ratios(results[peer], results["fcnn"])
        parts.append(f"{median[peer] / median['fcnn']:.2f}× {NAMES[peer]} "
                     f"(runs {low:.2f}–{high:.2f}×)")
    return f"# {key}: fcnn " + ", ".join(parts)


def fmt_row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.rjust(n) if i else c.ljust(n)
                             for i, (c, n) in enumerate(zip(cells, widths))) + " |"


def report(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [fmt_row(rows[0], widths), "|" + "|".join("-" * (n + 2) for n in widths) + "|"]
    return "\n".join(lines + [fmt_row(r, widths) for r in rows[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="A,B,C", help="comma-separated, of A, B, C")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated, of " +
                        ", ".join(PEERS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="BLAS/torch threads "
                        "(default: all cores)")
    parser.add_argument("--data", help="folder with MNIST's four IDX .gz files")
    parser.add_argument("--synthetic", action="store_true", help="random MNIST-shaped data")
    parser.add_argument("--train", type=int, default=0, help="use only the first N training "
                        "examples")
    parser.add_argument("--test", type=int, default=0, help="use only the first N test examples")
    parser.add_argument("--target", type=float, default=0.98, help="test accuracy for the "
                        "time-to row (0 skips it)")
    parser.add_argument("--max-epochs", type=int, default=8, help="for the time-to row")
    parser.add_argument("--peak-size", type=int, default=2048, help="n of the n³ matmul")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of rest before "
                        "each timed epoch, for PyTorch's spinning threads to go idle")
    parser.add_argument("--numpy-only", action="store_true",
                        help="fcnn without fcnn_cli.nn.blas: every product through NumPy and "
                             "the optimiser steps as separate passes (fcnn 0.4.0's way)")
    args = parser.parse_args(argv)

    threads = args.threads or available_cores()
    if args.numpy_only:
        from fcnn_cli.nn import blas

        blas.gemm = None
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer {unknown[0]}; choose from {', '.join(PEERS)}")
    peers = [p for p in PEERS if p in wanted and installed(p)]
    missing = [p for p in PEERS if p in wanted and p not in peers]
    shown = [p for p in PEERS if p in wanted]
    data = get_data(args)
    peak = matmul_peak(threads, args.peak_size)
    versions = [f"numpy {np.__version__}"]
    for peer, module in (("torch", "torch"), ("sklearn", "sklearn")):
        if peer in peers:
            versions.append(f"{peer} {__import__(module).__version__}")
    cpu = cpu_name()
    print(f"# fcnn vs peers, {time.strftime('%Y-%m-%d')}, {cpu}, {available_cores()} cores, "
          f"{threads} thread(s)")
    print(f"# {', '.join(versions)}; BLAS: {blas_kernel()}; data: {data.source}, "
          f"{len(data.x)} train / {len(data.x_test)} test")

    measured = []
    for key in [k.strip().upper() for k in args.workloads.split(",") if k.strip()]:
        w = WORKLOADS[key]
        measured.append((key, w, measure(w, data, peers, args.repeats, threads, args.settle)))
    # Once more at the end: a neighbour busy during the first try would make every
    # "% peak" look better than it is; the best of both is the fairer yardstick.
    peak = max(peak, matmul_peak(threads, args.peak_size))
    print(f"# float32 matmul peak ({args.peak_size}³, {threads} thread(s), best before and "
          f"after the runs): {peak:.0f} GFLOP/s\n")

    rows = [["workload", "peer", "s/epoch", "samples/s", "GFLOP/s", "% peak", "test acc",
             "fcnn speed-up", "per run"]]
    summary = []
    for key, w, results in measured:
        median = {p: statistics.median(r.seconds for r in results[p]) for p in peers}
        label = f"{key}: {'-'.join(map(str, w.sizes))} b{w.batch}"
        for peer in shown:
            if peer not in peers:
                rows.append([label, peer] + ["not installed"] + [""] * 6)
                continue
            s = median[peer]
            gflops = training_flops(w.sizes) * len(data.x) / s / 1e9
            acc = statistics.median(r.accuracy for r in results[peer])
            ratio = runs = ""
            if peer != "fcnn" and "fcnn" in peers:
                low, high = run_ratios(results[peer], results["fcnn"])
                ratio, runs = f"{s / median['fcnn']:.2f}×", f"{low:.2f}–{high:.2f}×"
            rows.append([label, peer, f"{s:.3f}", f"{len(data.x) / s:,.0f}", f"{gflops:.1f}",
                         f"{100 * gflops / peak:.0f}", f"{100 * acc:.2f}%", ratio, runs])
        if "fcnn" in peers:
            summary.append(summarise(key, w, results, median, len(data.x), peak))
        if w.note and "sklearn" in peers:
            print(f"# {key}: {w.note}", file=sys.stderr)
    print(report(rows))
    print()
    print("\n".join(summary))

    if args.target > 0:
        time_rows = [["recipe", "peer", f"s to {100 * args.target:.1f}%", "epochs",
                      "test acc per epoch"]]
        label = (f"{'-'.join(map(str, RECIPE.sizes))} SGD μ={RECIPE.momentum} η={RECIPE.lr}"
                 f"×{RECIPE_GAMMA}^epoch b{RECIPE.batch}")
        for peer, fn in (("fcnn", fcnn_time_to), ("torch", torch_time_to)):
            if peer not in shown:
                continue
            if peer not in peers:
                time_rows.append([label, peer, "not installed", "", ""])
                continue
            seconds, accs = fn(RECIPE, data, 0, threads, args.target, args.max_epochs)
            took = f"{seconds:.2f}" if seconds is not None else f"not in {args.max_epochs}"
            time_rows.append([label, peer, took, str(len(accs)),
                              " ".join(f"{100 * a:.2f}" for a in accs)])
        print()
        print(report(time_rows))
    if missing:
        print(f"\n# not installed: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
