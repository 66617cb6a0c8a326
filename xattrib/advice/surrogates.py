"""Surrogate networks: fresh copies of the user's architecture, trained on a benchmark.

``build(bench, seeds, **fit_kwargs)`` returns an :class:`~xattrib.Ensemble` of one fresh
network per seed. Networks rebuilt by name train through :func:`xattrib.fit`'s ensemble
path: on a dask cluster (an active ``distributed.Client``) each member is one task, locally
members share the cores in threads — the same numbers either way.

A network of xattrib's registry (``fit(arch="mlp")``, ``"cnn"``) is rebuilt by name with its
recorded keyword arguments; one made by a factory (``fit(arch=my_factory)``,
``Model.from_module(..., factory=)``, or a saved file loaded with its factory) by calling
that factory again — the user's own code, which they already named or approved. A module
that nothing can rebuild is refused with the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..architectures import ARCHITECTURES
from ..training import Ensemble, Model, fit
from ..training.factories import call_factory, import_factory
from ..training.wrapping import Wrapped

__all__ = ["surrogate_builder"]

#: the settings a surrogate is trained with unless the caller passes others: fit's recipe
#: for data of their own (early stopping on a held-out tenth), on the benchmark's stored
#: samples only — as many as the user had, never fresh draws
TRAINING = {"fresh": False, "progress": False}


def surrogate_builder(model: Model, factory: Any = None) -> Any:
    """``build(bench, seeds, **fit_kwargs) -> Ensemble`` for the user's architecture."""
    if model.arch in ("exact", "exact-space") or model.arch.startswith("exact"):
        raise ValueError("advise needs the network you explain, not Model.exact (the exact "
                         "response has no architecture to train surrogates of)")
    if model.spec is None:
        if model.arch == "module-instance":
            raise ValueError(_REFUSAL.format(what="a module trained in place (fit(arch="
                                                  "module_instance))"))
        arch: Any = factory if factory is not None else model.arch
        if not callable(arch) and model.arch not in ARCHITECTURES and ":" not in model.arch:
            raise ValueError(_REFUSAL.format(what=f"a network of architecture {model.arch!r}"))
        kwargs = dict(model.arch_kwargs)

        def build(bench: xr.Dataset, seeds: list[int], **fit_kwargs: Any) -> Ensemble:
            return fit(bench, arch=arch, seed=list(seeds),
                       **{**TRAINING, **kwargs, **fit_kwargs})

        return build
    spec = model.spec
    fn = factory if factory is not None else (
        import_factory(spec.factory) if spec.factory else None)
    if fn is None:
        raise ValueError(_REFUSAL.format(what="your own module without a factory"))

    def build_own(bench: xr.Dataset, seeds: list[int], **fit_kwargs: Any) -> Ensemble:
        """One fresh module per seed, in the user's layout (trained here, one by one: a
        module instance is not sent to a cluster)."""
        return Ensemble([one(bench, s, **fit_kwargs) for s in seeds], list(seeds))

    def one(bench: xr.Dataset, seed: int, **fit_kwargs: Any) -> Model:
        import torch

        torch.manual_seed(seed)  # a fresh initialisation per member, repeatable
        module, _ = call_factory(fn, dict(spec.factory_kwargs), None,
                                 f"the factory {spec.factory or fn!r}")
        d = model.cells.n_cells * len(model.variables)
        # the user's layout in front of the fresh module; fit standardises the inputs
        # itself, so the wrapper's own normalisation is the identity
        net = Wrapped(module, spec, model.cells.image_flat, model.cells.shape,
                      len(model.variables), np.zeros(d, np.float32), np.ones(d, np.float32),
                      0.0, 1.0, 0)
        return fit(bench, arch=net, seed=seed, **{**TRAINING, **fit_kwargs})

    return build_own


_REFUSAL = ("advise trains fresh networks of your architecture on benchmarks shaped like "
            "your data, and cannot rebuild {what}: pass factory= (a function that returns a "
            "fresh, untrained module, as Model.from_module(..., factory=, factory_kwargs=) "
            "takes it) to advise or to Model.from_module")
