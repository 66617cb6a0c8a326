"""``trim()``: attribution in a transformed space (TRIM, Singh et al. 2020).

For a transform T (Fourier bands, zonal wavenumbers, spherical-harmonic degrees, EOF
modes, wavelet levels or a user's own) the network is explained as a function of the
transformed features, f'(s) = f(T⁻¹(s) + r), where the residual r = x − T⁻¹(T(x)) is
computed **once from the original x** and held fixed (passed to the network as captum's
``additional_forward_args``), so f'(T(x)) = f(x) and perturbing s really perturbs the
input. (The authors' code recomputed r from the current s inside the forward pass, which
makes f' constant in s: occlusion, sampling and IG were wrong there.) Any registry method
that can pass the residual on runs on f' and its feature attributions are summed over
groups of features; occlusion, Shapley sampling and contextual decomposition remove or
score a whole group at once.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from ..covariances.dense import Covariance
from ..generation import generator_from_dataset, is_benchmark
from ..grid import CellIndex
from ..methods.base import METHOD_DIM, METHODS, Method
from ..registry import own_keyword_hint
from ..training.ensemble import Ensemble
from ..training.model import Model, resolve_device
from ..transforms import EOF, check_transform, feature_grouping, make_transform
from ..transforms.variables import PerVariable
from .engine import (
    _split_params,
    as_input_dataset,
    baseline_for,
    choose_methods,
    free_names,
    method_keyword,
    method_names,
    per_member,
    per_output,
    run_methods,
    sample_first,
    seeded_global_rngs,
    stacked_grid,
)
from .output import global_attrs, heat_attrs, method_coords, per_sample_vars, sample_coord

__all__ = ["TrimNetwork", "trim"]



class TrimNetwork(nn.Module):
    """f'(s, r) = f(T⁻¹(s) + r): the network as a function of transformed features.

    ``r`` is each sample's fixed residual. For contextual decomposition, ``cd_network`` is
    the network itself and ``cd_split(r)`` splits a masked s into the network's (β, γ)
    inputs: β = T⁻¹(mask ⊙ s), γ = T⁻¹(s) + r − β (the inverse is linear).
    """

    def __init__(self, net: nn.Module, transform: Any) -> None:
        super().__init__()
        self.net = net
        self.transform = transform

    def forward(self, s: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return self.net(self.transform.inverse(s) + r)

    @property
    def cd_network(self) -> nn.Module:
        return self.net

    def cd_split(self, r: torch.Tensor) -> Any:
        def split(ss: torch.Tensor, mask: torch.Tensor, reps: int, rows: slice
                  ) -> tuple[torch.Tensor, torch.Tensor]:
            beta = self.transform.inverse(ss * mask)
            x = self.transform.inverse(ss) + r[rows].repeat(reps, 1)
            return beta, x - beta
        return split


def _as_tensor_fn(transform: Any, dev: torch.device) -> Any:
    if isinstance(transform, nn.Module):
        transform.to(dev)
    return transform


def _trim_kernel(x: np.ndarray, base: np.ndarray | None, index: np.ndarray, model: Model,
                 transform: Any, method: str, params: dict[str, Any],
                 fixed: np.ndarray | None, background: np.ndarray | None, device: Any,
                 batch: int, group_index: np.ndarray, n_groups: int, features: bool,
                 seed: int = 0, want_prediction: bool = False, progress: bool = False,
                 output_index: int = 0, out: np.ndarray | None = None) -> np.ndarray:
    """Gridded numpy ``(n, C·ny·nx)`` → ``(n, G [+ p] + 2)``: group attributions, then
    (with ``features``) the feature attributions, the completeness error and the
    prediction. ``fixed``/``background``/``base`` are baselines over the valid cells."""
    from tqdm.auto import tqdm

    m = METHODS[method]
    flat = model.input_flat()
    net = model.network(device, private=True, output=output_index)
    dev = next(net.parameters()).device
    tr = _as_tensor_fn(transform, dev)
    tnet = TrimNetwork(net, tr).eval()
    gidx = torch.as_tensor(group_index, device=dev)
    p = int(group_index.size)
    run_params = {k: v for k, v in params.items() if k not in ("n_background", "patch")}
    if "patch" in m.defaults:  # occlusion, Shapley sampling, CD: whole groups at once
        run_params.update(patch=1, feature_mask=gidx[None])
    width = n_groups + (p if features else 0) + 2
    if out is None:
        out = np.empty((x.shape[0], width), np.float32)
    with torch.no_grad():
        s_fixed = None if fixed is None else tr.forward(
            torch.as_tensor(fixed, device=dev)[None].float())
        s_bg = None if background is None else tr.forward(
            torch.as_tensor(background, device=dev).float())
    if m.baseline == "distribution" and s_bg is None:
        s_bg = s_fixed
    for s0 in tqdm(range(0, x.shape[0], batch), desc=f"trim {method}", disable=not progress,
                   unit="batch", leave=False):
        rows = slice(s0, min(s0 + batch, x.shape[0]))
        xb = torch.from_numpy(np.take(x[rows], flat, axis=1).astype(np.float32)).to(dev)
        b = xb.shape[0]
        with torch.no_grad():
            s = tr.forward(xb)
            r = xb - tr.inverse(s)
            if base is not None:
                sb = tr.forward(torch.as_tensor(np.ascontiguousarray(base[rows], np.float32),
                                                device=dev))
            elif s_fixed is not None:
                sb = s_fixed.expand(b, -1)
            else:
                sb = None
        rngs = (seeded_global_rngs(seed, int(index[s0]), dev) if m.random
                else contextlib.nullcontext())
        with rngs:
            a = m.run(tnet, s.clone().requires_grad_(), sb if m.baseline == "single" else None,
                      s_bg, forward_args=(r,), **run_params).detach()
        res = torch.empty((b, width), dtype=torch.float32, device=dev)
        res[:, :n_groups] = torch.zeros(b, n_groups, device=dev, dtype=a.dtype).index_add_(
            1, gidx, a)
        if features:
            res[:, n_groups:n_groups + p] = a
        with torch.no_grad():
            if m.complete and m.baseline == "single":  # f(x) and f'(s_b) in one pass
                both = net(torch.cat([xb, tr.inverse(sb) + r])).squeeze(1)
                fx, fb = both[:b], both[b:]
            else:
                fx = net(xb).squeeze(1)
            if m.complete:
                if m.baseline == "distribution":
                    assert s_bg is not None
                    k = s_bg.shape[0]
                    fb = tnet(s_bg.repeat(b, 1), r.repeat_interleave(k, 0)).view(b, k).mean(1)
                res[:, -2] = a.sum(1) - (fx - fb)
            else:
                res[:, -2] = math.nan
            res[:, -1] = fx if want_prediction else math.nan
        out[rows] = res.cpu().numpy()
    return out


def trim(
    ds: xr.Dataset | xr.DataArray,
    model: Model | Ensemble,
    transform: Any = "fourier",
    methods: str | list[str] | tuple[str, ...] = "integrated_gradients",
    groups: Any = None,
    baseline: Any = "zero",
    x: str | None = None,
    features: bool = False,
    transform_kwargs: dict[str, Any] | None = None,
    batch_size: int | None = None,
    device: Any = None,
    progress: bool = True,
    seed: int = 0,
    prediction: bool = True,
    output: int | str | None = None,
    sample_dim: str | None = None,
    method: str | list[str] | tuple[str, ...] | None = None,
    **params: Any,
) -> xr.Dataset:
    """Attribute ``model``'s prediction to groups of transformed features (TRIM).

    Parameters
    ----------
    ds : Dataset or DataArray
        The samples to explain, as for :func:`xattrib.attribute` (numpy or dask; lazy
        stays lazy).
    model : Model
        A trained or wrapped :class:`xattrib.Model`. A model of several input variables
        is explained over each variable's own features: a transform given by name is built
        once per variable (EOFs: each variable's own) and the result holds
        ``attribution_<variable>`` over the same groups for each; a transform object is used
        as given, over every variable's cells in turn.
    transform : str or transform
        ``"fourier"``, ``"zonal"``, ``"sht"``, ``"eof"``, ``"wavelet"`` (built on the
        model's grid with ``transform_kwargs``; ``"eof"`` is, on a benchmark, the EOFs of
        its own covariance and otherwise fitted on ``ds``'s own input, which computes it),
        ``"benchmark"`` (the basis of a transformed-space benchmark
        ``ds``, so the result compares with its ``truth``) or an object with ``forward``, ``inverse`` and ``features``
        (:mod:`xattrib.transforms`).
    methods : str or list of str
        Registry names: gradient, smoothgrad, input_x_gradient, integrated_gradients,
        deeplift, deepshap, gradientshap, occlusion, shapley_sampling, cd. Occlusion and
        Shapley sampling remove whole groups at once; CD scores each group. LRP cannot run
        through the inverse transform.
    groups : None, "features" or DataArray
        How features are grouped: the transform's default (radial bands, degrees...),
        every feature alone, or a DataArray over the feature dimension labelling each
        feature's group (its name names the output dimension).
    baseline : as in :func:`xattrib.attribute`
        Given in grid space and transformed: ``"zero"`` → s = T(0) = 0. The reference
        input is then T⁻¹(s_b) + r: for a lossy transform the residual stays.
    features : bool
        Also return ``feature_attribution`` over the feature dimension (for group
        methods, each feature's equal share of its group).
    transform_kwargs : dict
        Options of a transform given by name (``band_width``, ``lmax``, ``n_modes``,
        ``level``...).
    sample_dim : str, optional
        The sample dimension of ``ds`` (found by itself when it is the only non-spatial one).
    method : str or list of str, optional
        The same as ``methods`` (an older name, kept working).
    **params
        Method parameters as in :func:`xattrib.attribute`.

    Returns
    -------
    Dataset
        ``attribution(xai_method, sample, <group>)`` with the group coordinate (e.g.
        ``wavenumber`` with ``wavelength``), ``completeness_error(xai_method, sample)`` =
        Σ attribution − (f'(s) − f'(s_b)) for complete methods, ``prediction(sample)``,
        optionally ``feature_attribution``; attributes name the transform and its
        parameters.

    Examples
    --------
    >>> import xattrib
    >>> bench = xattrib.benchmark(n_samples=2000, response="linear", chunks=1000)
    >>> model = xattrib.fit(bench, epochs=2, hidden=(16,), progress=False, fresh=False)
    >>> bands = xattrib.trim(bench.isel(sample=slice(0, 8)), model, transform="fourier",
    ...                      methods=["integrated_gradients", "cd"], progress=False)
    >>> bands["attribution"].dims
    ('xai_method', 'sample', 'wavenumber')
    >>> err = abs(bands["completeness_error"].sel(xai_method="integrated_gradients")).max()
    >>> bool(err < 1e-2 * abs(bands["prediction"]).max())
    True
    """
    free_names(ds, model, output, x)
    if isinstance(model, Ensemble):  # one result per member, along ``member``
        return per_member(model, lambda m, _: trim(
            ds, m, transform, methods, groups, baseline, x, features, transform_kwargs,
            batch_size, device, progress, seed, prediction, output, sample_dim, method,
            **params))[0]
    own_keyword_hint(trim, params, known=method_keyword)
    ds = as_input_dataset(ds, model, x)
    if method is not None:  # the older keyword
        if methods != "integrated_gradients" and methods != method:
            raise TypeError("give methods= (or its older name method=), not both")
        methods = method
    methods = method_names(methods)
    chosen = _transformable(methods, params)
    per_params = _split_params(chosen, params)
    if output is None and len(model.outputs) > 1:
        kw = dict(transform=transform, methods=methods, groups=groups, baseline=baseline, x=x,
                  features=features, transform_kwargs=transform_kwargs,
                  batch_size=batch_size, device=device, progress=progress, seed=seed,
                  prediction=prediction, sample_dim=sample_dim)
        return per_output(model.outputs, lambda o: trim(ds, model, output=o, **kw, **params))
    return _trim(ds, model, transform, chosen, per_params, groups, baseline, x, features,
                 transform_kwargs, batch_size, device, progress, seed, prediction,
                 model.output_index(output), sample_dim)


def _transformable(methods: list[str], params: dict[str, Any]) -> list[Method]:
    """The chosen methods, each able to run behind a transform, with no cell patches."""
    chosen = choose_methods(methods, "methods")
    bad = [mm.name for mm in chosen if not mm.transformable]
    if bad:
        raise ValueError(f"{bad} cannot run in a transformed space: LRP's rules live on the "
                         "network's layers and the inverse transform has none. Use "
                         "integrated_gradients, deeplift, occlusion or cd instead")
    given_patch = "patch" in params or any(
        isinstance(v, dict) and "patch" in v for k, v in params.items() if k in METHODS)
    if given_patch:
        raise TypeError("patch groups grid cells and does not apply in TRIM: features are "
                        "grouped with groups= (the transform's bands by default)")
    return chosen


def _trim(ds: xr.Dataset, model: Model, transform: Any, chosen: list[Method],
          per_params: dict[str, dict[str, Any]], groups: Any, baseline: Any, x: str | None,
          features: bool, transform_kwargs: dict[str, Any] | None, batch_size: int | None,
          device: Any, progress: bool, seed: int, prediction: bool, k: int,
          sample_dim: str | None) -> xr.Dataset:
    """:func:`trim` for one model and its output ``k``: transform, run, assemble."""
    names = model.input_names(x)
    arrays = [sample_first(a, sample_dim) for a in model.inputs(ds, x)]
    da = arrays[0]
    sample_dim = str(da.dims[0])
    cells = model.cells
    tr = _transforms(transform, cells, ds, arrays, names, dict(transform_kwargs or {}))
    check_transform(tr, cells.n_cells * len(names))
    per_var = isinstance(tr, PerVariable)
    gidx, labels, gcoords = feature_grouping(tr.one if per_var else tr, groups)
    n_sets = len(names) if per_var else 1  # each variable's groups in turn
    gidx = np.concatenate([gidx + i * labels.size for i in range(n_sets)])
    n_groups, p = int(labels.size) * n_sets, int(gidx.size)
    base = baseline_for(baseline, ds, model, chosen, per_params, seed, sample_dim)
    grid = stacked_grid(arrays)  # the variables' grids end to end
    packed = run_methods(_trim_kernel, grid, [model, tr], n_groups + (p if features else 0) + 2,
                         chosen, per_params, base, batch_size, progress,
                         device=resolve_device(device), group_index=gidx, n_groups=n_groups,
                         features=bool(features), seed=int(seed), output_index=k,
                         want_prediction=lambda i: i == 0)
    return _assemble(ds, da, model, tr, chosen, per_params, base.kind, labels, gcoords,
                     packed, n_groups, p, features, prediction,
                     names if per_var else None, model.output_units(k))


def _assemble(ds: xr.Dataset, da: xr.DataArray, model: Model, tr: Any, chosen: list[Method],
              per_params: dict[str, dict[str, Any]], baseline_kind: str,
              labels: xr.DataArray, gcoords: dict[str, xr.DataArray], packed: Any,
              n_groups: int, p: int, features: bool, prediction: bool,
              variables: list[str] | None = None, output_units: str | None = None
              ) -> xr.Dataset:
    """The result Dataset; ``variables`` (a :class:`PerVariable` transform): each input
    variable's groups and features under its own name, as ``attribute`` lays them out."""
    sample_dim = str(da.dims[0])
    gdim = str(labels.dims[0])
    one_tr = tr.one if variables else tr
    sets = variables or [str(da.name)]
    g, q = n_groups // len(sets), p // len(sets)  # groups and features of one variable
    data_vars: dict[str, xr.Variable] = {}
    coords: dict[str, Any] = {
        **method_coords(chosen),
        gdim: xr.Variable(gdim, labels.values, dict(labels.attrs)),
        **{name: c.variable for name, c in gcoords.items()},
        **sample_coord(da, sample_dim),
    }
    for i, v in enumerate(sets):
        suffix = f"_{v}" if variables else ""
        attrs = heat_attrs(ds, v, model, chosen, per_params, baseline_kind,
                           f"attribution of the network prediction to groups of {tr_name(tr)} "
                           f"features ({gdim})" + (f" of {v}" if variables else ""),
                           skip_params=("patch",), output_units=output_units)
        if variables:
            attrs["input_variable"] = v
        data_vars[f"attribution{suffix}"] = xr.Variable(
            (METHOD_DIM, sample_dim, gdim), packed[..., i * g:(i + 1) * g], attrs)
        if features:
            f = one_tr.features
            fdim = f.dims[0]
            data_vars[f"feature_attribution{suffix}"] = xr.Variable(
                (METHOD_DIM, sample_dim, fdim), packed[..., n_groups + i * q:n_groups + (i + 1) * q],
                {**attrs, "long_name": f"attribution to each {tr_name(tr)} feature (group "
                                       "methods: an equal share of the feature's group)"})
            coords[fdim] = f.variable
    if features:  # the features' coordinates: shared, or each variable's own (EOF variances)
        each = [t.features for t in (tr.parts if variables else [tr])]
        fdim = each[0].dims[0]
        for c in each[0].coords:
            if c == fdim:
                continue
            if all(e[c].equals(each[0][c]) for e in each[1:]):
                coords[c] = each[0][c].variable
            else:
                coords.update({f"{c}_{v}": e[c].variable
                               for v, e in zip(sets, each, strict=True)})
    data_vars.update(per_sample_vars(
        ds, sample_dim, packed[..., -2], packed[0, :, -1].astype(np.float64)
        if prediction else None, "sum of attributions (over every input variable) minus "
        "(f'(s) - f'(s_baseline))" if variables else
        "sum of attributions minus (f'(s) - f'(s_baseline))", output_units))
    describe = getattr(tr, "describe", None)
    tattrs = describe() if callable(describe) else {"xattrib_transform": tr_name(tr)}
    if variables:
        tattrs["xattrib_input_variables"] = " ".join(variables)
    return xr.Dataset(data_vars, coords=coords, attrs=global_attrs(
        ds, model, baseline_kind, "xattrib TRIM attributions", **tattrs,
        xattrib_residual="r = x - T^-1(T(x)), fixed per sample"))


def _transforms(transform: Any, cells: CellIndex, ds: xr.Dataset, arrays: list[xr.DataArray],
                names: list[str], kwargs: dict[str, Any]) -> Any:
    """The transform over every input: a model of one variable as :func:`_transform`; of
    several, a transform object as given (the user's own, over every variable's cells in
    turn) or, by name, one transform per variable (:class:`PerVariable`; EOFs fitted on
    each variable's own data)."""
    if len(arrays) == 1:
        return _transform(transform, cells, ds, arrays[0], kwargs)
    if not isinstance(transform, str):  # the user's own, as given (no kwargs: it says so)
        return make_transform(transform, cells, **kwargs)
    if transform == "benchmark":
        raise ValueError(f"the model reads {len(names)} variables {names}; a transformed-space "
                         "benchmark's basis is over one variable. Name a transform (fourier, "
                         "zonal, sht, eof, wavelet: one per variable) or pass your own over "
                         f"all inputs (forward/inverse on (batch, {cells.n_cells * len(names)}))")
    if transform == "eof" and is_benchmark(ds):
        blocks = _benchmark_eofs(ds, cells, len(names), kwargs)
        if blocks is not None:
            return PerVariable(blocks, names)
    return PerVariable([make_transform(transform, cells, data=a, **dict(kwargs))
                        for a in arrays], names)


def _benchmark_eofs(ds: xr.Dataset, cells: CellIndex, n_vars: int, kwargs: dict[str, Any]
                    ) -> list[EOF] | None:
    """Each variable's EOFs of a several-variable benchmark: those of its own block of the
    joint covariance, when Σ is held as a matrix (None otherwise: fitted on the data)."""
    cov = generator_from_dataset(ds).covariance
    d = cells.n_cells
    if not isinstance(cov, Covariance) or cov.matrix.shape != (n_vars * d, n_vars * d) \
            or not np.array_equal(cov.cells.flat, cells.flat):
        return None
    n_modes = _benchmark_modes(kwargs)
    return [EOF.from_covariance(cov.matrix[i * d:(i + 1) * d, i * d:(i + 1) * d], cells,
                                n_modes=n_modes) for i in range(n_vars)]


def _benchmark_modes(kwargs: dict[str, Any]) -> int:
    """``n_modes`` of the EOFs of a benchmark's covariance, the one option they take."""
    n_modes = int(kwargs.pop("n_modes", 10))
    if kwargs:
        raise ValueError(f"transform_kwargs {sorted(kwargs)} do not apply to the EOFs of a "
                         "benchmark's covariance (only n_modes)")
    return n_modes


def _transform(transform: Any, cells: CellIndex, ds: xr.Dataset, da: xr.DataArray,
               kwargs: dict[str, Any]) -> Any:
    """The transform to explain over. On a benchmark, ``"eof"`` is the EOFs of its own
    covariance (exact, and independent of the samples explained); elsewhere EOFs are fitted
    on the data given, and the benchmark's basis needs the benchmark."""
    if transform == "eof" and is_benchmark(ds):
        cov = generator_from_dataset(ds).covariance
        if np.array_equal(cov.cells.flat, cells.flat) and cov.cells.shape == cells.shape:
            return EOF.from_covariance(cov, cells, n_modes=_benchmark_modes(kwargs))
    return make_transform(transform, cells, data=ds if transform == "benchmark" else da,
                          **kwargs)


def tr_name(tr: Any) -> str:
    return str(getattr(tr, "name", type(tr).__name__))
