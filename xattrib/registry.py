"""One registry mechanism for every plug-in family: a name → a member.

Each family (response families, covariance samplers, transforms, architectures, attribution
methods, metrics) keeps one :class:`Registry` in its protocol module; each member registers
itself with one line. The registry is the one place a family's names are listed: unknown
names get the valid ones and the closest match, and the command line's choices, the job's
defaults and the docs tables read it instead of typing names again.

Examples
--------
>>> colours = Registry("colour", description=lambda c: c.upper())
>>> _ = colours.register("red", "r")
>>> _ = colours.register("green", "g")
>>> colours.names()
['red', 'green']
>>> colours.get("gren")
Traceback (most recent call last):
...
xattrib.registry.UnknownNameError: unknown colour 'gren'; Did you mean 'green'? Valid colours: red, green
>>> print(colours.table())
| name | description |
|---|---|
| `red` | R |
| `green` | G |
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["Registry", "UnknownNameError", "closest_hint", "own_keyword_hint", "take_alias"]

T = TypeVar("T")


def closest_hint(name: object, valid: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest valid name, or an empty string."""
    close = difflib.get_close_matches(str(name), list(valid), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _own_parameters(verb: Callable[..., Any]) -> list[str]:
    import inspect

    return [n for n, p in inspect.signature(verb).parameters.items()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def own_keyword_hint(verb: Callable[..., Any], params: dict[str, Any],
                     known: Callable[[str], bool] = lambda _k: False) -> None:
    """Refuse a keyword that ``verb`` passes on (``**params``) when it is a misspelling of
    one of the verb's *own* parameters, before it is taken for a method's or metric's.

    ``known(key)`` says whether a key is a valid name to pass on (a method, a metric, one of
    their parameters): those are left alone.

    >>> def evaluate(heat, model, metrics=None, n_samples=100, **params): ...
    >>> own_keyword_hint(evaluate, {"metric": ["x"]})
    Traceback (most recent call last):
    ...
    TypeError: evaluate() got an unexpected keyword argument 'metric'. Did you mean metrics=?
    """
    own = _own_parameters(verb)
    for key in params:
        if known(key):
            continue
        close = difflib.get_close_matches(str(key), own, n=1, cutoff=0.6)
        if close:
            raise TypeError(f"{verb.__name__}() got an unexpected keyword argument {key!r}. "
                            f"Did you mean {close[0]}=?")


def take_alias(params: dict[str, Any], singular: str, plural: str, value: Any,
               default: Any) -> Any:
    """The value of ``plural=`` (``methods=``), taking ``singular=`` (``method=``) from
    ``params`` as its alias: every verb accepts both, and refuses both at once.

    >>> take_alias({"method": "gradient"}, "method", "methods", ("a",), ("a",))
    'gradient'
    """
    if singular not in params:
        return value
    alias = params.pop(singular)
    if value is not default and value != default:
        raise TypeError(f"{singular}= is another name for {plural}=; pass one of them, not "
                        f"both (got {plural}={value!r} and {singular}={alias!r})")
    return alias


class UnknownNameError(ValueError, KeyError):
    """A name that no member of a family has (a ``ValueError`` and a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Members of one plug-in family by name, in registration order.

    Parameters
    ----------
    kind : str
        What a member is, for messages (``"transform"``).
    plural : str, optional
        The plural in messages (default ``kind + "s"``).
    extra : str
        Appended to the unknown-name message (other things the argument accepts).
    description : callable, optional
        ``member → str`` for :meth:`table` (default: the member's ``description``).
    columns : dict, optional
        More columns for :meth:`table`: header → ``member → str``.
    """

    def __init__(self, kind: str, plural: str | None = None, extra: str = "",
                 description: Callable[[Any], str] | None = None,
                 columns: dict[str, Callable[[Any], str]] | None = None) -> None:
        self.kind, self.plural = kind, plural or f"{kind}s"
        self.extra = extra
        self._describe = description or (lambda m: str(getattr(m, "description", "")))
        self.columns = dict(columns or {})
        self._members: dict[str, T] = {}

    def register(self, name: str, member: T | None = None, *, overwrite: bool = False) -> Any:
        """Add ``member`` under ``name``; without ``member``, a decorator that adds what it
        decorates. Registering a taken name needs ``overwrite=True``."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a {self.kind} name must be a snake_case identifier, got {name!r}")

        def add(obj: T) -> T:
            if name in self._members and not overwrite and self._members[name] is not obj:
                raise ValueError(f"a {self.kind} named {name!r} is registered; pass "
                                 "overwrite=True to replace it")
            self._members[name] = obj
            return obj

        return add if member is None else add(member)

    def unregister(self, name: str) -> T:
        """Remove and return the member ``name`` (for tests and plug-ins that unload)."""
        return self._members.pop(name)

    pop = unregister

    def get(self, name: str, what: str | None = None) -> T:
        """The member ``name``; an unknown name raises :class:`UnknownNameError` naming the
        valid ones and the closest (``what`` names the argument, default the kind)."""
        if isinstance(name, str) and name in self._members:
            return self._members[name]
        raise UnknownNameError(
            f"unknown {what or self.kind} {name!r};{closest_hint(name, self._members)} "
            f"Valid {self.plural}: {', '.join(self._members)}{self.extra}")

    __getitem__ = get

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._members)

    def items(self) -> list[tuple[str, T]]:
        return list(self._members.items())

    def values(self) -> list[T]:
        return list(self._members.values())

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._members))

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return f"<Registry of {self.plural}: {', '.join(self._members)}>"

    def table(self) -> str:
        """A Markdown table of the members (the docs pages embed it)."""
        heads = ["name", "description", *self.columns]
        rows = [f"| {' | '.join(heads)} |", "|" + "---|" * len(heads)]
        for name, member in self._members.items():
            cells = [f"`{name}`", self._describe(member),
                     *(str(f(member)) for f in self.columns.values())]
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(rows)
