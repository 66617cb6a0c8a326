"""The additive glass box: its own exact attribution, and methods measured against it."""

import numpy as np
import pytest
import xarray as xr

import xattrib

FIT = {"arch": "additive", "hidden": (16,), "embedding": 4, "epochs": 2,
       "samples_per_epoch": 4000, "progress": False}


@pytest.fixture(scope="module")
def setup(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=2000, seed=2, chunks=1000)
    model = xattrib.fit(bench, seed=0, **FIT)
    return bench, model, bench.isel(sample=slice(-30, None)).compute()


def _field(grid, v):
    return xr.full_like(grid["mask"], v, dtype=float).where(grid["mask"])


@pytest.mark.parametrize("baseline", ["zero", "mean", 0.4, "field"])
def test_own_attribution_sums_to_output_minus_output_at_baseline(small_grid, setup, baseline):
    bench, model, test = setup
    base = _field(small_grid, -0.3) if baseline == "field" else baseline
    own = model.own_attribution(test, baseline=base)
    if baseline == "mean":
        b = model.cells.unstack(xr.DataArray(model.x_mean.astype(float), dims="cell"))
    elif baseline == "zero":
        b = _field(small_grid, 0.0)
    else:
        b = _field(small_grid, 0.4) if baseline == 0.4 else base
    f_b = float(model.predict(test.isel(sample=[0]).assign(
        x=b.expand_dims(sample=test["sample"][:1]).astype(np.float32))).values[0])
    gap = own.sum(["lat", "lon"]) - (model.predict(test) - f_b)
    assert float(abs(gap).max()) < 1e-4 * float(abs(model.predict(test)).max() + 1)


def test_ig_and_occlusion_recover_the_networks_own_attribution(setup):
    """The explainer's error on a glass box: IG (a path integral of gᵢ') and occlusion
    (gᵢ(xᵢ) − gᵢ(bᵢ) exactly) are (near) exact; Input×Gradient is not."""
    _, model, test = setup
    own = model.own_attribution(test)
    heat = xattrib.attribute(test, model, methods=["integrated_gradients", "occlusion",
                                                   "input_x_gradient"],
                             n_steps=128, progress=False)
    split = xattrib.scoring.split_error(heat, own, test["truth"], summary=False)
    np.testing.assert_allclose(split["total"], split["explainer"] + split["learning"]
                               + split["cross"], rtol=1e-9, atol=1e-12)
    ex = split["explainer"].mean("sample")
    assert float(ex.sel(xai_method="occlusion")) < 1e-8
    assert float(ex.sel(xai_method="integrated_gradients")) < 1e-4
    assert float(ex.sel(xai_method="input_x_gradient")) > 100 * float(
        ex.sel(xai_method="integrated_gradients"))
    # the learning error is the method-independent part
    learn = split["learning"].mean("sample")
    np.testing.assert_allclose(learn.values, learn.values[0])


def test_ensembles_of_additive_networks_give_their_own_attributions(setup):
    bench = setup[0]
    ens = xattrib.fit(bench, seed=[0, 1], **FIT)
    test = setup[2].isel(sample=slice(0, 5))
    own = ens.own_attribution(test)
    assert own.dims[0] == "member"
    xr.testing.assert_allclose(own.sel(member=0, drop=True), ens[0].own_attribution(test))


def test_only_additive_networks_have_an_own_attribution(setup):
    bench, _, test = setup
    mlp = xattrib.fit(bench, hidden=(8,), epochs=1, samples_per_epoch=1000, progress=False)
    with pytest.raises(ValueError, match="fit\\(arch='additive'\\)"):
        mlp.own_attribution(test)
