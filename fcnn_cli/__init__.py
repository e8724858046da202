"""fcnn: build, train, evaluate and explain fully-connected feed-forward networks.

The Python API (see `fcnn_cli.api`): `load_model`, `train`, `load_config`, `augmented`,
`export`, `import_onnx`, `tune`, `Model`, `FcnnError` (and `fcnn_cli.api.report`), `serve`
(a model over HTTP: `fcnn_cli.serving.run.serve`) and `playground` (training live in the
browser: `fcnn_cli.serving.playground.run.playground`). They load on first use, so
`import fcnn_cli` and `fcnn --help` stay light.
"""

from typing import Any

__version__ = "0.9.0"
__all__ = ["FcnnError", "Model", "__version__", "augmented", "export", "import_onnx",
           "load_config", "load_model", "playground", "serve", "train", "tune"]

# `fcnn_cli.api.report` stays under api: `fcnn_cli.report` is the module that builds the page.
_API = {"FcnnError", "Model", "augmented", "export", "import_onnx", "load_config", "load_model",
        "train", "tune"}


def __getattr__(name: str) -> Any:
    if name == "serve":  # the HTTP server (the serve extra): fcnn_cli.serving.run
        from fcnn_cli.serving.run import serve

        return serve
    if name == "playground":  # on the same stack: fcnn_cli.serving.playground.run
        from fcnn_cli.serving.playground.run import playground

        return playground
    if name in _API:
        from fcnn_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'fcnn_cli' has no attribute {name!r}")
