"""The `fcnn` command line: parse arguments, call one function per command, render.

Every heavy import (numpy, h5py, pydantic, rich.progress) happens inside the
command that needs it, so `fcnn --help` and `fcnn predict` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from fcnn_cli import __version__
from fcnn_cli.errors import FcnnError

app = typer.Typer(
    name="fcnn",
    help="Build, train, evaluate and explain fully-connected neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

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


def _run(job: Callable[[], Any]) -> Any:
    """Run a command body, turning expected failures into one line and an exit status."""
    try:
        return job()
    except FcnnError as error:
        if _debug:
            raise
        print(f"error: {error.message}", file=sys.stderr)
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
        print(f"error: internal error ({type(error).__name__}: {error}); "
              "rerun with --debug for the traceback and please report it", file=sys.stderr)
        raise typer.Exit(1) from None


@app.command()
def train(
    config: Annotated[Path, typer.Argument(metavar="CONFIG.yaml",
                                           help="The YAML config (see configs/).")],
    out: Annotated[Path | None, typer.Option("--out", metavar="PATH",
                                             help="Where to save the model "
                                                "(default: the config's output).")] = None,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Override a config value, e.g. --set training.epochs=3.")] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="CHECKPOINT.h5",
        help="Continue from a checkpoint (<output>.ckpt.h5).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the summary.")] = False,
    log: Annotated[Path | None, typer.Option("--log", metavar="FILE",
                                             help="Write one JSON object per "
                                                "epoch to this file.")] = None,
) -> None:
    """Train a network as the config says; save it as HDF5."""

    def job() -> None:
        import yaml

        from fcnn_cli import ui
        from fcnn_cli.config import config_warnings, load_config
        from fcnn_cli.training import Interrupted, Trainer, prepare_files

        cfg = load_config(config, overrides)
        for message in config_warnings(cfg):
            ui.warn(message)
        output = out or Path(cfg.output)
        prepare_files(output, log, fresh_log=resume is None)
        if cfg.data.path is not None:  # so eval finds the data from any folder later
            cfg.data.path = str(Path(cfg.data.path).resolve())
        text = yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
        trainer = Trainer(cfg, text, output, ui.make_reporter(quiet), log)
        try:
            outcome = trainer.run(resume)
        except Interrupted as stopped:
            command = ["fcnn", "train", str(config)]
            command += ["--out", str(out)] if out else []
            for item in overrides or []:
                command += ["--set", item]
            command += ["--log", str(log)] if log else []
            command += ["--quiet"] if quiet else []
            command += ["--resume", str(stopped.checkpoint)]
            import shlex

            print(f"{stopped.message}\nresume with: {shlex.join(command)}", file=sys.stderr)
            raise typer.Exit(stopped.exit_code) from None
        ui.training_summary(outcome)

    _run(job)


@app.command("eval")
def evaluate(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL.h5", help="A trained model.")],
    data: Annotated[str | None, typer.Option(
        "--data", metavar="DATASET_OR_PATH",
        help="A named dataset or a path (default: the model's own dataset).")] = None,
    split: Annotated[str, typer.Option("--split", metavar="SPLIT",
                                       help="test, val or train.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Accuracy, loss, per-class precision/recall/F1 and a confusion matrix."""

    def job() -> None:
        from fcnn_cli.evaluation import evaluate_model

        report, title = evaluate_model(model_path, data, split)
        if as_json:
            import json

            print(json.dumps(report.to_json()))
        else:
            from fcnn_cli import ui

            ui.eval_report(report, title)

    _run(job)


@app.command()
def predict(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL.h5", help="A trained model.")],
    inputs: Annotated[list[Path], typer.Argument(
        metavar="INPUT...", help="Image files, folders of images, .npy or .csv batches.")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, metavar="K",
                                       help="Classes to show.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input.")] = False,
    show: Annotated[bool, typer.Option("--show", help="Draw what the network sees.")] = False,
) -> None:
    """Classify inputs with a trained model."""

    def job() -> None:
        from fcnn_cli.evaluation import predict_inputs

        predictions = predict_inputs(model_path, inputs)
        if as_json:
            import json

            for p in predictions:
                print(json.dumps({"input": p.name, "label": p.label,
                                  "probabilities": [float(v) for v in p.probabilities]}))
            return
        from fcnn_cli import ui

        for p in predictions:
            if p.looked_empty:
                ui.warn(f"{p.name}: the image looked empty (no ink found)")
            if show and p.pixels is not None:
                ui.show_image(p.name, p.pixels)
        ui.prediction_table([(p.name, p.top(top_k), p.looked_empty) for p in predictions])

    _run(job)


@app.command("config-schema")
def config_schema() -> None:
    """Print the config's JSON Schema (for editors that check and complete YAML)."""
    import json

    from fcnn_cli.config import json_schema

    print(json.dumps(json_schema(), indent=2))


@app.command("forward-trace")
def forward_trace(
    example: Annotated[str | None, typer.Argument(
        metavar="EXAMPLE_OR_FILE",
        help="A built-in example (see --list) or a YAML trace file.")] = None,
    list_examples: Annotated[bool, typer.Option(
        "--list", help="List the built-in examples.")] = False,
    output: Annotated[str, typer.Option(
        "--format", metavar="FORMAT",
        help="table, json or markdown (LaTeX symbols, for notes and slides).")] = "table",
    model_path: Annotated[Path | None, typer.Option(
        "--model", metavar="MODEL.h5", help="Trace a trained model on one real input.")] = None,
    input_path: Annotated[Path | None, typer.Option(
        "--input", metavar="IMAGE_OR_NPY", help="The input for --model, in raw units.")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", metavar="LABEL", help="The target class (default: the predicted one).")
    ] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", min=0.0, help="η for the update with --model (default: the model's).")] = None,
) -> None:
    """Forward pass, backward pass, one update and a gradient check, in the lecture's notation."""

    def job() -> None:
        import json

        from fcnn_cli import trace, ui
        from fcnn_cli.trace_markdown import example_markdown, trace_markdown

        if output not in ("table", "json", "markdown"):
            raise FcnnError(f"--format {output!r} is not one of table, json, markdown")
        if list_examples:
            items = trace.list_examples()
            if output == "json":
                print(json.dumps([{"name": n, "description": d} for n, d in items]))
            else:
                ui.print_example_list(items)
            return
        if model_path is not None or input_path is not None:
            if model_path is None or input_path is None or example is not None:
                raise FcnnError("trace a model with both --model MODEL.h5 and --input "
                                "IMAGE_OR_NPY, and no example name or trace file")
            shown = trace.trace_model(model_path, input_path, target, lr)
        elif example is None:
            raise FcnnError("give an example name or a trace file, e.g. "
                            "`fcnn forward-trace mlp-2-3-1`; `--list` shows the examples")
        else:
            if target is not None or lr is not None:
                raise FcnnError("--target and --lr go with --model; a trace file sets y and lr")
            shown = trace.build(example)
        network = isinstance(shown, trace.TraceResult)  # else softmax, gate or architecture
        if output == "json":
            print(json.dumps(trace.trace_json(shown) if network else trace.example_json(shown)))
        elif output == "markdown":
            print(trace_markdown(shown) if network else example_markdown(shown))
        elif network:
            ui.print_trace(shown)
        else:
            ui.print_trace_example(shown)

    _run(job)


def main() -> None:
    app()
