"""Unknown-name messages: the valid names and the closest one (for typos)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest_hint(name: object, valid: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest valid name, or an empty string."""
    close = difflib.get_close_matches(str(name), list(valid), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""
