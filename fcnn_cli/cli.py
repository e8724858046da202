"""The `fcnn` command line: parse arguments, call the Python API, render.

Each command is a thin layer over `fcnn_cli.api` and the `Model` methods. Every heavy
import (numpy, h5py, pydantic, rich) happens inside the command that needs it, so
`fcnn --help` and shell completion start fast, and `fcnn predict` never loads pydantic.
The annotations are real objects, not strings (no `from __future__ import annotations`):
Typer would otherwise evaluate every one of them at each start, 15 ms of it.
"""

import copy
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from fcnn_cli import __version__, shipped
from fcnn_cli.errors import FcnnError

app = typer.Typer(
    name="fcnn",
    help="Build, train, evaluate and explain fully-connected neural networks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="The built-in recipes: list them, print one to start your own.",
                         short_help="List the built-in recipes, or print one.",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(config_app, name="config")

_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fcnn {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    global _debug
    _debug = debug


def _complete_names(names: Callable[[], dict[str, Path]], suffixes: tuple[str, ...]
                    ) -> Callable[[str], list[str]]:
    """Completion for an argument that is a file or a shipped name: both, as typed so far."""
    def complete(incomplete: str) -> list[str]:
        import glob

        shipped = [name for name in names() if name.startswith(incomplete)]
        files = [p + ("/" if Path(p).is_dir() else "") for p in glob.glob(incomplete + "*")
                 if Path(p).is_dir() or p.lower().endswith(suffixes)]
        return shipped + sorted(files)
    return complete


_complete_config = _complete_names(shipped.recipes, (".yaml", ".yml"))
_complete_model = _complete_names(shipped.models, (".h5",))
_complete_trace = _complete_names(shipped.trace_examples, (".yaml", ".yml"))
_complete_space = _complete_names(shipped.spaces, (".yaml", ".yml"))

ModelArgument = Annotated[str, typer.Argument(
    metavar="MODEL", autocompletion=_complete_model,
    help="A trained model (.h5), or a model shipped with fcnn (mnist).")]
DataOption = Annotated[str | None, typer.Option(
    "--data", metavar="DATASET_OR_PATH",
    help="A named dataset or a path (default: the model's own dataset).")]
SplitOption = Annotated[str | None, typer.Option(
    "--split", metavar="SPLIT",
    help="test, val, train or all. Default: the test split of the model's own data; all of "
         "other --data (test: its official test set, or the model's split fractions).")]


def _shown(text: str) -> str:
    """A message as one safe line: URLs' secrets masked, control characters (an escape
    sequence in a file name) shown as escapes, never obeyed by the terminal."""
    from fcnn_cli.sanitize import mask_urls, visible

    return visible(mask_urls(text))


def _command_line(args: list[str]) -> str:
    """A command to copy: each argument made safe by itself, then quoted for the shell
    (masking the joined line would eat a closing quote after a masked value)."""
    import shlex

    return shlex.join(map(_shown, args))


def _run(job: Callable[[], Any]) -> Any:
    """Run a command body, turning expected failures into one line and an exit status."""
    try:
        return job()
    except FcnnError as error:
        if _debug:
            raise
        print(f"error: {_shown(error.message)}", file=sys.stderr)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        if _debug:
            raise
        print("interrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    except (BrokenPipeError, typer.Exit):  # click ends quietly on a closed pipe
        raise
    except Exception as error:  # a bug, not bad input: still one line unless --debug
        if _debug:
            raise
        print(f"error: internal error ({type(error).__name__}: {_shown(str(error))}); "
              "rerun with --debug for the traceback and please report it", file=sys.stderr)
        raise typer.Exit(1) from None


TrackOption = Annotated[str | None, typer.Option(
    "--track", metavar="mlflow",
    help="Log the run to MLflow: MLFLOW_TRACKING_URI (default ./mlflow.db), experiment "
         "MLFLOW_EXPERIMENT_NAME or the config's name (also: tracking.mlflow in the "
         "config).")]
TensorBoardOption = Annotated[str | None, typer.Option(
    "--tensorboard", metavar="DIR",
    help="Write TensorBoard event files into DIR (also: tracking.tensorboard.dir).")]


@app.command(short_help="Train a network from a config and save it.")
def train(
    config: Annotated[str, typer.Argument(
        metavar="CONFIG", autocompletion=_complete_config,
        help="A YAML config file, or a built-in recipe (fcnn config list).")],
    out: Annotated[str | None, typer.Option("--out", metavar="PATH",
                                             help="Where to save the model "
                                                "(default: the config's output).")] = None,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Override a config value, e.g. --set training.epochs=3.")] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="CHECKPOINT.h5",
        help="Continue from a checkpoint (<output>.ckpt.h5).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the summary.")] = False,
    log: Annotated[str | None, typer.Option("--log", metavar="FILE",
                                             help="Write one JSON object per "
                                                "epoch to this file.")] = None,
    show_augment: Annotated[bool, typer.Option(
        "--show-augment", help="Draw a few training pictures and deformed copies as "
                               "data.augment makes them, then stop (no training).")] = False,
    track: TrackOption = None,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Train a network as the config says; save it as HDF5."""

    def job() -> None:
        from fcnn_cli import api, ui
        from fcnn_cli.training import Interrupted

        if show_augment:
            ui.show_augmented(api.augmented(config, overrides=overrides))
            return
        try:
            outcome = api.train(config, out=out, resume=resume, log=log,
                                progress=ui.make_reporter(quiet), overrides=overrides,
                                track=track, tensorboard=tensorboard)
        except Interrupted as stopped:
            command = ["fcnn", "train", str(config)]
            command += ["--out", str(out)] if out else []
            for item in overrides or []:
                command += ["--set", item]
            command += ["--log", str(log)] if log else []
            command += ["--quiet"] if quiet else []
            command += ["--track", track] if track else []
            command += ["--tensorboard", tensorboard] if tensorboard else []
            command += ["--resume", str(stopped.checkpoint)]
            print(f"{_shown(stopped.message)}\nresume with: {_command_line(command)}",
                  file=sys.stderr)
            raise typer.Exit(stopped.exit_code) from None
        ui.training_summary(outcome)

    _run(job)


@app.command(short_help="Search hyperparameters with Optuna.")
def tune(
    config: Annotated[str, typer.Argument(
        metavar="CONFIG", autocompletion=_complete_config,
        help="The config to tune: a YAML file, or a built-in recipe (fcnn config list).")],
    space: Annotated[str, typer.Option(
        "--space", metavar="SPACE.yaml", autocompletion=_complete_space,
        help="The values to try: config keys (as --set writes them) mapped to "
             "{low, high[, log, step]} or {choices: [...]}; or a built-in space "
             "(digits, mnist).")],
    trials: Annotated[int, typer.Option(
        "--trials", metavar="N", help="Trials in the study in all, counting earlier runs' "
                                      "and other workers'.")] = 20,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", metavar="SECONDS", help="Start no trial after this long.")] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", metavar="J", help="Worker processes on this machine, each with cores/J "
                                    "BLAS threads.")] = 1,
    storage: Annotated[str | None, typer.Option(
        "--storage", metavar="URL", help="Where the study lives: a database URL "
                                         "(postgresql://user@host/db) shared by many machines, "
                                         "or an SQLite file (default: <study>.db beside "
                                         "--out).")] = None,
    study: Annotated[str | None, typer.Option(
        "--study", metavar="NAME", help="The study's name (default: the config's name).")] = None,
    out: Annotated[str | None, typer.Option(
        "--out", metavar="BEST.yaml", help="Where to write the config with the best values "
                                           "(default: <study>.best.yaml).")] = None,
    train_best: Annotated[bool, typer.Option(
        "--train-best", help="Then train the best config and save its model.")] = False,
    no_prune: Annotated[bool, typer.Option(
        "--no-prune", help="Run every trial to its last epoch (no median pruning).")] = False,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE", help="Override a value of the base config.")] = None,
    track: TrackOption = None,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Search hyperparameters on Optuna; write the best config (and train it)."""

    def job() -> None:
        from fcnn_cli import api, ui

        display = ui.TrialsDisplay()
        try:
            outcome = api.tune(config, space, trials=trials, timeout=timeout, jobs=jobs,
                               storage=storage, study=study, out=out, prune=not no_prune,
                               progress=display, overrides=overrides, track=track,
                               tensorboard=tensorboard)
        finally:
            display.close()
        for message in outcome.warnings:  # tracking problems, kept from the live display
            ui.warn(message)
        ui.tune_summary(outcome)
        if outcome.stopped:
            done = len(outcome.rows) - outcome.count("failed")
            print(f"{outcome.stopped}: stopped; the running trials are recorded as failed, "
                  f"{done} of {trials} trials are done\ncontinue the study with: "
                  f"{_command_line(['fcnn', *sys.argv[1:]])}", file=sys.stderr)
            raise typer.Exit(outcome.exit_code)
        if train_best and outcome.best_config is not None:
            trained = api.train(outcome.best_config, progress=ui.make_reporter(False),
                                track=track, tensorboard=tensorboard and f"{tensorboard}/best")
            ui.training_summary(trained)

    _run(job)


@app.command("eval", short_help="Score a model: accuracy, loss, confusion matrix.")
def evaluate(
    model_path: ModelArgument,
    data: DataOption = None,
    split: SplitOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Accuracy, loss, per-class precision/recall/F1 and a confusion matrix."""

    def job() -> None:
        from fcnn_cli.api import load_model

        report = load_model(model_path).evaluate(data, split)
        if as_json:
            from fcnn_cli.sanitize import json_text

            print(json_text(report.to_json()))
        else:
            from fcnn_cli import ui
            from fcnn_cli.evaluation import describe

            ui.eval_report(report, f"{model_path} on {describe(report)}")

    _run(job)


@app.command(short_help="Classify inputs (or predict a regression's values).")
def predict(
    model_path: ModelArgument,
    inputs: Annotated[list[Path] | None, typer.Argument(
        metavar="[INPUT]...",
        help="Image files, folders of images, .npy or .csv batches "
             "(none: the example images shipped with fcnn).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, metavar="K",
                                       help="Classes to show.")] = 3,
    output_format: Annotated[str, typer.Option(
        "--format", metavar="FORMAT",
        help="table, json (one object per input, per line) or csv.")] = "table",
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")
                       ] = False,
    csv_path: Annotated[str | None, typer.Option(
        "--csv", metavar="OUT.csv",
        help="Also write every result to this CSV file: input, label and one probability "
             "per class (or one column per regression output).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Draw what the network sees.")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, metavar="N",
        help="Processes that decode images (default: all cores).")] = None,
) -> None:
    """Classify inputs with a trained model (or, for a regression model, predict values)."""

    def job() -> None:
        from fcnn_cli.api import load_model
        from fcnn_cli.evaluation import iter_predictions
        from fcnn_cli.predict_output import FORMATS, csv_target, prediction_writer

        shown = "json" if as_json else output_format
        if shown not in FORMATS:
            raise FcnnError(f"--format {output_format!r} is not one of {', '.join(FORMATS)}")
        csv_file = csv_target(csv_path, model_path, inputs or [])
        model = load_model(model_path)
        _started()
        with _progress_bar() as progress, prediction_writer(model, shown, csv_file,
                                                            top_k) as write:
            for p in iter_predictions(model, inputs or _example_images(), workers, progress,
                                      keep_pixels=show):
                if p.looked_empty and shown != "json":
                    from fcnn_cli import ui

                    ui.warn(f"{p.name}: the image looked empty (no ink found)")
                if p.pixels is not None:
                    from fcnn_cli import ui

                    for title, picture in _picture_steps(model, p.name):
                        ui.show_image(p.name, picture, title)
                    ui.show_image(p.name, p.pixels)
                write(p)

    _run(job)


def _picture_steps(model: Any, name: str) -> list[Any]:
    """The digit pipeline's pictures on the way, small enough for a terminal, for an
    input that is an image file; nothing for other inputs and pipelines."""
    from fcnn_cli.data import IMAGE_SUFFIXES

    path = shipped.input_path(Path(name))
    if model.image.pipeline != "digit" or path.suffix.lower() not in IMAGE_SUFFIXES:
        return []
    from fcnn_cli.data.images import load_image, thumbnail

    steps = load_image(path, model.image, 255.0, steps=True).steps
    return [(title, thumbnail(picture)) for title, picture in steps]


def _example_images() -> list[Path]:
    """The shipped example images, by name (so the table shows their names)."""
    print(f"no INPUT given: predicting the example images shipped with fcnn "
          f"({shipped.images_dir()})", file=sys.stderr)
    return [Path(image.name) for image in shipped.example_images()]


def _progress_bar():  # type: ignore[no-untyped-def]
    """A progress bar on stderr for long batches, in a terminal only."""
    import contextlib

    if not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    from fcnn_cli import ui

    return ui.batch_progress()


@app.command(short_help="Show a model's layers and learning curves.")
def info(
    model_path: ModelArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The layers, how training went, and the learning curves, from the model file alone."""

    def job() -> None:
        from fcnn_cli.api import load_model
        from fcnn_cli.summary import summarize

        summary = summarize(load_model(model_path))
        if as_json:
            from fcnn_cli.sanitize import json_text

            print(json_text(summary.to_json()))
        else:
            from fcnn_cli import ui

            ui.model_info(summary)

    _run(job)


@app.command(short_help="Write a one-page HTML report on a model.")
def report(
    model_path: ModelArgument,
    data: DataOption = None,
    split: SplitOption = None,
    out: Annotated[str | None, typer.Option(
        "--out", metavar="PATH.html",
        help="Where to write the page (default: <model>.report.html beside the model).")]
    = None,
) -> None:
    """One self-contained HTML page: model card, learning curves, evaluation, mistakes,
    first-layer weights."""

    def job() -> None:
        from fcnn_cli import api, ui

        written = api.report(model_path, data=data, split=split, out=out, warn=ui.warn)
        print(f"report written to {_shown(str(written))}")

    _run(job)


@app.command(short_help="Compare trained models: learning curves on shared axes.")
def compare(
    models: Annotated[list[str] | None, typer.Argument(
        metavar="MODEL...", autocompletion=_complete_model,
        help="Two or more trained models (.h5 files, or shipped names).")] = None,
    out: Annotated[str | None, typer.Option(
        "--out", metavar="PAGE.html",
        help="Also write a self-contained HTML page with the curves drawn on shared axes.")]
    = None,
) -> None:
    """The learning curves of several trained models on one scale, and a table of their
    final numbers (final train/val loss and accuracy, best epoch, epochs, seconds,
    parameters); with --out, a page like `fcnn report`'s."""

    def job() -> None:
        from fcnn_cli import api, ui

        result = api.compare(models or [], out=out)
        ui.compare_summary(result.models)
        if result.page is not None:
            print(f"page written to {_shown(str(result.page))}")

    _run(job)


@app.command(short_help="Write a model as ONNX or Keras.")
def export(
    model_path: ModelArgument,
    out: Annotated[str, typer.Argument(
        metavar="OUT", help="OUT.onnx (ONNX) or OUT.keras (a Keras 3 archive).")],
) -> None:
    """Write the model for other runtimes: ONNX or Keras, its preprocessing inside, taking
    the raw inputs `fcnn predict` takes."""

    def job() -> None:
        from fcnn_cli import api

        print(f"exported to {_shown(str(api.export(model_path, out)))}")

    _run(job)


@app.command("import", short_help="Read an MLP from ONNX into an fcnn model.")
def import_(
    source: Annotated[Path, typer.Argument(
        metavar="SOURCE.onnx", help="An MLP as ONNX: Gemm or MatMul+Add layers and "
                                    "activations, e.g. PyTorch's torch.onnx.export.")],
    out: Annotated[str, typer.Argument(metavar="OUT.h5", help="The fcnn model to write.")],
    softmax: Annotated[bool, typer.Option(
        "--softmax", help="The graph ends in logits (a classifier trained with a cross-"
                          "entropy loss): make its last layer softmax.")] = False,
    image: Annotated[str | None, typer.Option(
        "--image", metavar="digit|object|resize",
        help="The inputs are pictures, prepared by this pipeline (as `fcnn train` does); "
             "needs --scale.")] = None,
    input_shape: Annotated[str | None, typer.Option(
        "--input-shape", metavar="HxW[xC]",
        help="How the graph lays out its input: 28x28, 32x32x3, or PyTorch's 3x32x32 "
             "(default: the graph's declared shape, or a square).")] = None,
    scale: Annotated[str | None, typer.Option(
        "--scale", metavar="NUMBER",
        help="Raw inputs (pixels 0-255) are divided by this before the graph: 255 for a "
             "graph trained on [0, 1] (torchvision's ToTensor), 1 for 0-255.")] = None,
    mean: Annotated[str | None, typer.Option(
        "--mean", metavar="M[,M,M]",
        help="Then subtract this, one number or one per channel (torchvision's "
             "Normalize).")] = None,
    std: Annotated[str | None, typer.Option(
        "--std", metavar="S[,S,S]", help="Then divide by this, as --mean.")] = None,
    classes: Annotated[str | None, typer.Option(
        "--classes", metavar="A,B,...", help="The output classes' names, in order "
                                             "(default 0, 1, ...).")] = None,
    class_names: Annotated[Path | None, typer.Option(
        "--class-names", metavar="FILE", help="The classes' names, one a line.")] = None,
) -> None:
    """Read an MLP from ONNX into an fcnn model, for predict, eval and forward-trace.

    A model fcnn exported comes back whole (preprocessing, picture spec, class names); for
    another tool's graph, say what its inputs are, e.g. PyTorch's MNIST MLP:
    `--image digit --input-shape 28x28 --scale 255`."""

    def job() -> None:
        from fcnn_cli import api

        model = api.import_onnx(source, out, add_softmax=softmax, image=image,
                                input_shape=input_shape, scale=scale, mean=mean, std=std,
                                classes=classes, class_names_file=class_names)
        kind = f"{len(model.class_names)} classes" if model.class_names else "outputs"
        takes = f"; it takes pictures: {model.image.describe()}" if model.image else ""
        print(f"imported {'-'.join(map(str, model.architecture))} ({kind}) to "
              f"{_shown(str(out))}{takes}")

    _run(job)


@app.command("config-schema", short_help="Print the config's JSON Schema.")
def config_schema() -> None:
    """Print the config's JSON Schema (for editors that check and complete YAML)."""
    import json

    from fcnn_cli.config import json_schema

    print(json.dumps(json_schema(), indent=2))


@config_app.command("list", short_help="List the built-in recipes and their scores.")
def config_list() -> None:
    """The built-in recipes, with what each trains and how well."""
    from fcnn_cli import ui

    ui.name_table("recipe", [(name, shipped.recipe_description(path))
                             for name, path in shipped.recipes().items()])


@config_app.command("show", short_help="Print a recipe's YAML, to start your own.")
def config_show(
    name: Annotated[str, typer.Argument(metavar="NAME", autocompletion=_complete_config,
                                        help="A built-in recipe (fcnn config list).")],
) -> None:
    """Print a recipe's YAML, e.g. `fcnn config show mnist > my.yaml` to start your own."""

    def job() -> None:
        sys.stdout.write(shipped.config_path(name).read_text(encoding="utf-8"))

    _run(job)


@app.command(short_help="Write a starter config for your data.")
def init(
    path: Annotated[str | None, typer.Argument(
        metavar="[PATH]", help="Where to write the config (default: <data name>.yaml).")] = None,
    data: Annotated[str | None, typer.Option(
        "--data", metavar="PATH",
        help="Your data: an image folder (one sub-folder per class), .csv, .npz, an IDX "
             "folder, or a dataset name.")] = None,
    label_column: Annotated[str | None, typer.Option(
        "--label-column", metavar="NAME",
        help="The label column of a .csv (default: label, else the last column).")] = None,
    drop: Annotated[list[str] | None, typer.Option(
        "--drop", metavar="COLUMN",
        help="Leave this .csv column out of the features (repeatable). Text columns (ids, "
             "free text, categories) are left out without it.")] = None,
    features: Annotated[str | None, typer.Option(
        "--features", metavar="COLUMN,COLUMN",
        help="The .csv columns to use as features, comma-separated (default: every column "
             "that holds numbers).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite PATH.")] = False,
) -> None:
    """Write a commented starter config for your data, ready for `fcnn train`."""

    def job() -> None:
        from fcnn_cli.starter import write_starter

        source = data
        if source is None:
            if not sys.stdin.isatty():
                raise FcnnError("give --data PATH: an image folder (one sub-folder per "
                                "class), a .csv, a .npz, an IDX folder or a dataset name")
            source = typer.prompt("Your data (image folder, .csv, .npz, IDX folder, or a "
                                  "dataset name)")
        chosen = None if features is None else [c.strip() for c in features.split(",")]
        target, made = write_starter(source, path, force=force, label_column=label_column,
                                     drop=drop or [], features=chosen)
        print(made.text.splitlines()[0])
        if made.left_out:
            names = ", ".join(column for column, _ in made.left_out[:8])
            more = f" and {len(made.left_out) - 8} more" if len(made.left_out) > 8 else ""
            print(_shown(f"left out of the features: {names}{more} (why: data.feature_columns "
                         f"in {target})"))
        print(_shown(f"wrote {target}; train with: fcnn train {target}"))

    _run(job)


@app.command("forward-trace", short_help="Trace one backprop step, number by number.")
def forward_trace(
    example: Annotated[str | None, typer.Argument(
        metavar="EXAMPLE_OR_FILE", autocompletion=_complete_trace,
        help="A built-in example (see --list) or a YAML trace file.")] = None,
    list_examples: Annotated[bool, typer.Option(
        "--list", help="List the built-in examples.")] = False,
    output: Annotated[str, typer.Option(
        "--format", metavar="FORMAT",
        help="table, json, markdown (LaTeX symbols, for notes and slides), svg (the network "
             "drawn, with every number) or html (the drawing and the tables on one "
             "self-contained page); redirect svg and html to a file.")] = "table",
    model_path: Annotated[str | None, typer.Option(
        "--model", metavar="MODEL", autocompletion=_complete_model,
        help="Trace a trained model (a file, or a shipped name) on one real input.")] = None,
    input_path: Annotated[Path | None, typer.Option(
        "--input", metavar="IMAGE_OR_NPY", help="The input for --model, in raw units.")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", metavar="LABEL", help="The target class (default: the predicted one).")
    ] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", min=0.0, metavar="LR",
        help="The learning rate η for the update with --model, a number ≥ 0 "
             "(default: the model's).")] = None,
    steps: Annotated[str | None, typer.Option(
        "--steps", metavar="K",
        help="Take K gradient-descent steps (1 to 100000) on the same example(s) and show "
             "the cost after each; the tables show the last step (default: one step, or "
             "the trace file's steps:).")] = None,
) -> None:
    """Forward pass, backward pass, one update and a gradient check, in the lecture's notation."""

    def job() -> None:
        import json
        import math

        from fcnn_cli import trace, ui

        if lr is not None and not math.isfinite(lr):  # NaN passes click's min=0.0
            raise FcnnError(f"--lr {lr}: give a finite learning rate ≥ 0, e.g. --lr 0.1")
        formats = ("table", "json", "markdown", "svg", "html")
        if output not in formats:
            raise FcnnError(f"--format {output!r} is not one of {', '.join(formats)}")
        k = None if steps is None else trace.check_steps(steps)
        boundary = None  # svg, html: a two-input model's decision regions, the example on them
        if list_examples:
            items = trace.list_examples()
            if output == "json":
                print(json.dumps([{"name": n, "description": d} for n, d in items]))
            else:
                ui.print_example_list(items)
            return
        if model_path is not None or input_path is not None:
            if model_path is None or input_path is None or example is not None:
                raise FcnnError("trace a model with both --model MODEL and --input "
                                "IMAGE_OR_NPY, and no example name or trace file")
            from fcnn_cli.api import load_model

            model = load_model(model_path)
            shown = model.trace(input_path, target, lr, k)
            if output in ("svg", "html"):  # a two-input model: the example on its regions
                from fcnn_cli.trace.svg import boundary_picture

                boundary = boundary_picture(model, shown)
        elif example is None:
            raise FcnnError("give an example name or a trace file, e.g. "
                            "`fcnn forward-trace mlp-2-3-1`; `--list` shows the examples")
        else:
            if target is not None or lr is not None:
                raise FcnnError("--target and --lr go with --model; a trace file sets y and lr")
            shown = trace.build(example, k)
        network = isinstance(shown, trace.TraceResult)  # else softmax, gate or architecture
        if output == "json":
            from fcnn_cli.sanitize import json_text

            print(json_text(trace.trace_json(shown) if network else trace.example_json(shown)))
        elif output == "markdown":
            from fcnn_cli.sanitize import visible  # a trace file's notes: never obeyed

            print(visible(trace.trace_markdown(shown) if network
                          else trace.example_markdown(shown), keep="\n\t"))
        elif output == "svg":
            print(trace.trace_svg(shown, boundary=boundary))
        elif output == "html":
            print(trace.trace_html(shown, boundary=boundary))
        elif network:
            ui.print_trace(shown)
        else:
            ui.print_trace_example(shown)

    _run(job)


@app.command(short_help="Serve a model over HTTP: V2 inference, MLflow scoring, a page.")
def serve(
    model_path: ModelArgument,
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS", help="Listen on this address: 127.0.0.1 (this machine "
                                          "only) or 0.0.0.0 (every interface: set a key).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT",
                                      help="The port (0: any free one).")] = 8000,
    name: Annotated[str | None, typer.Option(
        "--name", metavar="NAME", help="The model's name in URLs, /v2/models/NAME "
                                       "(default: the model file's name, without .h5).")
    ] = None,
    workers: Annotated[int, typer.Option(
        "--workers", metavar="N", help="Server processes, each holding the model (one "
                                       "process batches concurrent requests best).")] = 1,
    max_batch_size: Annotated[int, typer.Option(
        "--max-batch-size", metavar="B",
        help="Concurrent requests' rows gathered into one forward pass, at most.")] = 64,
    max_latency_ms: Annotated[float, typer.Option(
        "--max-latency-ms", metavar="MS",
        help="How long a request waits for others to join its batch, at most.")] = 2.0,
    max_queue_rows: Annotated[int | None, typer.Option(
        "--max-queue-rows", metavar="ROWS",
        help="Rows waiting for the network, at most (beyond: 503, retry); also the most "
             "one request may hold. Default: 4096.")] = None,
    cors_origins: Annotated[list[str] | None, typer.Option(
        "--cors-origin", metavar="ORIGIN",
        help="Let pages from this origin call the API, e.g. https://example.com "
             "(repeatable; * for any). Default: no other origin.")] = None,
    api_key_env: Annotated[str | None, typer.Option(
        "--api-key-env", metavar="VAR",
        help="Require the key held in this environment variable (Authorization: Bearer "
             "KEY) on every route but the health checks.")] = None,
    log_level: Annotated[str, typer.Option(
        "--log-level", metavar="LEVEL",
        help="warning, error, critical, or info and debug (these log every request).")
    ] = "warning",
) -> None:
    """Serve a model over HTTP until Ctrl-C: Open Inference Protocol V2 (/v2/...), MLflow
    scoring (/invocations), file uploads (/predict), a page to try it (/), API docs
    (/docs) and Prometheus metrics (/metrics). Needs the serve extra: pip install
    'fcnn[serve]'."""

    def job() -> None:
        from fcnn_cli.serving.run import serve as run

        run(model_path, host=host, port=port, name=name, workers=workers,
            max_batch_size=max_batch_size, max_latency_ms=max_latency_ms,
            max_queue_rows=max_queue_rows, cors_origins=tuple(cors_origins or ()),
            api_key_env=api_key_env, log_level=log_level)

    _run(job)


@app.command(short_help="Train small networks live in the browser, as TensorFlow Playground.")
def playground(
    csv: Annotated[str | None, typer.Argument(
        metavar="[CSV]", help="Your own data besides the built-in sets: two feature columns "
                              "and a label column (2-10 classes, up to 20,000 rows).")] = None,
    label_column: Annotated[str | None, typer.Option(
        "--label-column", metavar="NAME", help="The CSV's label column (default: label).")
    ] = None,
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS", help="Listen on this address: 127.0.0.1 (this machine "
                                          "only) or 0.0.0.0 (every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT",
                                      help="The port (0: any free one).")] = 8765,
    no_open: Annotated[bool, typer.Option(
        "--no-open", help="Do not open the page in the browser.")] = False,
) -> None:
    """Train small networks on 2-D data live in the browser: decision boundary, a heat map
    per neuron, every number of backprop one click away; export the config `fcnn train`
    reproduces. Ctrl-C stops it. Needs the serve extra: pip install 'fcnn[serve]'."""

    def job() -> None:
        from fcnn_cli.serving.playground.run import playground as run

        run(csv, label_column=label_column, host=host, port=port, open_browser=not no_open)

    _run(job)


def main() -> None:
    if _command(sys.argv[1:]) == "predict":
        gc.disable()  # until its start-up is over (_started)
    _one_blas_thread_for_pictures(sys.argv[1:])
    _app_for(sys.argv[1:])()


def _command(args: list[str]) -> str | None:
    return next((arg for arg in args if not arg.startswith("-")), None)


def _started() -> None:
    """`fcnn predict`'s start-up is over (its imports, the model read). It ran without the
    garbage collector, which went over its objects dozens of times for no garbage; what it
    made (Typer, NumPy, h5py, the model: 30,000 containers) is now kept out of the
    collector's way for good: the collections of Python's exit no longer walk and tear it
    down (the exit took 37 ms of a one-picture run, now 16), and worker processes forked
    later copy no page for it. (Nothing to do where the command runs inside another
    program, which keeps its collector as it is.)"""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


# what BLAS libraries read when NumPy loads them: a user's own setting wins
BLAS_THREAD_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _one_blas_thread_for_pictures(args: list[str]) -> None:
    """`fcnn predict` on pictures alone runs its network on one BLAS thread, set before NumPy
    loads: a few pictures' forward pass is too small to share (waking a second thread took
    3 ms, the pass 0.6 ms), a folder's passes run on one thread anyway while the worker
    processes hold the cores (fcnn_cli/inputs.py), and OpenBLAS's spare thread spins for
    about 0.1 s of a core after NumPy's import, taken from the workers or the machine's
    other jobs. A .npy or .csv batch (a large matrix product) keeps every core."""
    if _command(args) != "predict" or any(arg.lower().endswith((".npy", ".csv")) for arg in args):
        return
    if not any(name in os.environ for name in BLAS_THREAD_SETTINGS):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def _app_for(args: list[str]) -> typer.Typer:
    """`app`, or when the first argument names a command, a copy of it holding that command
    alone: Typer turns every registered command's signature into Click parameters at each
    start (about 10 ms for all of them), and a run needs only the one it runs."""
    from typer.main import get_command_name

    wanted = args[0] if args else None
    chosen = [info for info in app.registered_commands if info.callback is not None
              and (info.name or get_command_name(info.callback.__name__)) == wanted]
    if not chosen:
        return app
    alone = copy.copy(app)
    alone.registered_commands, alone.registered_groups = chosen, []
    return alone
