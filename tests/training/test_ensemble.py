"""Ensembles: fit(seed=[...]) trains one member per seed; results gain a member dimension."""

import copy

import numpy as np
import pytest
import torch
import xarray as xr

import xattrib
from xattrib.parallel import task_threads
from xattrib.training import Ensemble

SMALL = {"epochs": 2, "samples_per_epoch": 3000, "hidden": (16,), "progress": False}


@pytest.fixture(scope="module")
def bench(small_grid):
    return small_grid.xattrib.benchmark(n_samples=2000, seed=1, chunks=1000)


@pytest.fixture(scope="module")
def ens(bench):
    return xattrib.fit(bench, seed=[0, 1, 2], **SMALL)


def _same_weights(a, b):
    sa, sb = a.module.state_dict(), b.module.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_each_member_is_fit_with_its_seed_alone(bench, ens):
    assert isinstance(ens, Ensemble) and ens.seeds == [0, 1, 2] and len(ens) == 3
    with task_threads(ens[1].provenance["ensemble_threads"]):
        alone = xattrib.fit(bench, seed=1, **SMALL)
    assert _same_weights(ens[1], alone)
    assert not _same_weights(ens[0], ens[1])  # seeds apart, weights apart
    assert ens.r2.dims == ("member",) and list(ens.r2["member"].values) == [0, 1, 2]


def test_results_gain_a_member_dimension(bench, ens):
    test = bench.isel(sample=slice(-15, None))
    p = ens.predict(test)
    assert p.dims == ("member", "sample")
    np.testing.assert_array_equal(p.sel(member=2).values, ens[2].predict(test).values)
    heat = ens_heat = xattrib.attribute(test, ens, methods=["integrated_gradients",
                                                            "gradient"], progress=False)
    assert heat["attribution"].dims == ("member", "xai_method", "sample", "lat", "lon")
    assert heat["mask"].dims == ("lat", "lon")  # the grid is not repeated per member
    one = xattrib.attribute(test, ens[1], methods=["integrated_gradients", "gradient"],
                            progress=False)
    xr.testing.assert_allclose(heat["attribution"].sel(member=1, drop=True),
                               one["attribution"])
    s = xattrib.score(ens_heat, test["truth"], metrics=["pearson"])
    assert s["pearson"].dims == ("member", "xai_method", "sample")
    summary = xattrib.scoring.summarize(s)
    assert summary["pearson"].dims == ("member", "xai_method", "statistic")
    gt_free = xattrib.evaluate(heat, ens, test, metrics=["sparseness"])
    assert gt_free["sparseness"].dims[0] == "member"


def test_save_and_load_round_trip(tmp_path, bench, ens):
    path = ens.save(tmp_path / "ens.nc")
    back = Ensemble.load(path)
    assert back.seeds == ens.seeds
    for a, b in zip(ens, back, strict=True):
        assert _same_weights(a, b) and a.r2 == b.r2 and a.history == b.history
    test = bench.isel(sample=slice(0, 10))
    np.testing.assert_array_equal(back.predict(test).values, ens.predict(test).values)
    with pytest.raises(ValueError, match="not an xattrib ensemble"):
        Ensemble.load(ens[0].save(tmp_path / "one.nc"))


def test_identical_members_agree_fully_and_have_no_variance(bench, ens):
    twins = Ensemble([ens[0], copy.deepcopy(ens[0]), copy.deepcopy(ens[0])], [0, 1, 2])
    test = bench.isel(sample=slice(0, 12))
    heat = xattrib.attribute(test, twins, methods=["input_x_gradient"], progress=False)
    np.testing.assert_allclose(xattrib.agreement(heat).values, 1.0, atol=1e-6)
    d = xattrib.decompose_error(heat, test["truth"], summary=False)
    assert float(abs(d["variance"]).max()) == 0.0
    np.testing.assert_allclose(d["total"], d["bias2"], rtol=1e-12)


@pytest.mark.parametrize("seed, err, match", [
    ([0], ValueError, "at least two seeds"),
    ([1, 1], ValueError, "repeat"),
    ([0, 1.5], TypeError, "whole number"),
])
def test_bad_seeds(bench, seed, err, match):
    with pytest.raises(err, match=match):
        xattrib.fit(bench, seed=seed, **SMALL)


def test_mismatched_members_are_refused(small_grid, bench, ens):
    other = xattrib.grid.make_grid(resolution=20.0, mask="ocean").xattrib.benchmark(
        n_samples=600, chunks=600)
    m = xattrib.fit(other, seed=0, **SMALL)
    with pytest.raises(ValueError, match="member 5 does not match member 0: another grid"):
        Ensemble([ens[0], m], [0, 5])
    wide = xattrib.fit(bench, seed=7, **{**SMALL, "hidden": (8,)})
    with pytest.raises(ValueError, match="architecture"):
        Ensemble([ens[0], wide], [0, 7])
    with pytest.raises(ValueError, match="at least two members"):
        Ensemble([ens[0]], [0])
    with pytest.raises(ValueError, match="parallel and threads apply to an ensemble"):
        xattrib.fit(bench, seed=0, parallel=2, **SMALL)


def test_trim_takes_an_ensemble(bench, ens):
    test = bench.isel(sample=slice(0, 6))
    bands = xattrib.trim(test, ens, transform="fourier", methods="integrated_gradients",
                         progress=False)
    one = xattrib.trim(test, ens[2], transform="fourier", methods="integrated_gradients",
                       progress=False)
    assert bands["attribution"].dims[0] == "member"
    xr.testing.assert_allclose(bands["attribution"].sel(member=2, drop=True),
                               one["attribution"])
