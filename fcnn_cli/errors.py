"""The one exception type the CLI turns into a one-line message and an exit status."""

from __future__ import annotations

from collections.abc import Iterable


class FcnnError(Exception):
    """A problem the user can fix: `message` says what, where and how; exit 2 by default."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def clipped(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, so a message stays one short line
    whatever a file held."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def listing(names: Iterable[object], most: int, quoted: bool = False) -> str:
    """The first `most` names, comma-separated, then how many there are in all."""
    names = list(names)
    shown = ", ".join(repr(n) if quoted else str(n) for n in names[:most])
    return shown + (f", … ({len(names)} in all)" if len(names) > most else "")


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for the closest choice, or "" when none is close."""
    import difflib  # only when there is a mistake to explain

    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""
