"""No URL is ever shown unmasked: a database password and every password-like query
parameter are hidden in messages, progress lines and files, whether the URL parses or not,
and whatever the database driver says."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.errors import FcnnError
from fcnn_cli.sanitize import mask_url, mask_urls, url_secrets

runner = CliRunner()


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://user:Hunter22@db.example:5432/fcnn", "postgresql://user:***@db.example:5432/fcnn"),
    # SQLAlchemy cannot parse this one (the port is not a number): masked all the same
    ("postgresql://user:Hunter22@host:notaport/db", "postgresql://user:***@host:notaport/db"),
    # an unencoded '@' or '/' in the password: hidden whole
    ("postgresql://user:Hun@ter/22@host/db", "postgresql://user:***@host/db"),
    ("mysql://root:@localhost/db", "mysql://root:***@localhost/db"),
    ("postgresql://user@host/db?password=Hunter22&sslmode=require",
     "postgresql://user@host/db?password=***&sslmode=require"),
    ("postgresql://h/db?PASSWD=a1&pwd=b2&client_secret=c3&token=d4&api_key=e5&apikey=f6"
     "&access_token=g7&sslpassword=h8&auth=i9&key=j0",
     "postgresql://h/db?PASSWD=***&pwd=***&client_secret=***&token=***&api_key=***&apikey=***"
     "&access_token=***&sslpassword=***&auth=***&key=***"),
    ("postgresql://h/db?pass%77ord=Hunter22", "postgresql://h/db?pass%77ord=***"),
    ("sqlite:////home/me/studies/x.db", "sqlite:////home/me/studies/x.db"),
    ("postgresql://user@host:5432/db?sslmode=require", "postgresql://user@host:5432/db?sslmode=require"),
])
def test_a_url_is_masked_whether_or_not_it_parses(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_a_url_inside_a_message_is_masked_and_so_is_its_password_alone() -> None:
    url = "postgresql://user:p%40ssw0rd@host:x/db"
    text = f"Could not parse '{url}'; password p@ssw0rd rejected"
    said = mask_urls(text, url_secrets(url))
    assert "ssw0rd" not in said
    assert "postgresql://user:***@host:x/db" in said


def _tune(tmp_path: Path, storage: str) -> tuple[int, str]:
    pytest.importorskip("optuna")
    space = tmp_path / "space.yaml"
    space.write_text("training.optimizer.lr: {low: 0.01, high: 0.5, log: true}\n")
    result = runner.invoke(app, ["tune", "digits", "--space", str(space), "--trials", "1",
                                 "--out", str(tmp_path / "best.yaml"), "--storage", storage])
    return result.exit_code, result.output


def test_an_unparsable_url_is_one_masked_line(tmp_path: Path) -> None:
    code, output = _tune(tmp_path, "postgresql://user:Hunter22@host:notaport/db")
    assert code == 2
    (line,) = output.strip().splitlines()
    assert "cannot open the study storage postgresql://user:***@host:notaport/db" in line
    assert "Hunter22" not in output
    assert not (tmp_path / "best.yaml").exists()


def test_a_password_in_the_query_is_never_shown(tmp_path: Path) -> None:
    code, output = _tune(tmp_path, "postgresql://user@127.0.0.1:1/db?password=Hunter22")
    assert code == 2
    (line,) = output.strip().splitlines()
    assert "?password=***" in line and "Hunter22" not in output


def test_what_the_driver_says_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver's error that quotes the URL or the decoded password shows neither."""
    optuna = pytest.importorskip("optuna")
    from fcnn_cli.tuning import study

    def refuse(url: str, **_: object) -> None:
        raise RuntimeError(f"cannot connect to {url} as user with password p@ss-Word9")

    monkeypatch.setattr(optuna.storages, "RDBStorage", refuse)
    with pytest.raises(FcnnError) as raised:
        study.open_storage("postgresql://user:p%40ss-Word9@host/db?token=Tok3n99")
    assert "ss-Word9" not in raised.value.message and "Tok3n99" not in raised.value.message
    assert "postgresql://user:***@host/db?token=***" in raised.value.message


def test_the_progress_line_shows_the_storage_masked(capsys: pytest.CaptureFixture[str]) -> None:
    from fcnn_cli import ui

    plan = SimpleNamespace(study="s", url="postgresql://u:Hunter22@h/db?api_key=K3y99",
                           trials=3, metric="val_accuracy", earlier=0)
    ui.TrialsDisplay(live=False).start(plan)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "postgresql://u:***@h/db?api_key=***" in out
    assert "Hunter22" not in out and "K3y99" not in out


def test_an_error_that_echoes_a_url_is_masked_by_the_command_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fcnn_cli import api

    def fails(*_: object, **__: object) -> None:
        raise FcnnError("cannot reach https://admin:Hunter22@example.org/x?secret=S3cr3t")

    monkeypatch.setattr(api, "tune", fails)
    result = runner.invoke(app, ["tune", "digits", "--space", "digits"])
    assert result.exit_code == 2
    assert "https://admin:***@example.org/x?secret=***" in result.output
    assert "Hunter22" not in result.output and "S3cr3t" not in result.output


def test_a_command_to_copy_is_masked_and_still_quoted_for_the_shell() -> None:
    """The `continue the study with:` line: the password hidden, the quotes balanced."""
    import shlex

    from fcnn_cli.cli import _command_line

    url = "postgresql://u@h/db?sslmode=require&password=Hunter22"
    line = _command_line(["fcnn", "tune", "c.yaml", "--storage", url])
    assert "Hunter22" not in line
    assert shlex.split(line)[-1] == "postgresql://u@h/db?sslmode=require&password=***"
