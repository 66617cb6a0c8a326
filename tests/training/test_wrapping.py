"""Model.from_module: any torch network, in either layout, one or several variables/outputs."""

import numpy as np
import pytest
import torch
import xarray as xr
from captum.attr import DeepLift, IntegratedGradients, Saliency

import xattrib
from xattrib.training.model import Model

torch.set_num_threads(1)


def make_net(n_inputs: int, width: int = 8, n_outputs: int = 1, seed: int = 0) -> torch.nn.Module:
    """An importable factory (tests.training.test_wrapping:make_net) for save/load."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_inputs, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, n_outputs))


class GridNet(torch.nn.Module):
    """Reads (n, C, lat, lon): a conv then a linear read-out; two outputs."""

    def __init__(self, channels: int, shape: tuple[int, int]) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv = torch.nn.Conv2d(channels, 3, 3, padding=1)
        self.act = torch.nn.ReLU()
        self.out = torch.nn.Linear(3 * shape[0] * shape[1], 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def data(small_grid):
    b = small_grid.xattrib.benchmark(n_samples=12, seed=0, chunks=12).compute()
    sst = b["x"].rename("sst").assign_attrs(units="K")
    slp = (b["x"] * 3.0).rename("slp").assign_attrs(units="hPa")
    return xr.Dataset({"sst": sst, "slp": slp})


def _stacked(model, ds):
    return torch.as_tensor(model._stack(ds).values, dtype=torch.float32)


@pytest.mark.parametrize("layout", ["cells", "grid"])
def test_both_layouts_equal_captum_directly(data, layout):
    cells = xattrib.CellIndex.from_data(data["sst"])
    d, (ny, nx) = cells.n_cells, cells.shape
    if layout == "cells":
        net = make_net(d)
    else:  # reads (n, lat, lon): flatten the grid, land filled with 0
        net = torch.nn.Sequential(torch.nn.Flatten(), make_net(ny * nx))
    m = Model.from_module(net, like=data["sst"], layout=layout)
    ds = data[["sst"]]
    heat = ds.xattrib.attribute(m, methods=["gradient", "integrated_gradients", "deeplift"],
                                progress=False)
    x = _stacked(m, ds)
    if layout == "cells":
        inp, take = x, slice(None)
    else:
        grid = torch.zeros(x.shape[0], ny * nx)
        grid[:, torch.as_tensor(cells.flat)] = x
        inp, take = grid.view(-1, ny, nx), torch.as_tensor(cells.flat)
    inp = inp.detach().requires_grad_()  # as attribute() hands captum its inputs
    want = {
        "gradient": Saliency(net).attribute(inp, abs=False),
        "integrated_gradients": IntegratedGradients(net).attribute(
            inp, baselines=torch.zeros_like(inp), n_steps=64, method="gausslegendre"),
        "deeplift": DeepLift(net).attribute(inp, baselines=torch.zeros_like(inp)),
    }
    for name, w in want.items():
        w = w.reshape(w.shape[0], -1)[:, take].detach().numpy()
        got = cells.stack(heat["attribution"].sel(xai_method=name)).values
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(heat["prediction"].values, net(inp).detach().numpy()[:, 0],
                               rtol=1e-5, atol=1e-6)


def test_multi_variable_multi_output(data):
    cells = xattrib.CellIndex.from_data(data["sst"])
    net = GridNet(2, cells.shape)
    m = Model.from_module(net, like=data, layout="grid_channels", outputs=["nino", "pdo"],
                          fill_value=0.0)
    assert m.variables == ["sst", "slp"] and m.outputs == ["nino", "pdo"]
    heat = data.xattrib.attribute(m, methods=["gradient", "deeplift"], progress=False)
    assert heat["attribution_sst"].dims == ("output", "xai_method", "sample", "lat", "lon")
    assert list(heat["output"].values) == ["nino", "pdo"]
    # each variable in its own units for gradients (output per input unit)
    assert heat["attribution_sst"].attrs["units_gradient"] == "(K)-1"
    assert heat["attribution_slp"].attrs["units_gradient"] == "(hPa)-1"
    # against captum on the (n, 2, lat, lon) input, one target per output
    x = _stacked(m, data).view(-1, 2, cells.n_cells)
    grid = torch.zeros(x.shape[0], 2, cells.shape[0] * cells.shape[1])
    grid[:, :, torch.as_tensor(cells.flat)] = x
    grid = grid.view(-1, 2, *cells.shape).requires_grad_()
    for k, out in enumerate(["nino", "pdo"]):
        want = DeepLift(net).attribute(grid, baselines=torch.zeros_like(grid), target=k)
        want = want.reshape(want.shape[0], 2, -1)[:, :, torch.as_tensor(cells.flat)].detach().numpy()
        for c, v in enumerate(["sst", "slp"]):
            got = cells.stack(heat[f"attribution_{v}"].sel(output=out, xai_method="deeplift"))
            np.testing.assert_allclose(got.values, want[:, c], rtol=1e-4, atol=1e-6)
    # completeness is over both variables together
    err = heat["completeness_error"].sel(xai_method="deeplift")
    assert float(abs(err).max()) < 1e-4
    one = data.xattrib.attribute(m, methods=["gradient"], output="pdo", progress=False)
    assert "output" not in one.dims
    xr.testing.assert_allclose(one["attribution_slp"],
                               heat["attribution_slp"].sel(output="pdo", xai_method=["gradient"],
                                                           drop=True))


def test_normalisation_and_predict(data):
    cells = xattrib.CellIndex.from_data(data["sst"])
    net = make_net(cells.n_cells, n_outputs=1)
    m = Model.from_module(net, like=data["sst"], x_mean=0.5, x_std=2.0, y_mean=10.0, y_std=3.0)
    x = _stacked(m, data[["sst"]])
    want = net((x - 0.5) / 2.0).detach().numpy()[:, 0] * 3.0 + 10.0
    np.testing.assert_allclose(m.predict(data[["sst"]]).values, want, rtol=1e-5)


def test_save_load_with_factory(tmp_path, data):
    cells = xattrib.CellIndex.from_data(data["sst"])
    net = make_net(cells.n_cells, width=5, n_outputs=2, seed=3)
    m = Model.from_module(net, like=data["sst"], outputs=["a", "b"],
                          factory="tests.training.test_wrapping:make_net",
                          factory_kwargs={"n_inputs": cells.n_cells, "width": 5,
                                          "n_outputs": 2})
    back = Model.load(m.save(tmp_path / "mine.nc"), factory=make_net)
    assert back.outputs == ["a", "b"] and back.variables == ["sst"]
    xr.testing.assert_allclose(back.predict(data[["sst"]]), m.predict(data[["sst"]]))
    with pytest.raises(ValueError, match="pass factory="):
        Model.from_module(net, like=data["sst"]).save(tmp_path / "x.nc")


def test_bad_modules_get_clear_errors(data):
    cells = xattrib.CellIndex.from_data(data["sst"])
    with pytest.raises(ValueError, match=rf"failed on input of shape \(2, {cells.n_cells}\)"):
        Model.from_module(make_net(cells.n_cells + 1), like=data["sst"])

    class Cube(torch.nn.Module):
        def forward(self, x):
            return x[:, :6].reshape(-1, 2, 3)

    with pytest.raises(ValueError, match=r"expected \(n,\), \(n, 1\) or \(n, k\)"):
        Model.from_module(Cube(), like=data["sst"])
    with pytest.raises(ValueError, match="layout must be one of"):
        Model.from_module(make_net(cells.n_cells), like=data["sst"], layout="image")
    with pytest.raises(ValueError, match="grid_channels"):
        Model.from_module(make_net(4), like=data, layout="grid")
    m = Model.from_module(make_net(cells.n_cells, n_outputs=2), like=data["sst"])
    with pytest.raises(ValueError, match="unknown output 'c'"):
        data.xattrib.attribute(m, methods=["gradient"], output="c")
    with pytest.raises(ValueError, match="has no variable 'sst'"):
        data.rename(sst="t").xattrib.attribute(m, methods=["gradient"], output=0)


def test_fit_with_a_factory_or_a_module(tmp_path, small_grid):
    b = small_grid.xattrib.benchmark(n_samples=3000, seed=0, chunks=1000, response="linear")
    d = int(b["mask"].sum())
    m = b.xattrib.fit(arch="tests.training.test_wrapping:make_net", n_inputs=d, width=16,
                      epochs=8, batch_size=64, lr=3e-3, progress=False, fresh=False)
    assert m.r2 > 0.9 and m.arch == "tests.training.test_wrapping:make_net"
    back = Model.load(m.save(tmp_path / "f.nc"), trusted=["tests.training.test_wrapping:make_net"])
    np.testing.assert_allclose(back.predict(b).values, m.predict(b).values, rtol=1e-6)
    net = make_net(d, width=16)
    m2 = b.xattrib.fit(arch=net, epochs=1, progress=False, fresh=False)
    assert m2.module is net
    with pytest.raises(ValueError, match="module instance"):
        m2.save(tmp_path / "g.nc")
    with pytest.raises(ValueError, match="cannot import the model factory"):
        b.xattrib.fit(arch="tests.nowhere:make_net", epochs=1, progress=False)
