"""Turning a name read from a file back into code: only what the caller supplies or approves.

A model file is data people share. It may *name* the function that rebuilds a user's network
(``"mypackage.nets:make_cnn"``), but reading the file never imports or calls that name on its
own: like ``torch.load(weights_only=True)`` and safetensors, loading reads data, and code runs
only where the caller says so — a callable from the caller's own code (``factory=``), checked
against the stored name, or an explicit allow-list of names (``trusted=``). Keyword arguments
read from a file are plain data (numbers, strings, booleans, lists of them), bound to the
factory's signature before it is called; what it returns must be a ``torch.nn.Module`` whose
parameters match the stored state dict in names and shapes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["UntrustedFactoryError", "bind_kwargs", "check_state_shapes", "factory_name",
           "import_factory", "plain_kwargs", "resolve_factory"]

#: what a keyword argument read from a file may be (lists may nest)
_SCALARS = (type(None), bool, int, float, str)


class UntrustedFactoryError(ValueError):
    """A file names code to run, and the caller has neither supplied nor approved it."""


def factory_name(fn: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a callable: the name a saved file records for it.

    Examples
    --------
    >>> import torch
    >>> factory_name(torch.nn.Linear)
    'torch.nn.modules.linear:Linear'
    """
    module, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qual or "<" in qual:
        raise ValueError(f"the factory {fn!r} has no importable name (a lambda or a function "
                         "defined inside another): define it at the top level of a module")
    return f"{module}:{qual}"


def import_factory(path: str) -> Any:
    """The callable named ``"package.module:function"``, imported now.

    Only for names the *caller* wrote in their own code (``fit(arch="pkg.mod:fn")``) or
    listed in ``trusted=``; never for a name read from a file.
    """
    if not isinstance(path, str) or ":" not in path:
        raise ValueError(f"factory must be 'package.module:function', got {path!r}")
    mod, _, name = path.partition(":")
    try:
        obj: Any = importlib.import_module(mod)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import the model factory {path!r}: {err}. It must be "
                         "importable where the model is loaded (an installed package or a "
                         "module on sys.path)") from None
    if not callable(obj):
        raise ValueError(f"the model factory {path!r} is not callable")
    return obj


def resolve_factory(name: str, factory: Any = None, trusted: Iterable[str] = (),
                    source: str = "the file") -> Callable[..., Any]:
    """The callable that rebuilds a network whose file names ``name``.

    Parameters
    ----------
    name : str
        The ``"module:function"`` the file asks for (data, never imported from here unless
        listed in ``trusted``).
    factory : callable or mapping, optional
        The caller's own function; its ``module:qualname`` must equal ``name``. A mapping
        ``{name: callable}`` approves a function under another name (moved or renamed).
    trusted : iterable of str
        Names the caller allows to be imported and called.
    source : str
        What to call the file in messages.

    Examples
    --------
    >>> import torch
    >>> resolve_factory("torch.nn.modules.linear:Linear", factory=torch.nn.Linear)
    <class 'torch.nn.modules.linear.Linear'>
    >>> resolve_factory("os:system")
    Traceback (most recent call last):
    ...
    xattrib.training.factories.UntrustedFactoryError: ...
    """
    if not isinstance(name, str) or ":" not in name:
        raise ValueError(f"{source} names the factory {name!r}, which is not of the form "
                         "'package.module:function'; the file is damaged or not from xattrib")
    if not isinstance(trusted, str | list | tuple | set | frozenset):
        raise TypeError(f"trusted must name the factories you trust, as strings "
                        f"('package.module:function'), e.g. trusted=[{name!r}]; got "
                        f"{trusted!r} (a blanket yes would run any code a file names)")
    trusted = [trusted] if isinstance(trusted, str) else list(trusted)
    bad = [t for t in trusted if not isinstance(t, str)]
    if bad:
        raise TypeError(f"trusted must list 'package.module:function' names as strings; got "
                        f"{bad[0]!r}")
    if factory is not None:
        if isinstance(factory, Mapping):
            if name not in factory:
                raise ValueError(f"{source} asks for the factory {name!r}; factory= maps only "
                                 f"{sorted(map(str, factory))}. Add {name!r}: your_function "
                                 "to the mapping")
            fn = factory[name]
            if not callable(fn):
                raise TypeError(f"factory[{name!r}] must be callable, got "
                                f"{type(fn).__name__}")
            return fn
        if not callable(factory):
            raise TypeError(f"factory must be a callable (your function that builds the "
                            f"network) or a mapping {{name: callable}}, got "
                            f"{type(factory).__name__}")
        given = factory_name(factory)
        if given != name:
            raise ValueError(f"{source} was saved with the factory {name!r} but factory= is "
                             f"{given!r}. If it builds the same network under a new name, "
                             f"approve it explicitly: factory={{{name!r}: {factory.__name__}}}")
        return factory
    if name in trusted:
        return import_factory(name)
    mod, _, fn_name = name.partition(":")
    raise UntrustedFactoryError(
        f"{source} asks to rebuild its network with {name!r}; loading a file never imports "
        f"or calls code it names. If you trust that function, pass it from your own code: "
        f"`from {mod} import {fn_name.split('.')[0]}` and "
        f"Model.load(path, factory={fn_name}), or allow the name: "
        f"Model.load(path, trusted=[{name!r}])")


def _is_plain(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    return False


def plain_kwargs(kwargs: Any, what: str) -> dict[str, Any]:
    """``kwargs`` read from a file, checked to be plain data (no nested objects).

    Examples
    --------
    >>> plain_kwargs({"hidden": [16, 8], "activation": "relu"}, "arch_kwargs")
    {'hidden': [16, 8], 'activation': 'relu'}
    >>> plain_kwargs({"cfg": {"__class__": "os.system"}}, "factory_kwargs")
    Traceback (most recent call last):
    ...
    ValueError: factory_kwargs['cfg'] ...
    """
    if not isinstance(kwargs, dict):
        raise ValueError(f"{what} must be a mapping of keyword arguments, got "
                         f"{type(kwargs).__name__}")
    for key, value in kwargs.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"{what} has the key {key!r}, which is not a parameter name")
        if not _is_plain(value):
            raise ValueError(f"{what}[{key!r}] is {type(value).__name__} {value!r}; keyword "
                             "arguments read from a file must be plain data (numbers, strings, "
                             "booleans, None or lists of them)")
    return dict(kwargs)


def bind_kwargs(fn: Callable[..., Any], kwargs: dict[str, Any], what: str) -> None:
    """Refuse keyword arguments that ``fn``'s signature does not take (before calling it)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check against
        return
    try:
        sig.bind(**kwargs)
    except TypeError as err:
        raise ValueError(f"{what} do not fit the signature {getattr(fn, '__name__', fn)}"
                         f"{sig}: {err}") from None


def check_state_shapes(module: Any, stored: Mapping[str, tuple[int, ...]] | None,
                       what: str, against: str = "the file") -> None:
    """``module`` is a torch module whose state dict has exactly the stored names and shapes
    (``stored=None``: only that it is a torch module)."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ValueError(f"{what} returned {type(module).__name__}, not a torch.nn.Module; "
                         "nothing was loaded")
    if stored is None:
        return
    own = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    missing, extra = sorted(set(stored) - set(own)), sorted(set(own) - set(stored))
    if missing or extra:
        raise ValueError(f"{what} built a network whose parameters do not match {against}: "
                         f"in {against} only {missing[:5]}, in the network only {extra[:5]}")
    wrong = [(k, stored[k], own[k]) for k in stored if tuple(stored[k]) != own[k]]
    if wrong:
        k, want, got = wrong[0]
        raise ValueError(f"{what} built a network whose parameter {k!r} has shape {got}; "
                         f"{against} {'stores' if against.endswith('file') else 'has'} "
                         f"{tuple(want)} ({len(wrong)} parameter(s) differ)")


def call_factory(fn: Any, kwargs: dict[str, Any], shapes: dict[str, tuple[int, ...]] | None,
                  what: str) -> tuple[Any, dict[str, Any]]:
    """Call a factory with plain, signature-checked keyword arguments; check what it returns
    (a torch module, with the stored parameters' names and shapes when ``shapes`` is given)."""
    kwargs = plain_kwargs(dict(kwargs), f"keyword arguments of {what}")
    bind_kwargs(fn, kwargs, f"keyword arguments of {what}")
    module = fn(**kwargs)
    check_state_shapes(module, shapes, what)
    return module, kwargs
