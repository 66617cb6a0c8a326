"""The response-family protocol: per-cell functions Fᵢ with Fᵢ(0) = 0, and their registry.

A benchmark responds with y = scale · Σᵢ Fᵢ(xᵢ). Each family is a small object holding
per-cell parameters (arrays with the cell axis first), evaluated on plain ``(n, d)`` arrays,
serialised into a benchmark Dataset and rebuilt from it, so ``F`` can be evaluated again on
new inputs (the original archive could not). Each family also writes itself as the layers of
an exact ``Linear → activation → Linear`` network (:class:`xattrib.architectures.ExactResponse`).

A new family is one module with a :class:`Response` subclass and one registration line,
``RESPONSES.register(MyFamily.name, MyFamily)``, imported by the package's ``__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..covariances.quantised import QuantisedFactor
from ..registry import Registry

__all__ = ["RESPONSES", "Response", "correlated_draws", "no_extra", "ramp_layers",
           "response_from_params"]

#: name → :class:`Response` subclass
RESPONSES: Registry[type[Response]] = Registry(
    "response family", plural="response families",
    columns={"parameters": lambda cls: ", ".join(f"`{p}`" for p in cls.param_dims)})


def correlated_draws(rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
                      k: int) -> np.ndarray:
    """(d, k): k independent MVN(0, R) fields (R = L Lᵀ, or any sampler's correlation
    draws), one column each.

    Exact products (:mod:`xattrib.covariances.quantised`): the parameters, like the samples, must not depend
    on the BLAS thread count.
    """
    if isinstance(corr_factor, np.ndarray):  # else any sampler's Draws (covariances.base)
        corr_factor = QuantisedFactor.from_matrix(corr_factor)
    return corr_factor.draw(rng, k).T


@dataclass(eq=False)
class Response:
    """Base class: per-cell functions Fᵢ with Fᵢ(0) = 0 evaluated on ``(n, d)`` arrays."""

    name: ClassVar[str] = ""
    #: one line for the docs table
    description: ClassVar[str] = ""
    #: extra dims of each parameter (after the cell axis), for serialisation
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {}
    params: dict[str, np.ndarray]
    #: whether y = Σᵢ Fᵢ(xᵢ): every complete method then has one target, the ``truth``.
    #: An interacting family (:mod:`.interacting`) has several kinds of exact attribution.
    additive: ClassVar[bool] = True
    #: parameters without a cell axis (scalars), stored as attributes of a benchmark
    scalar_params: ClassVar[tuple[str, ...]] = ()
    #: whether :meth:`random` takes the grid's ``cells`` (to draw regions on the sphere)
    needs_cells: ClassVar[bool] = False

    @property
    def n_cells(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Fᵢ(xᵢ) for every sample and cell: ``(n, d) -> (n, d)`` (same dtype as ``x``)."""
        raise NotImplementedError

    def value(self, x: np.ndarray) -> np.ndarray:
        """F(x) = Σᵢ Fᵢ(xᵢ) per sample, ``(n,)`` float64."""
        return np.asarray(self(np.asarray(x, np.float64)), np.float64).sum(1)

    def expectation(self, std: np.ndarray) -> np.ndarray:
        """E[Fᵢ(Xᵢ)] for Xᵢ ~ N(0, stdᵢ²), per cell. Gauss–Hermite (80 nodes) by default."""
        t, w = np.polynomial.hermite_e.hermegauss(80)  # probabilists': weight exp(-t²/2)
        vals = self(np.asarray(std, float)[None, :] * t[:, None])
        return (w[:, None] * vals).sum(0) / np.sqrt(2 * np.pi)

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray,
               **kwargs: Any) -> Response:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"response_family": self.name}

    #: the exact network's activation between its two linear layers ("relu" or "tanh")
    exact_activation: ClassVar[str] = "relu"

    @classmethod
    def exact_hidden(cls, n_knots: int) -> int:
        """Hidden units per cell of the exact network (``n_knots`` as :meth:`exact_shape`)."""
        raise NotImplementedError(f"response family {cls.name!r} has no exact network")

    def exact_shape(self) -> int:
        """The size parameter of the exact network (the number of knots; 0 if none)."""
        return 0

    def exact_layers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """``(w_in (d·h,), b_in (d·h,), w_out (d·h,), b_out)`` of the unscaled exact
        network ``F(x) = w_out · act(w_in ⊙ x[u // h] + b_in) + b_out`` with h =
        :meth:`exact_hidden` units per cell: unit u reads cell u // h alone (so its exact
        attribution is Fᵢ(xᵢ) − Fᵢ(bᵢ)), and ``w_in`` is its one input weight — never a
        d·h × d matrix, which at 1° (43k cells) would take 52 GB."""
        raise NotImplementedError(f"response family {self.name!r} has no exact network")

    def __dask_tokenize__(self) -> tuple:
        return (self.name, *[(k, v.tobytes()) for k, v in sorted(self.params.items())])


def no_extra(kwargs: dict[str, Any], family: str) -> None:
    if kwargs:
        raise TypeError(f"unexpected parameters for response {family!r}: {sorted(kwargs)}")




def ramp_layers(bp: np.ndarray, delta: np.ndarray, w0: np.ndarray, const: np.ndarray,
                t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Exact ReLU layers of Fᵢ(x) = w₀x + Σₖ Δₖ·ReLU(x − bₖ) + cᵢ (K + 2 units per cell).

    The linear part is w₀·(ReLU(x − t) − ReLU(t − x)) + w₀t with t below the lowest knot:
    centred at 0 it would have zero gradient at x = 0, a knot and the usual baseline. At a
    knot torch's ReLU has derivative 0, so gradients use the slope on the *left*.
    """
    d, k = bp.shape
    cells = np.arange(d)
    per = k + 2
    w_in = np.zeros(d * per)
    b_in = np.zeros(d * per)
    w_out = np.zeros(d * per)
    rows = cells * per
    for j in range(k):                     # ReLU(x - b_k), weight Δ_k
        w_in[rows + j] = 1.0
        b_in[rows + j] = -bp[:, j]
        w_out[rows + j] = delta[:, j]
    w_in[rows + k] = 1.0                   # w0 · ReLU(x - t)
    b_in[rows + k] = -t
    w_out[rows + k] = w0
    w_in[rows + k + 1] = -1.0              # -w0 · ReLU(t - x)
    b_in[rows + k + 1] = t
    w_out[rows + k + 1] = -w0
    return w_in, b_in, w_out, float((const + w0 * t).sum())


def response_from_params(family: str, params: dict[str, np.ndarray]) -> Response:
    """Rebuild a response of ``family`` from its parameter arrays (cell axis first)."""
    return RESPONSES.get(family)(params)
