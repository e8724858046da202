"""Start-up and batch prediction: fcnn against the floors it cannot go below, same run.

Each command runs as a fresh process, after an untimed warm-up (so bytecode is cached, as
it is for users), in turns with its floor, and the medians are compared:

- `fcnn --help` and shell completion against `python -c "import typer"`;
- `fcnn predict mnist IMAGE` against importing what it must use: numpy, h5py, Pillow and
  rich's console;
- `fcnn predict mnist FOLDER` on 2,000 PNG digits of 112×112 against decoding the same
  files with Pillow alone, in one thread.

    python benchmarks/startup.py [--repeats 7] [--images 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "examples" / "images" / "mnist-test-0000-label-7.png"
TARGETS = {"fcnn --help": 1.2, "shell completion": 1.2, "fcnn predict mnist IMAGE": 1.4,
           "fcnn predict mnist FOLDER": 2.5}


# Users run with bytecode caching on; a CI-style PYTHONDONTWRITEBYTECODE would time compiling.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def paired_times(command: list[str], floor: list[str], repeats: int,
                 env: dict[str, str] | None = None) -> tuple[float, float]:
    """Median wall times of `command` and `floor`, run in turns after a warm-up of each."""
    def once(cmd: list[str], environment: dict[str, str] | None) -> float:
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=environment or BASE_ENV)
        return time.perf_counter() - started

    once(command, env), once(floor, None)
    pairs = [(once(command, env), once(floor, None)) for _ in range(repeats)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def make_folder(root: Path, count: int) -> Path:
    """`count` MNIST-like digits as 112×112 PNGs (MNIST test digits when MNIST is here)."""
    import numpy as np
    from PIL import Image

    try:
        from fcnn_cli.data.sources import load_dataset

        digits = load_dataset("mnist").x_test[:count]
    except Exception:  # no MNIST: the 8×8 digits that ship with fcnn, scaled up
        from fcnn_cli.data.sources import load_dataset

        small = load_dataset("digits").x_train
        digits = (np.resize(small, (count, 8, 8)) * 15).astype(np.uint8)
    folder = root / "digits"
    folder.mkdir()
    for i, pixels in enumerate(digits):
        picture = Image.fromarray(255 - pixels).resize((112, 112), Image.Resampling.BILINEAR)
        picture.save(folder / f"{i:05d}.png")
    return folder


def fcnn_command() -> list[str]:
    script = Path(sys.executable).parent / "fcnn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fcnn_cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--images", type=int, default=2000)
    args = parser.parse_args()
    fcnn = fcnn_command()
    python = sys.executable
    completion_env = {**BASE_ENV, "_FCNN_COMPLETE": "complete_bash",
                      "COMP_WORDS": "fcnn train mn", "COMP_CWORD": "2"}
    workdir = Path(tempfile.mkdtemp(prefix="fcnn-startup-"))
    try:
        folder = make_folder(workdir, args.images)
        decode = ("import sys, pathlib\nfrom PIL import Image\n"
                  "for p in sorted(pathlib.Path(sys.argv[1]).iterdir()):\n"
                  "    Image.open(p).load()\n")
        rows = [
            ("fcnn --help", [*fcnn, "--help"], None,
             ("import typer", [python, "-c", "import typer"])),
            ("shell completion", fcnn, completion_env,
             ("import typer", [python, "-c", "import typer"])),
            ("fcnn predict mnist IMAGE", [*fcnn, "predict", "mnist", str(IMAGE)], None,
             ("import numpy, h5py, PIL, rich", [python, "-c",
                                                "import numpy, h5py, PIL.Image, rich.console"])),
            ("fcnn predict mnist FOLDER", [*fcnn, "predict", "mnist", str(folder)], None,
             (f"Pillow decodes the {args.images:,}", [python, "-c", decode, str(folder)])),
        ]
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, {args.repeats} repeats, medians")
        print(f"{'command':<28} {'s':>7}   {'floor':<34} {'s':>7} {'ratio':>6} {'target':>7}")
        for name, command, env, (floor_name, floor) in rows:
            seconds, floor_s = paired_times(command, floor, args.repeats, env)
            print(f"{name:<28} {seconds:>7.3f}   {floor_name:<34} {floor_s:>7.3f} "
                  f"{seconds / floor_s:>5.2f}× {TARGETS[name]:>6.1f}×")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
