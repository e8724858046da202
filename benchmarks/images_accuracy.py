"""Every picture benchmark at once, for this tree and another version side by side.

    python benchmarks/images_accuracy.py [--against DIR ...] [--no-here] [--model mnist ...]
        [--fashion-model FILE] [--seed 2026] [--per-condition 60] [--per-style 100]
        [--mnist-png 10000] [--scans 2000] [--fashion 1000] [--keep DIR] [--changed]

A change to the image pipelines must keep what they read right. This renders, once, the
pictures of the other benchmarks (the same generators, seeds and sizes as their README
figures): the digit photos of `digit_photos.py` by condition (--seed, --per-condition),
the users' digits of `user_digits.py` by style (seed 7, --per-style), the first
--mnist-png MNIST test digits as 28×28 PNGs, the first --scans of them as the 112×112
dark-on-light scans `startup.py` times a folder of, the committed example pictures, and, with
--fashion-model, the first --fashion Fashion-MNIST test images as catalogue photos and as
28×28 PNGs (`fashion_photos.py`, seed 0). Then every version reads the same files: this
tree, and with --against DIR the fcnn package in DIR (a checkout or `git archive` of
another commit), each in its own process with only its own `fcnn_cli` on the path, through
`load_model(model).predict(paths)` and the pipeline the model stored. It prints one table:
per set and group the number of pictures, each version's accuracy and how many pictures
the versions read differently; --changed lists those pictures.

--keep DIR renders into DIR and, when DIR already holds the same sets, reads them again
without rendering: render once, then compare as often as the code changes. Digit models
(--model, repeatable; default the shipped `mnist`) read the digit sets, the Fashion-MNIST
model the fashion sets. Rendering takes about three minutes on two cores (the fashion
photos and users' digits one each), reading 10,000 PNGs 10–30 s per version and model.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "images"
# the label in an example's name, as user_digits.py reads it
EXAMPLE_LABEL = re.compile(r"-label-(\d)\.|^user-(\d)-")
EXAMPLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
USER_SEED, FASHION_SEED = 7, 0  # the seeds of user_digits.py and fashion_photos.py

Item = tuple[str, str, str]  # a picture's path, its true label and its group


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--read":
        read_sets(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    args = parse_args()
    versions = {"here": REPO} if args.here else {}
    for k, root in enumerate(args.against, 1):
        name = root.resolve().name or "against"
        versions[name if name not in versions else f"{name}-{k}"] = root.resolve()
    with tempfile.TemporaryDirectory(prefix="images-accuracy-") as temp:
        folder = args.keep or Path(temp)
        manifest = rendered(folder, args)
        results = {name: read_with(root, manifest, Path(temp) / f"{i}.json")
                   for i, (name, root) in enumerate(versions.items())}
        spec = json.loads(manifest.read_text())
    print_table(spec, results, args.changed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, metavar="DIR", action="append", default=[],
                        help="another version: a folder holding its fcnn_cli package "
                             "(repeatable)")
    parser.add_argument("--here", action=argparse.BooleanOptionalAction, default=True,
                        help="read with this tree too (--no-here: only the --against ones)")
    parser.add_argument("--model", action="append", help="a digit model (default mnist)")
    parser.add_argument("--fashion-model", help="a model trained on Fashion-MNIST")
    parser.add_argument("--seed", type=int, default=2026, help="the digit photos' seed")
    parser.add_argument("--per-condition", type=int, default=60,
                        help="digit photos per condition (0: skip them)")
    parser.add_argument("--per-style", type=int, default=100,
                        help="users' digits per style (0: skip them)")
    parser.add_argument("--mnist-png", type=int, default=10_000, metavar="N",
                        help="the first N MNIST test digits as PNG files (0: skip)")
    parser.add_argument("--scans", type=int, default=2000, metavar="N",
                        help="the first N MNIST test digits as startup.py's 112×112 scans")
    parser.add_argument("--fashion", type=int, default=1000, metavar="N",
                        help="Fashion-MNIST test images rendered (with --fashion-model)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="render here, or reuse the pictures already rendered here")
    parser.add_argument("--changed", action="store_true",
                        help="list the pictures the versions read differently")
    args = parser.parse_args()
    args.model = args.model or ["mnist"]
    for root in args.against:
        if not (root / "fcnn_cli" / "__init__.py").is_file():
            parser.error(f"--against {root}: no fcnn_cli package there")
    if not args.here and not args.against:
        parser.error("--no-here needs at least one --against DIR")
    if min(args.per_condition, args.per_style) < 0:
        parser.error("--per-condition and --per-style count pictures: 0 or more")
    if not 0 <= min(args.mnist_png, args.scans) <= max(args.mnist_png, args.scans) <= 10_000 \
            or not 1 <= args.fashion <= 10_000:
        parser.error("--mnist-png, --scans and --fashion count test images: at most 10,000")
    return args


def rendered(folder: Path, args: argparse.Namespace) -> Path:
    """The manifest of the sets in `folder`, rendering them unless already there."""
    wanted = {"seed": args.seed, "per_condition": args.per_condition,
              "per_style": args.per_style, "mnist_png": args.mnist_png, "scans": args.scans,
              "fashion": args.fashion if args.fashion_model else 0}
    manifest = folder / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text())["params"] == wanted:
        print(f"pictures already rendered in {folder}")
        old = json.loads(manifest.read_text())
        old["models"] = models_of(args)
        manifest.write_text(json.dumps(old))
        return manifest
    started = time.perf_counter()
    sets = []
    if args.per_condition:
        sets.append(digit_photos(folder / "photos", args.seed, args.per_condition))
    if args.per_style:
        sets.append(user_digits(folder / "users", args.per_style))
    if args.mnist_png:
        sets.append(mnist_pngs(folder / "mnist-png", args.mnist_png))
    if args.scans:
        sets.append(mnist_scans(folder / "scans", args.scans))
    sets.append(("examples", "digit", [(str(path), label, "examples")
                                      for path, label in example_rows()]))
    if args.fashion_model:
        sets += fashion_sets(folder / "fashion", args.fashion)
    folder.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"params": wanted, "models": models_of(args), "sets": [
        {"name": name, "kind": kind, "items": items} for name, kind, items in sets]}))
    count = sum(len(items) for _, _, items in sets)
    print(f"{count:,} pictures rendered into {folder} in {time.perf_counter() - started:.0f} s")
    return manifest


def models_of(args: argparse.Namespace) -> dict[str, list[str]]:
    """Which models read which kind of set: model files as absolute paths (the readers run
    elsewhere), shipped names as they are."""
    def absolute(name: str) -> str:
        return str(Path(name).resolve()) if Path(name).exists() else name

    fashion = [absolute(args.fashion_model)] if args.fashion_model else []
    return {"digit": [absolute(name) for name in args.model], "fashion": fashion}


def digit_photos(folder: Path, seed: int, per_condition: int) -> tuple[str, str, list[Item]]:
    sys.path.insert(0, str(REPO / "examples"))
    from make_digit_photos import CONDITIONS, write_pictures

    rows = write_pictures(folder, per_condition, seed, CONDITIONS, mnist_test())
    items = [(str(folder / name), str(label), condition) for name, condition, label in rows]
    return f"digit photos, seed {seed}", "digit", items


def user_digits(folder: Path, per_style: int) -> tuple[str, str, list[Item]]:
    sys.path.insert(0, str(REPO / "examples"))
    from make_user_digits import write_pictures

    rows = write_pictures(folder, per_style, USER_SEED)
    return (f"users' digits, seed {USER_SEED}", "digit",
            [(str(path), str(label), style) for path, label, style in rows])


def mnist_pngs(folder: Path, count: int) -> tuple[str, str, list[Item]]:
    """MNIST's first test digits as it stores them (light on black), 28×28 PNG files."""
    from PIL import Image

    x, y = mnist_test()
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(count):
        path = folder / f"{i:05d}.png"
        Image.fromarray(x[i]).save(path)
        items.append((str(path), str(y[i]), "MNIST test digits as PNG"))
    return f"MNIST test 0-{count - 1}", "digit", items


def mnist_scans(folder: Path, count: int) -> tuple[str, str, list[Item]]:
    """MNIST's first test digits as `startup.py` writes its folder: dark on light, 112×112."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from startup import make_folder

    folder.mkdir(parents=True, exist_ok=True)
    written = make_folder(folder, count)
    labels = mnist_test()[1]
    return (f"MNIST test 0-{count - 1} as scans", "digit",
            [(str(written / f"{i:05d}.png"), str(labels[i]), "112×112 scans, dark on light")
             for i in range(count)])


def example_rows() -> list[tuple[Path, str]]:
    """The committed example pictures that carry their label in their name."""
    rows = []
    for path in sorted(EXAMPLES.iterdir()):
        match = EXAMPLE_LABEL.search(path.name)
        if path.suffix.lower() in EXAMPLE_SUFFIXES and match:
            rows.append((path, match.group(1) or match.group(2)))
    return rows


def fashion_sets(folder: Path, count: int) -> list[tuple[str, str, list[Item]]]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from fashion_photos import write_originals, write_photos

    from fcnn_cli.data.sources import load_dataset

    data = load_dataset("fashion-mnist")
    assert data.x_test is not None and data.y_test is not None and data.class_names
    x, y = data.x_test[:count], data.y_test[:count]
    truth = [data.class_names[int(k)] for k in y]
    photos = write_photos(x, folder / "photos", FASHION_SEED)
    originals = write_originals(x, folder / "idx")
    return [("Fashion-MNIST", "fashion",
             [(str(p), t, "catalogue photos") for p, t in zip(photos, truth)]
             + [(str(p), t, "28×28 PNG files") for p, t in zip(originals, truth)])]


def mnist_test() -> tuple:
    from fcnn_cli.data.sources import load_dataset

    data = load_dataset("mnist")
    return data.x_test, data.y_test


def read_with(root: Path, manifest: Path, out: Path) -> dict:
    """What the fcnn package in `root` reads in every set, from a process of its own."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--read", str(manifest), str(out)], check=True,
                   env=env, cwd=tempfile.gettempdir())
    print(f"{root}: read in {time.perf_counter() - started:.0f} s")
    return json.loads(out.read_text())


def read_sets(manifest: Path, out: Path) -> None:
    """(in the reader's process) Each model's labels for each set of its kind, as JSON."""
    from fcnn_cli.api import load_model

    spec = json.loads(manifest.read_text())
    results: dict[str, dict[str, list[str]]] = {}
    for kind, names in spec["models"].items():
        for name in names:
            model = load_model(name)
            results[name] = {s["name"]: [str(label) for label in
                                         model.predict([Path(item[0]) for item in s["items"]])]
                             for s in spec["sets"] if s["kind"] == kind}
    out.write_text(json.dumps(results))


def print_table(spec: dict, results: dict[str, dict], changed: bool) -> None:
    """Per model, set and group: n, each version's accuracy, pictures read differently."""
    versions = list(results)
    for kind, names in spec["models"].items():
        for model in names:
            print(f"\n{model} ({kind} sets)")
            print(f"{'set / group':<32} {'n':>6} "
                  + " ".join(f"{v[:10]:>10}" for v in versions) + "  differ")
            for s in (s for s in spec["sets"] if s["kind"] == kind):
                labels = {v: results[v][model][s["name"]] for v in versions}
                print_set(s, labels, changed)


def print_set(spec: dict, labels: dict[str, list[str]], changed: bool) -> None:
    """One set's rows: each group, then the whole set when it has several groups."""
    items = spec["items"]
    groups = list(dict.fromkeys(group for _, _, group in items))
    print(spec["name"])
    for group in groups + (["all"] if len(groups) > 1 else []):
        chosen = [i for i, (_, _, g) in enumerate(items) if group in ("all", g)]
        cells = " ".join(f"{share(labels[v], items, chosen):>10.1%}" for v in labels)
        first = next(iter(labels.values()))
        differ = sum(any(labels[v][i] != first[i] for v in labels) for i in chosen)
        print(f"  {group:<30} {len(chosen):>6} {cells}  {differ:>6}")
    if changed:
        for i, (path, truth, _) in enumerate(items):
            read = {v: labels[v][i] for v in labels}
            if len(set(read.values())) > 1:
                print(f"    {path}: true {truth}, "
                      + ", ".join(f"{v} {label}" for v, label in read.items()))


def share(labels: list[str], items: list, chosen: list[int]) -> float:
    return sum(labels[i] == items[i][1] for i in chosen) / max(1, len(chosen))


if __name__ == "__main__":
    main()
