"""Start-up and batch prediction: fcnn against the floors it cannot go below, same run.

Each command runs as a fresh process, after an untimed warm-up (so bytecode is cached, as
it is for users), in turns with its floor, and the medians are compared:

- `fcnn --help` and shell completion against `python -c "import typer"`;
- `fcnn predict mnist IMAGE` against importing the libraries it must use: those of numpy,
  h5py, Pillow, rich's console and OpenCV that the command loads (found by running it once
  with `-X importtime`; the header line names them, and any other library it loads);
- `fcnn predict mnist FOLDER` on 2,000 PNG digits of 112×112 against decoding the same
  files, in one thread, with the decoder the image pipeline uses (`--decoder auto`: the
  pipeline prepares one picture with `cv2.imdecode`, `cv2.imread` and `PIL.Image.open`
  watched, and the floor repeats the OpenCV call it saw, same flags, or else Pillow's
  `Image.open(...).load()`; `--decoder pillow`, `cv2.imdecode` or `cv2.imread` forces one).

The floors run with one BLAS thread (`OPENBLAS_NUM_THREADS=1`, as `fcnn predict` sets for
pictures): OpenBLAS's spare thread would otherwise spin for ~0.1 s of a core after NumPy's
import and, on a busy machine, lengthen the floor. The table gives the median wall times,
their ratio (the targets are for it), the lowest and highest ratio of the runs taken side
by side, and the ratio of the median CPU times
(user + system, the command's worker processes included): on a busy machine the workers
wait for cores and wall time wanders, CPU time much less. When both predict rows run, a
last line gives the folder's time beyond a one-picture run (imports, model read) per
picture, against the decode floor's time per picture (its own start-up, ~0.04 s, left
in: use thousands of pictures): the pipeline's own cost, which start-up does not hide.

    python benchmarks/startup.py [--repeats 7] [--images 2000] [--decoder auto]
        [--rows help,completion,image,folder]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
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
# What `fcnn predict mnist IMAGE` may need; its floor imports those the command loads.
FLOOR_LIBRARIES = ("numpy", "h5py", "PIL.Image", "rich.console", "cv2")
DECODERS = ("auto", "pillow", "cv2.imdecode", "cv2.imread")
ROWS = ("help", "completion", "image", "folder")


# Users run with bytecode caching on; a CI-style PYTHONDONTWRITEBYTECODE would time compiling.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# The floors import NumPy with one BLAS thread, as `fcnn predict` on pictures does: else
# OpenBLAS's spare thread spins for ~0.1 s of a core after the import, and on a busy
# machine the floor's own time grows with it.
FLOOR_ENV = {**BASE_ENV, "OPENBLAS_NUM_THREADS": "1"}


Run = tuple[float, float]  # wall seconds, CPU seconds (the process and its workers)


def paired_times(command: list[str], floor: list[str], repeats: int,
                 env: dict[str, str] | None = None) -> list[tuple[Run, Run]]:
    """Wall and CPU times of `command` and `floor`, run in turns after a warm-up of each."""
    def once(cmd: list[str], environment: dict[str, str] | None) -> Run:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=environment or BASE_ENV)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    once(command, env), once(floor, FLOOR_ENV)
    return [(once(command, env), once(floor, FLOOR_ENV)) for _ in range(repeats)]


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


def loaded_modules(command: list[str]) -> set[str]:
    """Every module `command` imports, from one untimed run with `-X importtime`."""
    environment = {**BASE_ENV, "PYTHONPROFILEIMPORTTIME": "1"}
    run = subprocess.run(command, check=True, capture_output=True, text=True, env=environment)
    return {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def import_floor(command: list[str]) -> tuple[list[str], list[str]]:
    """The libraries of FLOOR_LIBRARIES that `command` loads (its floor), and the other
    third-party packages it loads (named, not timed: the tool's own choices, Typer's kind)."""
    loaded = loaded_modules(command)
    floor = [name for name in FLOOR_LIBRARIES if name in loaded]
    tops = {name.split(".")[0] for name in loaded}
    known = {name.split(".")[0] for name in FLOOR_LIBRARIES} | {"fcnn_cli", "__main__"}
    # not libraries: the report's header, site's hooks, and the Jython module `copy` probes
    known |= {"imported package", "sitecustomize", "usercustomize", "org"}
    others = sorted(top for top in tops - known
                    if top not in sys.stdlib_module_names and not top.startswith("_"))
    return floor, others


def pipeline_decoder(image: Path) -> tuple[str, int | None]:
    """Which decoder fcnn's image pipeline uses on a PNG ('cv2.imdecode', 'cv2.imread' or
    'pillow') and the OpenCV flags it passes: one picture prepared with the calls watched."""
    from PIL import Image

    seen: list[tuple[str, int | None]] = []
    try:
        import cv2
    except ImportError:
        cv2 = None
    patched: list[tuple[object, str, object]] = []

    def watch(owner: object, name: str, label: str, flag_at: int | None) -> None:
        original = getattr(owner, name)

        def watched(*args: object, **kwargs: object) -> object:
            flags = kwargs.get("flags", args[flag_at] if flag_at is not None
                               and len(args) > flag_at else None)
            seen.append((label, flags if isinstance(flags, int) else None))
            return original(*args, **kwargs)

        patched.append((owner, name, original))
        setattr(owner, name, watched)

    if cv2 is not None:
        watch(cv2, "imdecode", "cv2.imdecode", 1)
        watch(cv2, "imread", "cv2.imread", 1)
    watch(Image, "open", "pillow", None)
    try:
        from fcnn_cli.api import load_model

        load_model("mnist").predict([image])
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)
    for label, flags in seen:
        if label.startswith("cv2."):
            return label, flags
    return "pillow", None


def decode_floor(decoder: str, flags: int | None, count: int) -> tuple[str, str]:
    """The floor's name and script: decode every file of the folder argv[1], one thread."""
    if decoder == "pillow":
        return (f"Pillow decodes the {count:,}",
                "import sys, pathlib\nfrom PIL import Image\n"
                "for p in sorted(pathlib.Path(sys.argv[1]).iterdir()):\n"
                "    Image.open(p).load()\n")
    flag = "cv2.IMREAD_UNCHANGED" if flags is None else str(flags)
    read = ("cv2.imread(str(p), FLAGS)" if decoder == "cv2.imread"
            else "cv2.imdecode(np.fromfile(p, np.uint8), FLAGS)")
    return (f"{decoder} decodes the {count:,}",
            f"import sys, pathlib\nimport numpy as np, cv2\nFLAGS = {flag}\n"
            "for p in sorted(pathlib.Path(sys.argv[1]).iterdir()):\n"
            f"    {read}\n")


def timed_row(name: str, command: list[str], env: dict[str, str] | None,
              floor: tuple[str, list[str]], repeats: int) -> tuple[float, float]:
    """Time `command` in turns with its floor, print the row, return both medians."""
    pairs = paired_times(command, floor[1], repeats, env)
    seconds = statistics.median(p[0][0] for p in pairs)
    floor_s = statistics.median(p[1][0] for p in pairs)
    ratios = sorted(p[0][0] / p[1][0] for p in pairs)
    spread = f"{ratios[0]:.2f}–{ratios[-1]:.2f}×"
    cpu = statistics.median(p[0][1] for p in pairs) / statistics.median(p[1][1] for p in pairs)
    print(f"{name:<26} {seconds:>6.3f}   {floor[0]:<50} {floor_s:>6.3f} "
          f"{seconds / floor_s:>5.2f}× {spread:>12} {TARGETS[name]:>5.1f}× {cpu:>7.2f}×")
    return seconds, floor_s


def print_per_picture(medians: dict[str, tuple[float, float]], count: int) -> None:
    """The folder's time past what one picture's run takes (imports, the model read), per
    picture, against the decode floor's time per picture: what the pipeline itself costs."""
    beyond = medians["folder"][0] - medians["image"][0]
    floor = medians["folder"][1]
    print(f"folder beyond one picture's start-up: {beyond:.3f} s, "
          f"{beyond / count * 1e3:.3f} ms a picture against decoding's "
          f"{floor / count * 1e3:.3f} ms ({beyond / floor:.2f}×)")


def cpu_name() -> str:
    """The processor's model name (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fcnn_command() -> list[str]:
    script = Path(sys.executable).parent / "fcnn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fcnn_cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--decoder", choices=DECODERS, default="auto",
                        help="the folder's floor decodes with this (auto: as the pipeline)")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help=f"comma-separated subset of {', '.join(ROWS)}")
    args = parser.parse_args()
    chosen = [row.strip() for row in args.rows.split(",") if row.strip()]
    if not chosen or set(chosen) - set(ROWS):
        parser.error(f"--rows: choose from {', '.join(ROWS)}")
    fcnn = fcnn_command()
    python = sys.executable
    completion_env = {**BASE_ENV, "_FCNN_COMPLETE": "complete_bash",
                      "COMP_WORDS": "fcnn train mn", "COMP_CWORD": "2"}
    workdir = Path(tempfile.mkdtemp(prefix="fcnn-startup-"))
    try:
        folder = make_folder(workdir, args.images) if "folder" in chosen else workdir
        decoder, flags = pipeline_decoder(folder / "00000.png") \
            if "folder" in chosen and args.decoder == "auto" else (args.decoder, None)
        decode_name, decode = decode_floor(decoder, flags, args.images)
        predict_one = [*fcnn, "predict", "mnist", str(IMAGE)]
        libraries, others = import_floor(predict_one) if "image" in chosen else ([], [])
        rows = {
            "help": ("fcnn --help", [*fcnn, "--help"], None,
                     ("import typer", [python, "-c", "import typer"])),
            "completion": ("shell completion", fcnn, completion_env,
                           ("import typer", [python, "-c", "import typer"])),
            "image": ("fcnn predict mnist IMAGE", predict_one, None,
                      (f"import {', '.join(libraries)}",
                       [python, "-c", f"import {', '.join(libraries) or 'sys'}"])),
            "folder": ("fcnn predict mnist FOLDER", [*fcnn, "predict", "mnist", str(folder)],
                       None, (decode_name, [python, "-c", decode, str(folder)])),
        }
        print(f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{args.repeats} repeats in turns, medians")
        if "image" in chosen:
            print(f"predict IMAGE loads {', '.join(libraries)} (its floor) and "
                  f"{', '.join(others) or 'nothing else'} (not in the floor)")
        if "folder" in chosen:
            print(f"the folder's floor decodes with {decoder}"
                  + (f" (flags {flags})" if flags is not None else "")
                  + (" as the pipeline does" if args.decoder == "auto" else " (forced)"))
        print(f"{'command':<26} {'s':>6}   {'floor':<50} {'s':>6} {'ratio':>6} "
              f"{'per pair':>12} {'target':>6} {'CPU':>8}")
        medians = {key: timed_row(*rows[key], args.repeats) for key in chosen}
        if "image" in medians and "folder" in medians:
            print_per_picture(medians, args.images)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
