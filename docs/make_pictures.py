"""Regenerate the pictures the documentation shows, under docs/images/.

    python docs/make_pictures.py                 # every picture
    python docs/make_pictures.py report spiral   # some of them
    python docs/make_pictures.py --list          # what each one is, and what it needs

Each picture has one recipe below: the fcnn commands it runs (in a temporary folder, so
nothing is written into the checkout but the picture) and how it is taken. Pages are
screenshotted in headless Chromium through Playwright (`pip install playwright`; the
browser at CHROMIUM, or set FCNN_CHROMIUM). Some recipes train (MNIST must be at hand:
see the datasets how-to) or start servers (MLflow, TensorBoard, the playground); a recipe
whose tool is missing says what it needs and the others still run. Not run in CI: the
pictures come from real runs, and the pages' captions name the machine and the date.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("FCNN_CHROMIUM", "/usr/bin/chromium")


class Missing(Exception):
    """A recipe cannot run here; the message says what it needs."""


def fcnn(*args: str, cwd: Path, stdout: Path | None = None,
         env: dict[str, str] | None = None) -> str:
    """Run `fcnn ARGS` with this Python in `cwd`; its output, or into `stdout`."""
    command = [sys.executable, "-m", "fcnn_cli", *args]
    print("  $ fcnn", " ".join(args), flush=True)
    with open(stdout, "w") if stdout else contextlib.nullcontext() as out:
        ran = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})},
                             stdout=out or subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if ran.returncode != 0:
        raise SystemExit(f"fcnn {' '.join(args)} failed:\n{ran.stderr}")
    return ran.stdout or ""


@contextlib.contextmanager
def browser(width: int, height: int, scale: float = 1.0) -> Iterator[object]:
    """A Playwright page in headless Chromium, `width`×`height` CSS pixels."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise Missing("Playwright: pip install playwright") from error
    if not Path(CHROMIUM).exists():
        raise Missing(f"Chromium at {CHROMIUM} (or set FCNN_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = chromium.new_page(viewport={"width": width, "height": height},
                                     device_scale_factor=scale)
            yield page
        finally:
            chromium.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server(command: list[str], url: str, cwd: Path, wait_s: float = 90) -> Iterator[None]:
    """Start `command`, wait until `url` answers, stop it afterwards."""
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise Missing(f"{command[0]}: pip install {command[0]}")
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{' '.join(command)} did not answer at {url}") from None
                time.sleep(0.5)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- the recipes: each writes docs/images/<name>.png from a temporary folder -------------

def trace(work: Path) -> None:
    """The lecture's 2-3-1 network after one step: forward-trace mlp-2-3-1 --format svg."""
    fcnn("forward-trace", "mlp-2-3-1", "--format", "svg", cwd=work, stdout=work / "mlp.svg")
    with browser(1400, 900) as page:
        page.goto((work / "mlp.svg").as_uri())
        page.locator("svg").first.screenshot(path=IMAGES / "trace-2-3-1.png")


def report(work: Path) -> None:
    """The top of `fcnn report mnist` (the shipped model; needs MNIST), 540 px wide."""
    fcnn("report", "mnist", "--out", "mnist.report.html", cwd=work)
    with browser(540, 850) as page:
        page.goto((work / "mnist.report.html").as_uri())
        page.screenshot(path=IMAGES / "report.png")


def vanishing(work: Path) -> None:
    """Speed of learning per layer: vanishing-sigmoid against vanishing-relu (needs MNIST)."""
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True, dpi=100)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "black"]
    for ax, recipe, kind in zip(axes, ("vanishing-sigmoid", "vanishing-relu"),
                                ("sigmoid", "relu")):
        fcnn("train", recipe, "--quiet", cwd=work)
        with h5py.File(work / "runs" / f"{recipe}.h5") as model:
            layers = model["history/diagnostics"]
            names = sorted(layers, key=int)
            for number, name in enumerate(names):
                speed = layers[name]["speed"][()]
                label = ("output layer" if number == len(names) - 1
                         else f"hidden layer {number + 1}")
                ax.plot(range(1, len(speed) + 1), speed, color=colours[number % 5], label=label)
        ax.set_yscale("log")
        ax.set_title(f"{recipe} ({kind} hidden layers)", fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("speed of learning ‖∂C/∂b‖ (log)")
    axes[1].legend(ncol=2, fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(IMAGES / "vanishing.png")
    plt.close(figure)


def spiral(work: Path) -> None:
    """The decision-boundary section of `fcnn report` after `fcnn train spiral`."""
    fcnn("train", "spiral", "--quiet", cwd=work)
    fcnn("report", "runs/spiral.h5", cwd=work)
    with browser(1000, 900) as page:
        page.goto((work / "runs" / "spiral.report.html").as_uri())
        section = page.locator("section#decision-boundary")
        section.locator("h2").evaluate("heading => heading.remove()")
        section.screenshot(path=IMAGES / "spiral-boundary.png")


def pipeline(work: Path) -> None:
    """The digit pipeline, step by step, on four example photos (what `predict --show` draws)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import fcnn_cli as api
    from fcnn_cli.data.images import load_image
    from fcnn_cli.shipped import input_path

    spec = api.load_model("mnist").image
    names = ["photo-shadow-1-label-9.jpg", "photo-ruled-1-label-4.jpg",
             "photo-chalkboard-1-label-6.jpg", "photo-pencil-1-label-1.jpg"]
    rows = []
    for name in names:
        prepared = load_image(input_path(name), spec, steps=True)
        rows.append([*prepared.steps, ("the 28×28 input", prepared.pixels.reshape(28, 28))])
    columns = len(rows[0])
    figure, axes = plt.subplots(len(rows), columns, figsize=(2.2 * columns, 2.3 * len(rows)),
                                dpi=100)
    for r, row in enumerate(rows):
        for c, (title, picture) in enumerate(row):
            ax = axes[r][c]
            ax.imshow(picture, cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8, wrap=True)
        axes[r][0].set_ylabel(names[r].removeprefix("photo-").split("-label")[0], fontsize=9)
    figure.tight_layout()
    figure.savefig(IMAGES / "digit-pipeline.png")
    plt.close(figure)


def mlflow(work: Path) -> None:
    """MLflow's run page after a 3-epoch `mnist` run (needs MNIST and `pip install mlflow`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    store = f"sqlite:///{work / 'mlflow.db'}"
    with server(["mlflow", "server", "--backend-store-uri", store, "--host", "127.0.0.1",
                 "--port", str(port)], url + "/health", work):
        fcnn("train", "mnist", "--set", "training.epochs=3", "--track", "mlflow", "--quiet",
             cwd=work, env={"MLFLOW_TRACKING_URI": url})
        import mlflow as client

        client.set_tracking_uri(url)
        run = client.search_runs(search_all_experiments=True, output_format="list")[0]
        experiment, run_id = run.info.experiment_id, run.info.run_id
        with browser(1500, 1480) as page:
            page.goto(f"{url}/#/experiments/{experiment}/runs/{run_id}/model-metrics")
            page.wait_for_timeout(8000)
            with contextlib.suppress(Exception):  # the assistant's side panel, where shown
                page.get_by_role("button", name="Close", exact=True).click(timeout=3000)
            diagnostics = page.locator('[role=button][aria-expanded="true"]',
                                       has_text="diagnostics/")
            while diagnostics.count():  # each layer's group of charts folded
                diagnostics.first.click()
                page.wait_for_timeout(300)
            page.mouse.move(5, 700)
            page.wait_for_timeout(1500)
            page.screenshot(path=IMAGES / "mlflow.png")


def tensorboard(work: Path) -> None:
    """TensorBoard's scalars for a 3-epoch `mnist` run (needs MNIST and `pip install
    tensorboard`)."""
    fcnn("train", "mnist", "--set", "training.epochs=3", "--tensorboard", "runs/tb", "--quiet",
         cwd=work)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server(["tensorboard", "--logdir", "runs/tb", "--host", "127.0.0.1", "--port",
                 str(port)], url, work):
        with browser(1400, 1000) as page:
            # the Scalars dashboard, loss and accuracy only, unsmoothed
            page.goto(f"{url}/#scalars&tagFilter=%5E(loss%7Caccuracy)%2F&_smoothingWeight=0")
            page.wait_for_timeout(8000)
            page.screenshot(path=IMAGES / "tensorboard.png")


def playground(work: Path) -> None:
    """The playground training `circle`, 1400 px wide (needs `fcnn playground`: the serve
    extra)."""
    helped = subprocess.run([sys.executable, "-m", "fcnn_cli", "playground", "--help"],
                            capture_output=True, text=True)
    if helped.returncode != 0:
        raise Missing("the `fcnn playground` command (fcnn 0.9 or later) and the serve extra")
    process = subprocess.Popen([sys.executable, "-m", "fcnn_cli", "playground", "--no-open",
                                "--port", "0"], cwd=work, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        found = re.search(r"http://[\w.:]+", line)
        if found is None:
            raise SystemExit(f"fcnn playground said {line!r}, not its address")
        with browser(1400, 1000) as page:
            page.goto(f"{found.group(0)}/?dataset=circle&seed=1")
            page.get_by_test_id("play").click()
            page.wait_for_function("parseFloat(document.querySelector("
                                   "'[data-testid=test-accuracy]').textContent) >= 99",
                                   timeout=60_000)
            page.wait_for_timeout(2000)  # a few more epochs: the boundary settles
            page.get_by_test_id("play").click()  # paused: the picture holds still
            page.wait_for_timeout(1000)
            page.screenshot(path=IMAGES / "playground.png", full_page=True)
    finally:
        process.terminate()
        process.wait(timeout=30)


RECIPES: dict[str, Callable[[Path], None]] = {
    "trace": trace, "report": report, "vanishing": vanishing, "spiral": spiral,
    "pipeline": pipeline, "mlflow": mlflow, "tensorboard": tensorboard,
    "playground": playground,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"pictures to make (default: all): "
                                                f"{', '.join(RECIPES)}")
    parser.add_argument("--list", action="store_true", help="say what each picture is")
    options = parser.parse_args()
    if options.list:
        for name, recipe in RECIPES.items():
            print(f"{name:12} {' '.join((recipe.__doc__ or '').split())}")
        return 0
    unknown = [name for name in options.names if name not in RECIPES]
    if unknown:
        parser.error(f"no picture named {', '.join(unknown)}; the pictures: {', '.join(RECIPES)}")
    IMAGES.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in options.names or list(RECIPES):
        print(f"{name}:", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"fcnn-picture-{name}-") as work:
            try:
                RECIPES[name](Path(work))
            except Missing as need:
                print(f"  skipped: needs {need}")
                missing.append(name)
    if missing:
        print(f"not made: {', '.join(missing)} (see above for what each needs)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
