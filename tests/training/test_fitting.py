import numpy as np
import pytest
import torch
import xarray as xr

import xattrib
from tests.conftest import raise_if_dask_computes
from xattrib.architectures import CNN, MLP, fold_normalisation
from xattrib.training.model import Model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def linear_bench(small_grid):
    return small_grid.xattrib.benchmark(n_samples=6000, seed=0, chunks=1500, response="linear")


@pytest.fixture(scope="module")
def pwl_model(small_grid):
    b = small_grid.xattrib.benchmark(n_samples=3000, seed=0, chunks=1000)
    return b, b.xattrib.fit(epochs=2, hidden=(32, 16), progress=False, seed=0, fresh=False)


def test_linear_data_near_perfect(linear_bench):
    m = linear_bench.xattrib.fit(epochs=6, hidden=(64,), lr=3e-3, progress=False,
                              fresh=False)
    assert m.r2 > 0.99
    assert m.linear_r2 > 0.999  # the reference: a linear model is exact here
    assert len(m.history) == 6 and {"val_r2", "train_loss", "seconds"} <= set(m.history[0])


def test_same_seed_same_weights(pwl_model, small_grid):
    b, m = pwl_model
    again = b.xattrib.fit(epochs=2, hidden=(32, 16), progress=False, seed=0, fresh=False)
    other = b.xattrib.fit(epochs=2, hidden=(32, 16), progress=False, seed=1, fresh=False)
    for (k, v), w, _o in zip(m.module.state_dict().items(), again.module.state_dict().values(),
                            other.module.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
    assert not all(torch.equal(v, o) for v, o in zip(
        m.module.state_dict().values(), other.module.state_dict().values(), strict=True))


def test_save_load_roundtrip(tmp_path, pwl_model):
    b, m = pwl_model
    p = m.save(tmp_path / "model.nc")
    back = Model.load(p)
    np.testing.assert_array_equal(back.predict(b).values, m.predict(b).values)
    assert back.r2 == m.r2 and back.history == m.history and back.arch == "mlp"
    assert xattrib.io.check_cf(p) == []
    # a plain netCDF file of arrays: nothing to unpickle
    with xr.open_dataset(p) as raw:
        assert all(np.asarray(raw[v]).dtype.kind in "fiub" for v in raw.data_vars)


def test_other_grid_is_refused(pwl_model):
    b, m = pwl_model
    moved = b.assign_coords(lon=b.lon + 10)
    with pytest.raises(ValueError, match="not on the expected grid.*lon differs"):
        m.predict(moved)


def test_predict_is_lazy_and_matches_eager(pwl_model):
    b, m = pwl_model
    with raise_if_dask_computes():
        p = m.predict(b)
    assert p.chunks is not None
    np.testing.assert_allclose(p.values, m.predict(b.compute()).values, rtol=1e-6)


def test_folded_network_equals_normalised_module(pwl_model):
    b, m = pwl_model
    x = torch.randn(7, m.cells.n_cells)
    raw = m.network()(x).squeeze(1)
    xs = (x - torch.as_tensor(m.x_mean)) / torch.as_tensor(m.x_std)
    ref = m.module(xs).squeeze(1) * m.y_std + m.y_mean
    torch.testing.assert_close(raw, ref, rtol=1e-5, atol=1e-6)
    # still a plain Linear/ReLU stack that captum's LRP accepts
    assert isinstance(m.network(), MLP)


def test_land_never_reaches_the_model(pwl_model):
    b, m = pwl_model
    seen = []
    hook = m.network().register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    try:
        m.predict(b.isel(sample=slice(0, 50)).compute())
    finally:
        hook.remove()
    x = torch.cat(seen)
    assert x.shape[1] == int(b["mask"].sum()) and torch.isfinite(x).all()


def test_nan_on_valid_cell_refused(small_grid):
    b = small_grid.xattrib.benchmark(n_samples=600, seed=0, chunks=300).compute()
    cell = np.argwhere(small_grid["mask"].values)[0]
    b["x"][5, cell[0], cell[1]] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        b.xattrib.fit(epochs=1, hidden=(4,), progress=False, fresh=False)


def test_fresh_samples_each_epoch(small_grid, monkeypatch):
    from xattrib.generation.generator import Generator

    drawn = []
    orig = Generator.draw_x
    monkeypatch.setattr(Generator, "draw_x",
                        lambda self, s, e: drawn.append((s, e)) or orig(self, s, e))
    b = small_grid.xattrib.benchmark(n_samples=1000, seed=0, chunks=500, response="linear")
    m = b.xattrib.fit(epochs=3, fresh=True, samples_per_epoch=4000, hidden=(32,), lr=3e-3,
                      fresh_every=1,
                      target_r2=None, val_fraction=0.1, batch_size=256,
                      progress=False, patience=None)
    assert [h["samples"] for h in m.history] == [4000] * 3
    assert m.provenance["fit_fresh_samples"] == 1
    # every training draw is new: beyond the Dataset; epochs never repeat a range (the
    # normalisation head re-reads the first epoch's range, which is why we count distinct
    # ranges). The untouched Dataset's validation rows (900..999) come from the generator too.
    train = {(s, e) for s, e in drawn if s >= 1000}
    assert sum(e - s for s, e in train) == 12_000
    assert {(s, e) for s, e in drawn} - train == {(900, 1000)}
    assert m.r2 > 0.8


def test_cnn_trains_and_saves(tmp_path, small_grid):
    b = small_grid.xattrib.benchmark(n_samples=1200, seed=0, chunks=600, response="linear")
    m = b.xattrib.fit(arch="cnn", epochs=2, fresh=False, channels=(4,), hidden=8, periodic_lon=True,
                      progress=False)
    assert np.isfinite(m.r2)
    back = Model.load(m.save(tmp_path / "cnn.nc"))
    np.testing.assert_allclose(back.predict(b).values, m.predict(b).values, rtol=1e-6)
    acts = [mod for mod in m.module.modules() if isinstance(mod, torch.nn.ReLU)]
    assert len({id(a) for a in acts}) == len(acts) == 2


def test_cnn_periodic_padding_wraps_longitude():
    net = CNN(flat=np.arange(12), shape=(3, 4), channels=(1,), kernel_size=3, hidden=1,
              periodic_lon=True)
    pad = [m for m in net if isinstance(m, torch.nn.CircularPad2d)][0]
    x = torch.arange(12.0).view(1, 1, 3, 4)
    out = pad(x)
    assert torch.equal(out[0, 0, :, 0], x[0, 0, :, -1]) and torch.equal(out[0, 0, :, -1], x[0, 0, :, 0])


def test_mlp_default_is_the_original():
    net = MLP(458)
    widths = [m.out_features for m in net if isinstance(m, torch.nn.Linear)]
    assert widths == [512, 256, 128, 64, 32, 16, 1]


def test_fold_normalisation_for_cnn_is_affine_wrapper():
    net = CNN(flat=np.arange(6), shape=(2, 3), channels=(2,), hidden=4)
    f = fold_normalisation(net, np.zeros(6), np.full(6, 2.0), 1.0, 3.0)
    x = torch.randn(3, 6)
    torch.testing.assert_close(f(x), net(x / 2) * 3 + 1)


@pytest.mark.parametrize("kw,match", [
    ({"arch": "rnn"}, "unknown architecture"), ({"epochs": 0}, "epochs"),
    ({"x": "sst"}, "no variable 'sst'"), ({"n_inputs": 3}, "come from the data's grid"),
    ({"activation": "swishy"}, "unknown activation"), ({"val_fraction": 1.5}, "val_fraction"),
])
def test_bad_input(pwl_model, kw, match):
    b, _ = pwl_model
    with pytest.raises(ValueError, match=match):
        b.xattrib.fit(progress=False, **{"epochs": 1, **kw})


def test_fit_with_no_arguments_reaches_the_target(small_grid):
    """On a benchmark, fit() alone is the recipe that works: fresh samples from the
    generator (never the Dataset's own), stopping by itself once validation R² reaches
    0.995. (The 10-minute figure on the default benchmark is benchmarks/train.py's.)"""
    b = small_grid.xattrib.benchmark(n_samples=2000, seed=4, chunks=1000, response="linear")
    m = b.xattrib.fit(progress=False)
    p = m.provenance
    assert p["fit_fresh_samples"] == 1 and p["fit_batch_size"] == 1024
    assert p["fit_samples_per_epoch"] == 1_000_000
    assert p["fit_stopped"] == "target" and len(m.history) < 16
    assert m.history[-1]["val_r2"] >= 0.995 and m.r2 >= 0.995


def test_fit_defaults_on_data_without_a_generator(small_grid):
    b = small_grid.xattrib.benchmark(n_samples=1500, seed=0, chunks=1500, response="linear")
    plain = b[["x", "y"]].compute()  # no generator attributes: real-data defaults
    plain.attrs = {}
    m = xattrib.fit(plain.assign(mask=b["mask"]), epochs=3, hidden=(16,), progress=False)
    assert m.provenance["fit_fresh_samples"] == 0 and m.provenance["fit_batch_size"] == 256
    assert m.provenance["fit_n_val"] == 150  # val_fraction 0.1


def test_fit_with_a_time_dimension(small_grid):
    """fit reads any sample dimension: the same weights from (time, lat, lon)."""
    b = small_grid.xattrib.benchmark(n_samples=600, seed=0, chunks=600, response="linear")
    kw = dict(epochs=2, hidden=(8,), batch_size=64, progress=False, fresh=False)
    m1 = xattrib.fit(b, **kw)
    m2 = xattrib.fit(b.rename(sample="time"), sample_dim="time", **kw)
    m3 = xattrib.fit(b.rename(sample="time"), **kw)  # found by itself
    for m in (m2, m3):
        for p, q in zip(m1.module.parameters(), m.module.parameters(), strict=True):
            assert torch.equal(p, q)
    with pytest.raises(ValueError, match="sample_dim='sample' is not a dimension"):
        xattrib.fit(b.rename(sample="time"), sample_dim="sample", **kw)


def test_fit_shows_progress_from_its_first_read(small_grid, capsys):
    """The reads before the first epoch have a bar of their own, shown before any of them
    (on a large grid they took a minute with nothing on screen): 360 training samples for
    the normalisation and the linear reference plus 40 validation samples (10 %)."""
    b = small_grid.xattrib.benchmark(n_samples=400, seed=0, chunks=400, response="linear")
    xattrib.fit(b, epochs=1, hidden=(4,), progress=True, fresh=False)
    err = capsys.readouterr().err
    start = err.index("fit: reading samples for the normalisation")
    assert "0/400" in err[start:start + 200]  # shown at 0, before the first read
    assert "400/400" in err
    assert start < err.index("fit: 100%")


def test_a_fresh_pool_costs_little_more_than_itself(small_grid):
    """The pool is filled piece by piece into one array: numpy's peak while preparing a
    buffer stays near the buffer (it held about four copies: concatenation, shuffle, float
    temporaries)."""
    import tracemalloc

    from xattrib.grid import CellIndex
    from xattrib.training.fitting import _Buffers, _Source

    bench = small_grid.xattrib.benchmark(n_samples=2000, seed=0)
    cells = CellIndex.from_mask(bench["mask"])
    src = _Source(bench, cells, "x", "y", "sample", 0.5, True, 60_000, 2)
    hx, hy = src.load(0, 1000)
    buffers = _Buffers(src, hx.mean(0), hx.std(0), float(hy.mean()), float(hy.std()))
    size = 60_000 * (cells.n_cells + 1) * 4
    for seed in (None, [0, 0, 0]):  # resident pool, shuffled buffer
        tracemalloc.start()
        x, y = buffers._prepare(src.train_ranges(0, np.random.default_rng(0)), seed, workers=2)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert x.shape == (60_000, cells.n_cells) and x.dtype == torch.float32
        assert peak < 1.5 * size, peak / size
    # the same rows as loading everything at once and normalising afterwards
    xa, ya = src.load(src.first_fresh, src.first_fresh + 60_000)
    order = np.random.default_rng([0, 0, 0]).permutation(60_000)
    np.testing.assert_array_equal(x.numpy(), ((xa - buffers.x_mean) / buffers.x_std)[order])
    np.testing.assert_array_equal(
        y.numpy(), ((ya - buffers.y_mean) / buffers.y_std).astype(np.float32)[order])


# -- several input variables ---------------------------------------------------------------

@pytest.fixture(scope="module")
def two_bench(sst):
    return xattrib.benchmark(xattrib.datasets.lagged(sst, lags=[0, 1]), n_samples=3000,
                             chunks=1000, response="linear")


@pytest.mark.parametrize("arch, kw", [("mlp", {"hidden": (16,)}),
                                      ("cnn", {"channels": (4,), "hidden": 8})])
def test_fit_reads_every_variable_of_a_benchmark(tmp_path, two_bench, arch, kw):
    m = xattrib.fit(two_bench, arch=arch, epochs=2, samples_per_epoch=3000, progress=False,
                    **kw)
    assert m.variables == ["sst_lag0", "sst_lag1"]
    assert m.r2 > 0.3  # a linear response of 900 inputs: learnt from both variables
    m.save(tmp_path / "m.nc")
    back = xattrib.Model.load(tmp_path / "m.nc")
    part = two_bench.isel(sample=slice(0, 30))
    np.testing.assert_array_equal(back.predict(part).values, m.predict(part).values)
    # the second variable matters: zeroing it changes the prediction
    assert float(abs(m.predict(part.assign(sst_lag1=part["sst_lag1"] * 0)) -
                     m.predict(part)).max()) > 1e-3


def test_fit_on_a_users_dataset_of_two_variables(sst):
    ds = xr.Dataset({"sst": sst, "slp": (sst * 0.5).rename("slp")})
    ds["target"] = sst.isel(lat=5, lon=10) + ds["slp"].isel(lat=6, lon=12)
    m = xattrib.fit(ds, x=["sst", "slp"], y="target", epochs=2, hidden=(8,),
                    progress=False, val_fraction=0.2, batch_size=8)
    assert m.variables == ["sst", "slp"] and m.cells.n_cells == 450
    other = ds.assign(slp=ds["slp"].fillna(0.0))  # valid on land too: another mask
    with pytest.raises(ValueError, match="valid on different cells"):
        xattrib.fit(other, x=["sst", "slp"], y="target", epochs=1, progress=False)
    with pytest.raises(ValueError, match="no variable 'sp'"):
        xattrib.fit(ds, x=["sst", "sp"], y="target", epochs=1, progress=False)


def test_fit_on_one_variable_of_a_two_variable_benchmark(two_bench):
    """A missing predictor: y reads both lags, the network only this winter's."""
    m = xattrib.fit(two_bench, x="sst_lag0", epochs=1, samples_per_epoch=3000,
                    hidden=(16,), progress=False)
    assert m.variables == ["sst_lag0"] and m.module[0].in_features == 450
    both = xattrib.fit(two_bench, epochs=1, samples_per_epoch=3000, hidden=(16,),
                       progress=False)
    assert both.r2 > m.r2  # the second lag carries half of y
