"""Bad inputs and what the user sees: one case per row of docs/errors.md.

Each case runs a mistake and checks the error type and message. ``docs/errors.md`` is
written from this list (``.venv/bin/python tests/test_errors.py``), and a test checks that
it is up to date, so every row of the table is a test.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xattrib

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"


def _sst():
    return xattrib.datasets.pacific_sst()


def _bench():
    return xattrib.benchmark(n_samples=60, chunks=60, seed=0)


def _lagged_bench():
    return xattrib.benchmark(xattrib.datasets.lagged(_sst()), n_samples=10, chunks=10, seed=0,
                             response="linear")


_MODEL = {}


def _model():
    if "m" not in _MODEL:
        _MODEL["m"] = xattrib.fit(_bench(), epochs=1, hidden=(4,), progress=False, fresh=False)
    return _MODEL["m"]


def _heat():
    if "h" not in _MODEL:
        _MODEL["h"] = xattrib.attribute(_bench(), _model(), methods="gradient",
                                        progress=False).compute()
    return _MODEL["h"]


def _job(**kw):
    from xattrib.job.run import JobConfig

    JobConfig(**kw).validate()


def _two_grids():
    coarse = _sst().coarsen(lat=2, lon=2, boundary="trim").mean().rename(
        "slp", lat="lat_c", lon="lon_c").fillna(0.0)
    coarse["lat_c"].attrs = {"standard_name": "latitude", "units": "degrees_north"}
    coarse["lon_c"].attrs = {"standard_name": "longitude", "units": "degrees_east"}
    return xr.Dataset({"sst": _sst(), "slp": coarse})


def _sst_file():
    import tempfile

    path = Path(tempfile.mkdtemp()) / "sst.nc"
    _sst().to_netcdf(path)
    return path


def _global():
    return xattrib.grid.make_grid(resolution=20.0, mask="ocean")


def _gaps():
    sst = _sst()
    hole = (sst.time == sst.time[3]) & (sst.lat == sst.lat[9]) & (sst.lon == sst.lon[0])
    return sst.where(~hole)


def _with(value, time=2, lat=5, lon=5):
    sst = _sst().copy()
    sst[time, lat, lon] = value
    return sst


def _constant_cell():
    sst = _sst().copy()
    sst[:, 5, 5] = 0.0
    return sst


def _all_land():
    g = _global()
    return g.assign(mask=g["mask"] & False)


class ExitStatus(Exception):
    """What the command line did: its exit status and the last line on stderr."""


def _cli(*argv):
    import contextlib
    import io

    from xattrib.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as exit_:  # argparse's own errors
            rc = exit_.code
    lines = err.getvalue().strip().splitlines()
    raise ExitStatus(f"exit {rc}: {lines[-1] if lines else ''}")


_TMP = {}


def _tmp():
    import tempfile

    if "d" not in _TMP:
        _TMP["d"] = Path(tempfile.mkdtemp(prefix="xattrib-errors-"))
    return _TMP["d"]


def _nonempty_out():
    out = _tmp() / "old-run"
    out.mkdir(exist_ok=True)
    (out / "report.md").write_text("an earlier run")
    return str(out)


def _foreign_file():
    path = _tmp() / "foreign.nc"
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(path)
    return path


def _config(text):
    p = _tmp() / "job.toml"
    p.write_text(text)
    return str(p)


def _linear_file(name="linear.nc", **spec):
    """A wrapped torch.nn.Linear saved with its factory, the spec optionally tampered."""
    import json

    import torch

    path = _tmp() / name
    net = torch.nn.Linear(450, 1)
    m = xattrib.Model.from_module(net, like=_sst(), factory=torch.nn.Linear,
                                  factory_kwargs={"in_features": 450, "out_features": 1})
    m.save(path)
    if spec:
        with xr.open_dataset(path) as ds:
            ds = ds.load()
        ds.attrs["xattrib_module_spec"] = json.dumps(
            {**json.loads(ds.attrs["xattrib_module_spec"]), **spec})
        path = _tmp() / f"tampered-{name}"
        ds.to_netcdf(path)
    return path


def _text_file():
    path = _tmp() / "notes.nc"
    path.write_text("not a netCDF file")
    return path


def _make_linear(n_inputs):
    import torch

    return torch.nn.Linear(n_inputs, 1)


def _wrapped_with(**kw):
    import torch

    kw.setdefault("factory", torch.nn.Linear)
    kw.setdefault("factory_kwargs", {"in_features": 450, "out_features": 1})
    return xattrib.Model.from_module(torch.nn.Linear(450, 1), like=_sst(), **kw)


def _load_linear(factory=None, **spec):
    import torch

    return xattrib.Model.load(_linear_file(**spec), factory=factory or torch.nn.Linear)


def _tampered_bench():
    path = _tmp() / "bench.nc"
    b = _bench()
    b.attrs["xattrib_response_family"] = "os:system"
    b.to_netcdf(path)
    with xr.open_dataset(path) as ds:
        return xattrib.generator_from_dataset(ds)


# (area, bad input, call, exception, message pattern)
CASES = [
    ("coordinates", "no latitude/longitude coordinate",
     lambda: xattrib.benchmark(xr.DataArray(np.zeros((5, 3, 4)), dims=("t", "a", "b"))),
     ValueError, r"could not find a latitude coordinate.*standard_name='latitude'"),
    ("coordinates", "extra dims (a member axis) given to attribute",
     lambda: xattrib.attribute(_bench().expand_dims(member=2), _model(), "gradient",
                               progress=False),
     ValueError, r"one sample dimension besides.*\('member', 'sample'.*Stack or select"),
    ("values", "NaN in some samples of a cell but not in others",
     lambda: xattrib.benchmark(_gaps()),
     ValueError, r"1 grid cells of sst are NaN in some samples but not in others"),
    ("values", "an infinite value",
     lambda: xattrib.benchmark(_with(np.inf)),
     ValueError, r"1 values of sst are infinite \(the first at time=.*lat=2.5, lon=142.5\); "
                 r"replace them"),
    ("values", "a cell constant in every sample (zero variance)",
     lambda: xattrib.benchmark(_constant_cell()),
     ValueError, r"1 cells are constant along 'time'; mask them"),
    ("values", "too few samples to estimate a covariance",
     lambda: xattrib.benchmark(_sst().isel(time=slice(0, 2))),
     ValueError, r"need at least 3 samples along 'time' to estimate a covariance, got 2"),
    ("values", "a one-sample source",
     lambda: xattrib.benchmark(_sst().isel(time=[0])),
     ValueError, r"need at least 3 samples along 'time' to estimate a covariance, got 1; a "
                 r"covariance needs many maps"),
    ("coordinates", "a source with an extra dimension larger than one (ensemble members)",
     lambda: xattrib.benchmark(_sst().expand_dims(member=2), sample_dim="time"),
     ValueError, r"has dimensions besides 'time' and lat/lon: member \(2\); select one value "
                 r"of each, e.g. .isel\(member=0\)"),
    ("grids", "a dense covariance on a grid too large for memory",
     lambda: xattrib.covariances.parametric(
         xattrib.grid.make_grid(resolution=0.25, mask=None), method="dense"),
     MemoryError, r"a dense covariance over 1,036,800 cells needs about .* GiB .*use "
                  r"method='spectral'"),
    ("grids", "the spectral sampler on irregular longitudes",
     lambda: xattrib.covariances.parametric(_global().isel(lon=[0, 1, 2, 5, 9]),
                                            method="spectral"),
     ValueError, r"needs longitudes on a regular lattice whose spacing divides 360°"),
    ("parameters", "the job given one variable twice",
     lambda: _job(data="anomalies.nc", var=["sst", "sst"]),
     ValueError, r"var repeats a variable: \['sst', 'sst'\]; name each once"),
    ("grids", "advise: the model and the data on different grids",
     lambda: xattrib.advise(_model(), _sst().isel(lat=slice(2, None)), progress=False),
     ValueError, r"data\['x'\] \(model and data on different grids\) is not on the expected "
                 r"grid: lat has 16 points, expected 18"),
    ("parameters", "advise: a target of the wrong length",
     lambda: xattrib.advise(_model(), _sst(), target=xr.DataArray(np.zeros(7), dims="time"),
                            progress=False),
     ValueError, r"target must have one value per sample of data: dims \('time',\) of length "
                 r"50; got dims \('time',\) of shape \(7,\)"),
    ("parameters", "advise: too few samples for the rule",
     lambda: xattrib.advise(_model(), _sst().isel(time=slice(0, 30)), progress=False),
     ValueError, r"data has 30 samples; advise needs at least 50"),
    ("models", "advise: a module of your own without a factory",
     lambda: xattrib.advise(xattrib.Model.from_module(
         __import__("torch").nn.Linear(450, 1), like=_sst()), _sst(), progress=False),
     ValueError, r"cannot rebuild your own module without a factory: pass factory="),
    ("grids", "several variables on different grids",
     lambda: xattrib.covariances.from_data(_two_grids()),
     ValueError, r"variable 'slp' is not on the expected grid: lat_c has 9 points, expected "
                 r"18"),
    ("values", "NaN in some samples of one of several variables",
     lambda: xattrib.benchmark(xr.Dataset({"sst": _sst(), "slp": _sst().where(
         _sst().time != _sst().time[4]).rename("slp")})),
     ValueError, r"grid cells of slp are NaN in some samples but not in others"),
    ("values", "several variables whose masks do not overlap",
     lambda: xattrib.covariances.from_data(xr.Dataset({"sst": _sst(), "slp": (
         _sst().isnull() * 1.0 + _sst().time.dt.year * 0.01).where(_sst().isnull())})),
     ValueError, r"no cell is valid in every one of \['sst', 'slp'\]"),
    ("parameters", "a cross-correlation that is not a correlation matrix",
     lambda: xattrib.benchmark(_global(), n_samples=10, variables=["a", "b"],
                               covariance={"cross_correlation": [[1, 1.2], [1.2, 1]]}),
     ValueError, r"cross_correlation must be a correlation matrix"),
    ("parameters", "an input variable named like the benchmark's own",
     lambda: xattrib.benchmark(xr.Dataset({"y": _sst(), "slp": _sst().rename("slp")}),
                               n_samples=10),
     ValueError, r"the input variable 'y' would collide with the benchmark's own variables"),
    ("methods", "TRIM over a transformed-space benchmark's basis with several variables",
     lambda: xattrib.trim(_lagged_bench(), xattrib.Model.exact(_lagged_bench()),
                          transform="benchmark", progress=False),
     ValueError, r"a transformed-space benchmark's basis is over one variable"),
    ("methods", "an interacting response on several variables",
     lambda: xattrib.benchmark(xattrib.datasets.lagged(_sst()), n_samples=10,
                               response="pairs"),
     ValueError, r"draws its interacting regions on one field; with several variables"),
    ("parameters", "the job given a data file and a parametric grid",
     lambda: _job(data="anomalies.nc", grid="global"),
     ValueError, r"data and grid exclude each other"),
    ("files", "a data file without the variable asked for",
     lambda: xattrib.datasets.open_field(_sst_file(), "tos"),
     ValueError, r"has no variable 'tos'; its variables: sst"),
    ("values", "a region that is all land",
     lambda: xattrib.benchmark(_all_land()),
     ValueError, r"the grid has no valid cells"),
    ("values", "float16 benchmark",
     lambda: xattrib.benchmark(n_samples=10, chunks=10, dtype="float16"),
     ValueError, r"dtype must be one of \('float32', 'float64'\)"),
    ("parameters", "unknown method name (a typo)",
     lambda: xattrib.attribute(_bench(), _model(), "integrated_gradient", progress=False),
     ValueError, r"unknown attribution method .*Did you mean 'integrated_gradients'"),
    ("parameters", "unknown metric name",
     lambda: xattrib.score(_bench()["truth"], _bench()["truth"], metrics=["pearsn"]),
     ValueError, r"unknown metric.*Did you mean 'pearson'.*Valid metrics"),
    ("parameters", "a GT-free metric given to score",
     lambda: xattrib.score(_bench()["truth"], _bench()["truth"], metrics=["sparseness"]),
     ValueError, r"'sparseness' is a GT-free metric .*xattrib\.evaluate\(heat, model, ds, "
                 r"metrics=\.\.\.\) computes it"),
    ("parameters", "unknown response family",
     lambda: xattrib.benchmark(n_samples=10, chunks=10, response="pwll"),
     ValueError, r"unknown response 'pwll'; Did you mean 'pwl'"),
    ("parameters", "unknown transform",
     lambda: xattrib.trim(_bench(), _model(), transform="fourrier", progress=False),
     ValueError, r"unknown transform 'fourrier'; Did you mean 'fourier'"),
    ("parameters", "unknown method parameter",
     lambda: xattrib.attribute(_bench(), _model(), "gradient", n_stepz=3, progress=False),
     TypeError, r"no chosen method has a parameter 'n_stepz'"),
    ("parameters", "zero integration steps",
     lambda: xattrib.attribute(_bench(), _model(), "integrated_gradients", n_steps=0,
                               progress=False),
     ValueError, r"integrated_gradients parameter n_steps must be a whole number of at "
                 r"least 1, got 0"),
    ("parameters", "no samples",
     lambda: xattrib.benchmark(n_samples=0), ValueError, r"n_samples must be at least 1"),
    ("parameters", "zero chunk size",
     lambda: xattrib.benchmark(n_samples=10, chunks=0), ValueError,
     r"chunks must be a positive number of samples"),
    ("parameters", "K < 1 breakpoints",
     lambda: xattrib.benchmark(n_samples=10, chunks=10, n_breakpoints=0), ValueError,
     r"n_breakpoints must be at least 1"),
    ("parameters", "non-positive covariance length scale",
     lambda: xattrib.benchmark(_global(), n_samples=10, chunks=10,
                               covariance={"length_scale_km": -1}),
     ValueError, r"length_scale_km must be positive"),
    ("parameters", "val_fraction outside [0, 1)",
     lambda: xattrib.fit(_bench(), val_fraction=1.5, epochs=1, progress=False, fresh=False),
     ValueError, r"val_fraction must be in \[0, 1\)"),
    ("parameters", "zero epochs",
     lambda: xattrib.fit(_bench(), epochs=0, progress=False, fresh=False), ValueError,
     r"epochs must be a positive integer"),
    ("parameters", "a baseline name that does not exist",
     lambda: xattrib.benchmark(n_samples=10, chunks=10, baseline="mean0"), ValueError,
     r"baseline must be one of \('zero', 'expectation'\)"),
    ("grids", "a model applied to data on another grid",
     lambda: xattrib.attribute(xattrib.benchmark(_global(), n_samples=5, chunks=5), _model(),
                               "gradient", progress=False),
     ValueError, r"variable 'x' is not on the expected grid: lat has 9 points, expected 18.*Regrid"),
    ("grids", "a truth on another grid than the heatmaps",
     lambda: xattrib.score(
         xattrib.attribute(_bench().isel(sample=slice(0, 3)), _model(), "gradient",
                           progress=False),
         xattrib.benchmark(_global(), n_samples=3, chunks=3)["truth"]),
     ValueError, r"truth is not on the expected grid"),
    ("grids", "spherical harmonics on a regional grid",
     lambda: xattrib.trim(_bench(), _model(), transform="sht", progress=False),
     ValueError, r"the grid is 18 × 30 cells.*'sht' needs a global regular grid.*"
                 r"Transforms that fit this grid: fourier, eof, wavelet"),
    ("grids", "a wavelet level too deep for the grid",
     lambda: xattrib.trim(_bench(), _model(), transform="wavelet",
                          transform_kwargs={"wavelet": "db2", "level": 5}, progress=False),
     ValueError, r"wavelet level 5 does not fit.*at most level 2"),
    ("methods", "LRP in a transformed space",
     lambda: xattrib.trim(_bench(), _model(), method="lrp_epsilon", progress=False),
     ValueError, r"cannot run in a transformed space: LRP's rules live on the network's "
                 r"layers"),
    ("methods", "a one-baseline method with a background baseline",
     lambda: xattrib.attribute(_bench(), _model(), "integrated_gradients",
                               baseline="expectation", progress=False),
     ValueError, r"compares with one baseline input.*background distribution"),
    ("grids", "a baseline field on another grid",
     lambda: xattrib.benchmark(_sst(), n_samples=10,
                               baseline=xr.zeros_like(_global()["mask"], float)),
     ValueError, r"baseline: the data is not on the expected grid: lat has 9 points, "
                 r"expected 18.*Regrid it"),
    ("grids", "a truth for other samples than the heatmaps",
     lambda: xattrib.score(
         xattrib.attribute(_bench(), _model(), "gradient", progress=False),
         _bench()["truth"].isel(sample=slice(0, 5))),
     ValueError, r"truth and heatmaps cover different 'sample': heatmaps 60, 0 … 59, truth 5, "
                 r"0 … 4. Select the same ones"),
    ("command line", "a non-empty --out folder",
     lambda: _cli("benchmark", "--out", _nonempty_out()),
     ExitStatus, r"exit 2: xattrib: out folder .* is not empty; choose another folder or "
                 r"pass --overwrite"),
    ("command line", "an unknown flag",
     lambda: _cli("benchmark", "--out", str(_tmp() / "new"), "--smaples", "10"),
     ExitStatus, r"exit 2: .*unrecognized arguments: --smaples 10"),
    ("command line", "a --config file that does not exist",
     lambda: _cli("benchmark", "--out", str(_tmp() / "new"), "--config", "nope.toml"),
     ExitStatus, r"exit 2: xattrib: cannot read --config 'nope.toml': No such file"),
    ("command line", "a --config file that is not TOML",
     lambda: _cli("benchmark", "--out", str(_tmp() / "new"), "--config", _config("samples=")),
     ExitStatus, r"exit 2: xattrib: --config '.*job.toml' is not valid TOML"),
    ("command line", "a misspelt key in the --config file",
     lambda: _cli("benchmark", "--out", str(_tmp() / "new"), "--config",
                  _config("sampels = 100\n")),
     ExitStatus, r"exit 2: xattrib: unknown key\(s\) \['sampels'\].* Did you mean 'samples'\?"),
    ("command line", "a value of the wrong type in the --config file",
     lambda: _cli("benchmark", "--out", str(_tmp() / "new"), "--config",
                  _config('samples = "many"\n')),
     ExitStatus, r"exit 2: xattrib: samples must be a whole number, got 'many'"),
    ("values", "a numpy array given to benchmark",
     lambda: xattrib.benchmark(np.zeros((5, 3, 4)), n_samples=4), TypeError,
     r"source must be a Dataset or DataArray with latitude and longitude coordinates, got "
     r"numpy.ndarray; wrap an array first, e.g. xr.DataArray\(arr, dims="),
    ("values", "a numpy array given to attribute",
     lambda: xattrib.attribute(np.zeros((5, 3, 4)), _model()), TypeError,
     r"ds must be a Dataset \(or a DataArray of the model's input\) with latitude and "
     r"longitude coordinates, got numpy.ndarray"),
    ("values", "numpy arrays given to score",
     lambda: xattrib.score(np.zeros((5, 3, 4)), np.zeros((5, 3, 4))), TypeError,
     r"attribution must be heatmaps .* got numpy.ndarray; wrap an array first"),
    ("values", "a numpy array as a model's like=",
     lambda: xattrib.Model.from_module(__import__("torch").nn.Linear(3, 1), like=np.zeros(3)),
     TypeError, r"like must be a Dataset or DataArray with latitude and longitude"),
    ("parameters", "a misspelt keyword of benchmark",
     lambda: xattrib.benchmark(n_samples=4, nosie_snr=2), TypeError,
     r"benchmark\(\) got unexpected parameters \['nosie_snr'\]; Did you mean 'noise_snr'\?"),
    ("values", "the model and the data swapped in attribute",
     lambda: xattrib.attribute(_model(), _bench()), TypeError,
     r"the data come first and the model second, e\.g\. xattrib\.attribute\(ds, model"),
    ("values", "a Dataset without 'truth' given as score's truth",
     lambda: xattrib.score(_bench()["truth"], _bench()[["x", "y"]]), ValueError,
     r"truth is a Dataset without a 'truth' variable .* truth=ds\['name'\]"),
    ("parameters", "EOFs fitted on fewer samples than modes (explaining a few real samples)",
     lambda: xattrib.trim(_sst().isel(time=slice(0, 3)).rename("x"), xattrib.Model.exact(
         _sst().xattrib.benchmark(n_samples=10)), transform="eof", progress=False),
     ValueError, r"n_modes must be between 1 and min\(samples, cells\) = 3.* "
     r"transform=xattrib\.transforms\.EOF\.fit\(train_x, n_modes=\.\.\.\)"),
    ("methods", "an unknown GT-free metric",
     lambda: xattrib.evaluate(_heat(), _model(), _bench(), metrics=["faithfulness_corelation"]),
     ValueError, r"unknown metric 'faithfulness_corelation'; Did you mean "
                 r"'faithfulness_correlation'\?"),
    ("methods", "a truth metric given to evaluate",
     lambda: xattrib.evaluate(_heat(), _model(), _bench(), metrics=["pearson"]),
     ValueError, r"'pearson' is a truth metric .*xattrib\.score\(heat, truth, metrics=\.\.\.\)"),
    ("methods", "a metric that re-runs the method, on hand-made maps",
     lambda: xattrib.evaluate(_bench()["truth"].expand_dims(xai_method=["mine"]), _model(),
                              _bench(), metrics=["avg_sensitivity"]),
     ValueError, r"\['avg_sensitivity'\] re-run the attribution method, but none of the "
                 r"maps \['mine'\] was made by a registered method"),
    ("parameters", "a faithfulness subset larger than the valid cells",
     lambda: xattrib.evaluate(_heat(), _model(), _bench(), metrics="faithfulness_correlation",
                              faithfulness_correlation={"subset": 5000}),
     ValueError, r"faithfulness_correlation subset must give between 1 and the 450 valid "
                 r"cells"),
    ("grids", "GT-free metrics with a model on another grid",
     lambda: xattrib.evaluate(_heat(), xattrib.Model.exact(_global().xattrib.benchmark(
         n_samples=4)), _bench(), metrics="sparseness"),
     ValueError, r"is not on the expected grid: lat has 18 points, expected 9"),
    ("grids", "longitudes in another convention (−180…180 against 0…360)",
     lambda: _model().predict(_bench().assign_coords(
         lon=(_bench().lon + 180) % 360 - 180).sortby("lon")), ValueError,
     r"lon differs at 30 of 30 points \(the first at index 0: -177.5, expected 117.5\). "
     r"The same longitudes in another convention: convert to 0…360, e.g. "
     r"da.assign_coords\(lon=da.lon % 360\).sortby\('lon'\) \(no regridding needed\)"),
    ("grids", "latitudes in the opposite order",
     lambda: _model().predict(_bench().isel(lat=slice(None, None, -1))), ValueError,
     r"The same lat in the opposite order: da.sortby\('lat', ascending=True\)"),
    ("files", "a netCDF file written by another tool, loaded as a model",
     lambda: xattrib.Model.load(_foreign_file()),
     ValueError, r"foreign.nc is not an xattrib model file \(no xattrib_arch attribute\)"),
    ("files", "a model file naming code (its factory) loaded without factory= or trusted=",
     lambda: xattrib.Model.load(_linear_file()), ValueError,
     r"asks to rebuild its network with 'torch.nn.modules.linear:Linear'; loading a file "
     r"never imports or calls code it names.* factory=Linear.*trusted="),
    ("files", "factory= a function of another name than the file's",
     lambda: _load_linear(factory=xattrib.Model), ValueError,
     r"was saved with the factory 'torch.nn.modules.linear:Linear' but factory= is .* "
     r"approve it explicitly: factory=\{"),
    ("files", "a model file whose factory keyword arguments are not plain data",
     lambda: _load_linear(factory_kwargs={"in_features": {"a": 1}}), ValueError,
     r"factory_kwargs .*\['in_features'\] is dict .* must be plain data"),
    ("files", "a model file whose keyword arguments the factory does not take",
     lambda: _load_linear(factory_kwargs={"in_features": 450, "depth": 2}), ValueError,
     r"do not fit the signature Linear"),
    ("files", "an approved factory that returns no torch module",
     lambda: _load_linear(factory={"torch.nn.modules.linear:Linear": lambda **kw: 42}),
     ValueError, r"returned int, not a torch.nn.Module; nothing was loaded"),
    ("files", "an approved factory whose network does not match the file",
     lambda: _load_linear(factory_kwargs={"in_features": 450, "out_features": 2}), ValueError,
     r"parameter 'weight' has shape \(2, 450\); the file stores \(1, 450\)"),
    ("parameters", "an expectation baseline for a response with interactions",
     lambda: xattrib.benchmark(n_samples=10, response="pairs", baseline="expectation"),
     ValueError, r"has interactions, whose exact attributions are relative to a baseline "
                 r"input: use 'zero', a number"),
    ("parameters", "a gate region too large for exact Shapley values",
     lambda: xattrib.benchmark(n_samples=10, response="gating", gate_cells=20), ValueError,
     r"gate_cells must be 1 to 12 \(the exact Shapley values enumerate the gate region's "
     r"subsets\), got 20"),
    ("parameters", "a share of the variance in the interaction outside (0, 1]",
     lambda: xattrib.benchmark(n_samples=10, response="pairs", interaction_share=0),
     ValueError, r"interaction_share must be in \(0, 1\], got 0"),
    ("values", "a regions map with labels other than 1 and 2",
     lambda: xattrib.benchmark(n_samples=10, response="pairs", regions=_sst().isel(
         time=0).notnull() * 3), ValueError,
     r"regions must hold 1 \(first region\), 2 \(second\) and 0 or NaN elsewhere"),
    ("grids", "an interacting response in a transformed space",
     lambda: xattrib.benchmark(n_samples=10, response="gating", space="eof"), ValueError,
     r"response 'gating' has interactions between grid cells; it acts on the grid"),
    ("parameters", "an ensemble of one seed",
     lambda: xattrib.fit(_bench(), seed=[0], epochs=1, hidden=(4,), progress=False),
     ValueError, r"an ensemble needs at least two seeds, got \[0\]; for one network pass "
                 r"seed=<int>"),
    ("grids", "ensemble members on different grids",
     lambda: xattrib.Ensemble([_model(), xattrib.fit(
         xattrib.grid.make_grid(resolution=30.0, mask="ocean").xattrib.benchmark(
             n_samples=60, chunks=60), epochs=1, hidden=(4,), progress=False, fresh=False)],
         [0, 1]), ValueError,
     r"member 1 does not match member 0: another grid or other valid cells"),
    ("values", "a group label map with NaN on valid cells",
     lambda: xattrib.attribute(_bench(), _model(), methods="gradient", progress=False,
                               groups=xattrib.grid.patches(_bench(), size=2).where(
                                   lambda p: p != 0)), ValueError,
     r"groups is NaN on \d+ valid cells: give every valid cell a group"),
    ("parameters", "a correlation strength outside [0, 1]",
     lambda: xattrib.benchmark(n_samples=10, covariance={"strength": 1.5}), ValueError,
     r"strength must be from 0 \(the source's own correlation\) to 1"),
    ("methods", "the own attribution of a network that is not additive",
     lambda: _model().own_attribution(_bench()), ValueError,
     r"has no exact attribution of its own; train one with fit\(arch='additive'\)"),
    ("files", "a benchmark file naming an unknown response family",
     _tampered_bench, ValueError, r"names the response family 'os:system', which is none of"),
    ("command line", "--data with a variable the file lacks",
     lambda: _cli("benchmark", "--out", str(_tmp() / "no-var"), "--data", str(_sst_file()),
                  "--var", "sts"), ExitStatus,
     r"exit 2: xattrib: .*sst.nc' has no variable 'sts'; Did you mean 'sst'\? its variables"),
    ("command line", "audit --data naming a file that does not exist",
     lambda: _cli("audit", "--out", str(_tmp() / "no-file"), "--data", "nowhere.nc"),
     ExitStatus, r"exit 2: xattrib: data file 'nowhere.nc' does not exist"),
    ("command line", "audit --model-file of a network built by a factory not approved",
     lambda: _cli("audit", "--out", str(_tmp() / "untrusted"), "--model-file",
                  str(_linear_file()), "--models", "trained", "--samples", "40",
                  "--audit-samples", "4", "--seeds", "1", "--quiet"), ExitStatus,
     r"exit 2: xattrib: the model file .* asks to rebuild its network with "
     r"'torch.nn.modules.linear:Linear'.*trusted=.*\(nothing was written to "),
    ("files", "trusted=True instead of the names of trusted factories",
     lambda: xattrib.Model.load(_linear_file(), trusted=True), TypeError,
     r"trusted must name the factories you trust, as strings .* got True"),
    ("parameters", "an integration rule of IG given as method=",
     lambda: xattrib.attribute(_bench(), _model(), method="riemann_trapezoid",
                               progress=False), ValueError,
     r"'riemann_trapezoid' is an integration rule of integrated_gradients, not a method.*"
     r"integrated_gradients=\{'method': 'riemann_trapezoid'\}"),
    ("parameters", "methods given as a dict (Python would iterate its keys)",
     lambda: xattrib.attribute(_bench(), _model(), methods={"gradient": {}},
                               progress=False), TypeError,
     r"methods must be a method name or a list of names"),
    ("parameters", "a misspelt keyword of evaluate",
     lambda: xattrib.evaluate(_heat(), _model(), _bench(), metircs=["sparseness"]),
     TypeError, r"evaluate\(\) got an unexpected keyword argument 'metircs'\. Did you mean "
                r"metrics=\?"),
    ("values", "heatmaps and inputs of as many, but different, samples",
     lambda: xattrib.evaluate(_heat().isel(sample=slice(0, 10)), _model(),
                              _bench().isel(sample=slice(10, 20)), metrics=["sparseness"]),
     ValueError, r"heat and ds must hold the same samples along 'sample', but their labels "
                 r"differ at 10 of 10"),
    ("parameters", "a factory whose network does not read the valid cells",
     lambda: xattrib.fit(_bench(), arch=_make_linear, n_inputs=7, epochs=1, progress=False,
                         fresh=False), ValueError,
     r"cannot read the input fit gives it, a \(batch, 450\) tensor of standardised valid "
     r"cells .*build it for 450 inputs"),
    ("files", "factory_kwargs that do not rebuild the wrapped module",
     lambda: _wrapped_with(factory_kwargs={"in_features": 450, "out_features": 2}),
     ValueError, r"parameter 'weight' has shape \(2, 450\); the module has \(1, 450\).*A "
                 r"model saved with these factory_kwargs could not be loaded"),
    ("parameters", "output units for an output the module does not have",
     lambda: _wrapped_with(units={"nino34": "K"}), ValueError,
     r"units names outputs \['nino34'\] the module does not have; its outputs are \['y'\]"),
    ("files", "a model file that is not netCDF at all",
     lambda: xattrib.Model.load(_text_file()), ValueError,
     r"cannot read '.*notes.nc' as an xattrib model file \(netCDF\)"),
    ("files", "a model file that does not exist",
     lambda: xattrib.Model.load(_tmp() / "absent.nc"), FileNotFoundError,
     r"model file '.*absent.nc' does not exist"),
    ("coordinates", "input with a dimension named as one the results add",
     lambda: xattrib.attribute(_bench().rename(sample="xai_method"), _model(), "gradient",
                               progress=False), ValueError,
     r"the data have a dimension 'xai_method', the name the results give to methods; rename "
     r"yours first"),
    ("files", "a Dataset that is not an xattrib benchmark",
     lambda: xattrib.generator_from_dataset(xr.Dataset()), ValueError,
     r"not an xattrib benchmark Dataset: missing \['mask', 'xattrib_seed'"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_bad_input_gets_a_clear_error(case):
    _, _, call, exc, pattern = case
    with pytest.raises(exc, match=pattern):
        call()


def _table() -> str:
    lines = [
        "# Bad input and what you see",
        "",
        "Every row is a test in `tests/test_errors.py`, which also writes this page",
        "(`.venv/bin/python tests/test_errors.py`). The message column shows the pattern",
        "the test matches: the exception's text contains it.",
        "",
        "| area | bad input | error | message (pattern) |",
        "|---|---|---|---|",
    ]
    for area, what, _, exc, pattern in CASES:
        shown = re.sub(r"\\(.)", r"\1", pattern).replace("|", "\\|").replace(".*", " … ")
        lines.append(f"| {area} | {what} | `{exc.__name__}` | {shown} |")
    return "\n".join(lines) + "\n"


def test_docs_table_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == _table(), (
        "docs/errors.md is out of date: run .venv/bin/python tests/test_errors.py")


if __name__ == "__main__":
    DOC.write_text(_table(), encoding="utf-8")
    print(f"wrote {DOC}")
