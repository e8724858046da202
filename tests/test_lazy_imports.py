"""Start-up stays fast: each command imports only what it uses (timings: benchmarks/startup.py)."""

import os
import subprocess
import sys
from pathlib import Path

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
IMAGE = IMAGES / "user-9-photo.jpg"


def fcnn_then(args: tuple[str, ...], report: str, env: dict[str, str] | None = None
              ) -> tuple[str, str]:
    """What `fcnn ARGS` prints, and the Python expression `report` once it has run (a fresh
    interpreter; `env` its whole environment, this one's by default)."""
    code = ("import sys\nfrom fcnn_cli.cli import main\nsys.argv = ['fcnn', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print({report}, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=dict(os.environ) if env is None else env)
    return done.stdout, done.stderr.splitlines()[-1]


def run_fcnn(*args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """What `fcnn ARGS` prints, and the modules loaded once it has run (fresh interpreter)."""
    out, modules = fcnn_then(args, "' '.join(sorted(sys.modules))",
                             {**os.environ, **(env or {})})
    return out, set(modules.split())


def modules_after(*args: str, env: dict[str, str] | None = None) -> set[str]:
    return run_fcnn(*args, env=env)[1]


def test_help_loads_neither_numpy_nor_rich_nor_pydantic() -> None:
    loaded = modules_after("--help")
    assert not {"numpy", "rich", "pydantic", "h5py", "matplotlib", "optuna"} & loaded


def test_predict_loads_no_pydantic_no_yaml_and_no_network_code() -> None:
    loaded = modules_after("predict", "mnist", str(IMAGE))
    assert "h5py" in loaded  # it did run
    assert not {"pydantic", "yaml", "urllib.request", "http.client", "matplotlib"} & loaded


def test_predict_on_a_clean_digit_loads_no_scoring_code_and_no_pillow_filters() -> None:
    loaded = modules_after("predict", "mnist", str(IMAGES / "mnist-test-0000-label-7.png"))
    assert "fcnn_cli.data.digit" in loaded  # it did run
    assert "PIL" not in loaded  # a plain PNG: OpenCV decodes it
    assert not {"fcnn_cli.metrics", "fcnn_cli.nn.epoch", "PIL.ImageOps", "PIL.ImageFilter",
                "fcnn_cli.training"} & loaded


SERVER = {"fastapi", "uvicorn", "starlette", "python_multipart", "anyio", "fcnn_cli.serving"}


def test_help_and_predict_load_nothing_of_the_http_server() -> None:
    assert not SERVER & modules_after("--help")
    assert not SERVER & modules_after("serve", "--help")
    loaded = modules_after("predict", "mnist", str(IMAGE))
    assert "h5py" in loaded and not SERVER & loaded  # it did run


def test_info_and_forward_trace_draw_nothing_with_matplotlib() -> None:
    assert "matplotlib" not in modules_after("info", "mnist")
    assert "matplotlib" not in modules_after("forward-trace", "mlp-2-3-1", "--format", "svg")


def test_shell_completion_of_a_recipe_name_loads_nothing_heavy() -> None:
    env = {"_FCNN_COMPLETE": "complete_bash", "COMP_WORDS": "fcnn train mn", "COMP_CWORD": "2"}
    loaded = modules_after(env=env)
    assert not {"numpy", "rich", "pydantic"} & loaded


def test_shell_completion_offers_recipe_and_model_names() -> None:
    env = {"_FCNN_COMPLETE": "complete_bash", "COMP_WORDS": "fcnn train mn", "COMP_CWORD": "2"}
    assert run_fcnn(env=env)[0].split() == ["mnist", "mnist-augmented", "mnist-nielsen"]
    env.update(COMP_WORDS="fcnn eval mn")
    assert run_fcnn(env=env)[0].split() == ["mnist"]
