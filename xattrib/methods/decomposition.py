"""Contextual decomposition (CD) of a feed-forward torch network.

CD (Murdoch et al. 2018; Singh et al. 2019, 2020) splits every activation into a part due
to a group of input features (β, relevant) and the rest (γ), β + γ = the activation, and
propagates the pair through the network; β at the output is the group's score. The rules
are those of SCIENCE.md §3, with two conventions stated here:

- affine layers share their bias in proportion to |β| and |γ|; where both are exactly 0
  the share follows the two streams' total magnitude in that sample (the reference
  implementation ``acd`` gives ½ there in Linear/Conv and all to γ in BatchNorm). So an
  all-ones mask gives γ = 0 exactly;
- pointwise nonlinearities give β' = φ(β) and γ' = φ(β + γ) − φ(β) where φ(0) = 0 (ReLU,
  Tanh, ...). Where φ(0) ≠ 0 (Sigmoid, Softplus) φ(0) is a constant like a bias, shared in
  proportion to each stream's own change, |φ(β) − φ(0)| and |φ(β + γ) − φ(β)|: a group with
  no features then scores 0, and an all-ones mask still gives γ = 0 (taking the plain
  β' = φ(β) gave an empty group φ(0)-driven scores: 0.34 on a bias-free Sigmoid net);
- max pooling gathers both streams where β + γ is largest, and linear bias-free operations
  (pooling, reshapes, padding, dropout in eval) apply to each stream;
- in-place operations (``h.relu_()``, ``inplace=True``) update their operand, so code that
  drops the returned value still carries the right streams.

Why a tensor subclass and not a module walk: a walk over ``children()`` sees neither
residual adds nor the reshapes and index operations in users' ``forward`` code, and
``torch.fx`` refuses forward code that branches on shapes. :class:`_Streams` is the running
sum β + γ (so shapes and ``ndim`` answer as usual) carrying β and γ, and its
``__torch_function__`` applies the rule of each torch operation the network's own forward
calls. Residual adds and concatenations of two decomposed tensors combine the streams
pairwise. Any operation without a rule raises an error naming the layer it occurred in. No
library implements CD for arbitrary torch networks (the authors' ``acd`` package walks
Sequential-style modules of its own examples), hence this module.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["SUPPORTED", "cd_scores", "decompose"]

SUPPORTED = ("Linear, Conv1d/2d/3d, BatchNorm (eval), ReLU, LeakyReLU, Tanh, Sigmoid, ELU, "
             "GELU, SiLU, Softplus, MaxPool, AvgPool, AdaptiveAvgPool/AdaptiveMaxPool, "
             "Flatten, Dropout (eval), padding, Identity, reshapes and indexing, and residual "
             "adds or concatenations of their outputs")

# operations affine in their decomposed argument(s); the bias, op(0), is shared out.
_ROWWISE_AFFINE = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                   "conv_transpose2d", "conv_transpose3d", "batch_norm", "pad",
                   "constant_pad_nd"}
_AFFINE = {"add", "__add__", "__radd__", "__iadd__", "add_", "sub", "__sub__", "__rsub__",
           "__isub__", "sub_", "rsub", "index_copy", "index_add", "cat", "concat",
           "concatenate", "stack", "hstack", "vstack", "masked_fill", "index_put"}
# operations linear in their one decomposed argument, with no bias
_LINEAR = {"view", "reshape", "flatten", "unflatten", "permute", "transpose", "t", "squeeze",
           "unsqueeze", "contiguous", "clone", "__getitem__", "narrow", "select", "expand",
           "expand_as", "repeat", "flip", "roll", "index_select", "gather", "movedim",
           "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "sum", "mean", "mul", "__mul__",
           "__rmul__", "mul_", "div", "__truediv__", "div_", "neg", "__neg__", "matmul",
           "__matmul__", "__rmatmul__", "mm", "bmm", "float", "double", "to", "type_as",
           "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_dropout",
           "alpha_dropout", "chunk", "split", "unbind", "interpolate", "pixel_shuffle",
           "squeeze_", "unsqueeze_", "view_as", "reshape_as", "cpu", "cuda"}
_POINTWISE = {"relu", "relu_", "leaky_relu", "leaky_relu_", "tanh", "tanh_", "sigmoid",
              "sigmoid_", "elu", "elu_", "gelu", "silu", "softplus", "relu6", "hardtanh",
              "hardtanh_", "selu", "celu", "mish", "hardswish", "hardsigmoid", "logsigmoid",
              "softsign", "tanhshrink", "threshold", "clamp", "clip"}
_MAXPOOL = {"max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool1d",
            "adaptive_max_pool2d", "adaptive_max_pool3d"}
# questions about a tensor, and constructors of new constant tensors
_META = {"dim", "size", "numel", "__len__", "new_zeros", "new_ones", "new_full",
         "new_empty", "new_tensor", "is_floating_point", "is_contiguous", "stride",
         "element_size", "get_device", "__format__", "__repr__", "__bool__", "nelement",
         "ndimension", "data_ptr", "type"}
_LINEAR_PROPS = {"T", "mT", "H", "mH", "real"}
_TWO_STREAM_LINEAR = {"add", "__add__", "__radd__", "__iadd__", "add_", "sub", "__sub__",
                      "__rsub__", "__isub__", "sub_", "rsub", "cat", "concat", "concatenate",
                      "stack", "hstack", "vstack"}


class UnsupportedOperation(ValueError):
    """A layer or operation contextual decomposition has no rule for.

    Not a TypeError: torch turns TypeErrors inside ``Tensor.__mul__`` and friends into
    ``NotImplemented``, which would hide this message.
    """


class _Streams(torch.Tensor):
    """β + γ as a tensor (for shapes and metadata), carrying ``beta`` and ``gamma``."""

    beta: torch.Tensor
    gamma: torch.Tensor
    plain: torch.Tensor

    @staticmethod
    def __new__(cls, beta: torch.Tensor, gamma: torch.Tensor) -> _Streams:
        total = beta + gamma
        obj = torch.Tensor._make_subclass(cls, total)
        obj.beta, obj.gamma, obj.plain = beta, gamma, total
        return obj

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None
                           ) -> Any:
        return _apply(func, args, kwargs or {})


_LOCAL = threading.local()  # per thread: the layers being run (for error messages)


def _context() -> list[str]:
    if not hasattr(_LOCAL, "stack"):
        _LOCAL.stack = []
    return _LOCAL.stack


def _name(func: Any) -> str:
    name = getattr(func, "__name__", str(func))
    if name == "__get__":
        return "." + getattr(getattr(func, "__self__", None), "__name__", "?")
    return name


def _swap(tree: Any, pick: Any) -> Any:
    return tree_map(lambda a: pick(a) if isinstance(a, _Streams) else a, tree)


def _call(func: Any, args: Any, kwargs: Any, pick: Any) -> Any:
    a, k = _swap(args, pick), _swap(kwargs, pick)
    with torch._C.DisableTorchFunctionSubclass():
        return func(*a, **k)


def _wrap(beta: Any, gamma: Any) -> Any:
    if isinstance(beta, torch.Tensor):
        return _Streams(beta, gamma)
    if isinstance(beta, tuple | list):
        return type(beta)(_wrap(b, g) for b, g in zip(beta, gamma, strict=True))
    return beta


def _unsupported(what: str) -> UnsupportedOperation:
    stack = _context()
    where = f" (in layer {stack[-1]})" if stack else ""
    return UnsupportedOperation(
        f"contextual decomposition has no rule for {what}{where}. Supported: {SUPPORTED}. "
        "Use another method (e.g. integrated_gradients or occlusion) for this network")


def _share(u: torch.Tensor, v: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
    """Split the bias ``b`` between the streams in proportion to |u| and |v|; where both
    are 0, in proportion to the streams' total magnitude in that sample."""
    au, av = u.abs(), v.abs()
    den = au + av
    red = tuple(range(1, u.ndim))
    su = au.sum(red, keepdim=True) if red else au
    sv = av.sum(red, keepdim=True) if red else av
    tot = su + sv
    fallback = torch.where(tot > 0, su / torch.where(tot > 0, tot, 1), 0.5)
    wu = torch.where(den > 0, au / torch.where(den > 0, den, 1), fallback)
    beta = u + b * wu
    return beta, (u + v + b) - beta


def _apply(func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    name = _name(func)
    leaves = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, _Streams)]
    if not leaves:
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **kwargs)
    if name.startswith("."):  # a property: .shape, .dtype ... or a linear one (.T)
        if name[1:] in _LINEAR_PROPS:
            return _wrap(_call(func, args, kwargs, lambda s: s.beta),
                         _call(func, args, kwargs, lambda s: s.gamma))
        return _call(func, args, kwargs, lambda s: s.plain)
    if name in _META:
        return _call(func, args, kwargs, lambda s: s.plain)
    if kwargs.get("training") or (name.startswith(("dropout", "feature_dropout",
                                                    "alpha_dropout")) and
                                   (len(args) > 2 and args[2] is True)):
        raise _unsupported(f"{name} in training mode (call model.eval())")
    in_place = bool(kwargs.get("inplace")) or (name.endswith("_") and not name.endswith("__"))
    if in_place:  # run on copies, then write the result into the operand (see _in_place)
        kwargs = {**kwargs, "inplace": False} if "inplace" in kwargs else kwargs
        target = args[0]
        args = _swap(args, lambda s: _Streams(s.beta.clone(), s.gamma.clone()))
        return _in_place(name, target, _decomposed(name, func, args, kwargs, leaves))
    return _decomposed(name, func, args, kwargs, leaves)


def _in_place(name: str, target: Any, result: Any) -> Any:
    """An in-place op changes its operand: code that drops the returned value
    (``h.relu_()``) must still see the new streams in ``h``."""
    if not isinstance(target, _Streams) or not isinstance(result, _Streams):
        return result
    if tuple(result.shape) != tuple(target.shape):
        raise _unsupported(f"the in-place {name!r}, which changes the shape (use "
                           f"{name.rstrip('_')!r} and assign its result)")
    target.beta, target.gamma = result.beta, result.gamma
    with torch._C.DisableTorchFunctionSubclass():
        target.plain.copy_(result.plain)
    return target


def _decomposed(name: str, func: Any, args: Any, kwargs: dict[str, Any], leaves: list[Any]
                ) -> Any:
    """The rule of each kind of operation (see the module docstring)."""
    if len(leaves) > 1 and name not in _TWO_STREAM_LINEAR and name not in _AFFINE:
        raise _unsupported(f"{name} of two decomposed tensors (a product is not linear)")
    if name in _POINTWISE:
        # φ(0) is a constant, like a bias: shared in proportion to each stream's own change,
        # u = φ(β) − φ(0) and v = φ(β + γ) − φ(β). A group without features (β = 0) keeps 0
        # whatever φ(0) is (Sigmoid, Softplus), and an all-ones mask (γ = 0) keeps γ' = 0
        f0 = _call(func, args, kwargs, lambda s: torch.zeros_like(s.beta))
        fb = _call(func, args, kwargs, lambda s: s.beta)
        total = _call(func, args, kwargs, lambda s: s.plain)
        if not bool(f0.any()):  # ReLU-like φ(0) = 0: β' = φ(β), γ' = φ(β + γ) − φ(β)
            return _Streams(fb, total - fb)
        return _Streams(*_share(fb - f0, total - fb, f0))
    if name in _MAXPOOL:
        return _maxpool(name, args, kwargs)
    if name in _LINEAR:
        return _wrap(_call(func, args, kwargs, lambda s: s.beta),
                     _call(func, args, kwargs, lambda s: s.gamma))
    if name in _ROWWISE_AFFINE or name in _AFFINE:
        if name in _ROWWISE_AFFINE:  # per-sample ops: the bias from one zero row
            b = _call(func, args, kwargs, lambda s: s.plain.new_zeros(1, *s.shape[1:]))
        else:
            b = _call(func, args, kwargs, lambda s: torch.zeros_like(s.plain))
        u = _call(func, args, kwargs, lambda s: s.beta) - b
        v = _call(func, args, kwargs, lambda s: s.gamma) - b
        if name in _TWO_STREAM_LINEAR and not bool(b.any()):
            return _Streams(u, v)
        return _Streams(*_share(u, v, b.expand_as(u)))
    raise _unsupported(f"the operation {name!r}")


def _maxpool(name: str, args: Any, kwargs: dict[str, Any]) -> _Streams:
    s = args[0]
    with_idx = getattr(F, f"{name}_with_indices")
    kw = {k: v for k, v in kwargs.items() if k != "return_indices"}
    with torch._C.DisableTorchFunctionSubclass():
        out, idx = with_idx(s.plain, *args[1:], **kw)
        n = idx.flatten(2)
        beta = s.beta.flatten(2).gather(2, n).view_as(out)
        gamma = s.gamma.flatten(2).gather(2, n).view_as(out)
    return _Streams(beta, gamma)


@contextlib.contextmanager
def _layer_names(net: nn.Module) -> Iterator[None]:
    """Keep the running layer's name and type for error messages."""
    handles = []

    def push(module: nn.Module, _: Any, name: str = "") -> None:
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training:
            raise _unsupported("BatchNorm in training mode (call model.eval())")
        _context().append(f"{name or '<root>'!r}, a {type(module).__name__}")

    def pop(module: nn.Module, _: Any, __: Any) -> None:
        if _context():
            _context().pop()

    for name, module in net.named_modules():
        handles.append(module.register_forward_pre_hook(
            lambda m, a, name=name: push(m, a, name)))
        handles.append(module.register_forward_hook(pop))
    depth = len(_context())
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        del _context()[depth:]


def decompose(net: nn.Module, beta: torch.Tensor, gamma: torch.Tensor,
              *args: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``net`` on ``beta + gamma`` carrying both parts; returns the output's (β, γ).

    ``beta`` and ``gamma`` have the network's input shape; extra ``args`` go to ``net``
    unchanged. β + γ equals ``net(beta + gamma)`` up to rounding.
    """
    with torch.no_grad(), _layer_names(net):
        out = net(_Streams(beta, gamma), *args)
    if not isinstance(out, _Streams):
        raise _unsupported("a network whose output does not depend on its input")
    return out.beta.as_subclass(torch.Tensor), out.gamma.as_subclass(torch.Tensor)


def cd_scores(net: nn.Module, x: torch.Tensor, groups: torch.Tensor, n_groups: int,
              split: Any = None, max_rows: int = 8192, max_values: int = 2**21
              ) -> torch.Tensor:
    """CD score β of every group for every sample: ``(b, n_groups)``.

    ``groups`` holds each input feature's group id ``(p,)``. ``split(xx, mask, reps, rows)``
    returns the (β, γ) network inputs for rows ``xx`` (``x[rows]`` repeated ``reps`` times,
    group by group) and their 0/1 feature masks (default: ``mask * xx`` and the rest).
    Groups and samples are batched together: at most ``max_rows`` rows and ``max_values``
    input values per pass (a CNN's activations are many times its input: 8192 rows of a
    64 × 64 map peaked at 6 GB).
    """
    if split is None:
        def split(xx: torch.Tensor, mask: torch.Tensor, reps: int, rows: slice
                  ) -> tuple[torch.Tensor, torch.Tensor]:
            beta = xx * mask
            return beta, xx - beta
    b, p = x.shape
    out = x.new_empty(b, n_groups)
    budget = max(1, min(int(max_rows), int(max_values) // max(p, 1)))
    step = min(b, budget)
    for s0 in range(0, b, step):
        rows = slice(s0, min(s0 + step, b))
        xs = x[rows]
        n = xs.shape[0]
        per = max(1, budget // n)
        for g0 in range(0, n_groups, per):
            gs = torch.arange(g0, min(g0 + per, n_groups), device=x.device)
            mask = (groups[None, :] == gs[:, None]).to(x.dtype)            # (g, p)
            rows_mask = mask.repeat_interleave(n, dim=0)                     # (g·n, p)
            beta, gamma = split(xs.repeat(len(gs), 1), rows_mask, len(gs), rows)
            out_beta, _ = decompose(net, beta, gamma)
            out[rows, g0:g0 + len(gs)] = out_beta.reshape(len(gs), n, -1)[..., 0].T
    return out
