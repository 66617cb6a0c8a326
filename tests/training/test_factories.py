"""Files people share are data: loading a model or a benchmark never runs code a file names.

Each tampered file below asks for code with a side effect (touch a marker file); the test
asserts the load is refused with a clear message and that the marker is absent. A legitimate
factory loads when the caller passes or allows it, and the round trip stays exact.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
import xarray as xr

import xattrib
from xattrib.training.factories import UntrustedFactoryError
from xattrib.training.model import Model

torch.set_num_threads(1)

CALLS: list[dict] = []


def make_net(n_inputs: int, width: int = 8, n_outputs: int = 1, seed: int = 0) -> torch.nn.Module:
    """A legitimate factory (its name is stored in the files this module writes)."""
    CALLS.append({"n_inputs": n_inputs, "width": width})
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(n_inputs, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, n_outputs))


def make_other(n_inputs: int, width: int = 8, n_outputs: int = 1, seed: int = 0):
    """Same network under another name (a moved or renamed factory)."""
    return make_net(n_inputs, width, n_outputs, seed)


def not_a_module(**kwargs):
    return 42


@pytest.fixture(scope="module")
def sst():
    return xattrib.datasets.pacific_sst().isel(time=slice(0, 12))


@pytest.fixture()
def wrapped_file(tmp_path, sst):
    d = int(np.isfinite(sst.isel(time=0)).sum())
    net = make_net(d, width=5, n_outputs=2, seed=3)
    m = Model.from_module(net, like=sst, outputs=["a", "b"], factory=make_net,
                          factory_kwargs={"n_inputs": d, "width": 5, "n_outputs": 2, "seed": 3})
    return m, m.save(tmp_path / "mine.nc")


@pytest.fixture()
def trained_file(tmp_path, sst):
    """A model as fit(arch=make_net, ...) saves it: the factory's name is its arch."""
    cells = xattrib.CellIndex.from_data(sst)
    m = Model.build(make_net, cells, {"n_inputs": cells.n_cells, "width": 4},
                    np.zeros(cells.n_cells), np.ones(cells.n_cells), 0.5, 2.0)
    return m, m.save(tmp_path / "trained.nc")


def _tamper(path, out, **attrs):
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    for key, value in attrs.items():
        ds.attrs[key] = value if isinstance(value, str) else json.dumps(value)
    ds.to_netcdf(out)
    return out


def _spec(path, **changes):
    with xr.open_dataset(path) as ds:
        spec = json.loads(ds.attrs["xattrib_module_spec"])
    spec.update(changes)
    return spec


def _evil_module(tmp_path, monkeypatch, marker):
    """A module on sys.path that touches ``marker`` when it is imported."""
    (tmp_path / "xattrib_evil_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "def make(**kw):\n    import torch\n    return torch.nn.Linear(1, 1)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "xattrib_evil_mod:make"


@pytest.mark.parametrize("factory, kwargs", [
    ("os:system", {"command": "touch {marker}"}),
    ("builtins:eval", {"source": "open({marker!r}, 'w')"}),
    ("subprocess:run", {"args": ["touch", "{marker}"]}),
    ("os:system", {"command": "touch {marker}", "cfg": {"nested": "object"}}),
])
def test_tampered_wrapped_model_runs_nothing(tmp_path, wrapped_file, factory, kwargs):
    marker = tmp_path / "PWNED"
    kwargs = json.loads(json.dumps(kwargs).replace("{marker}", str(marker)))
    _, path = wrapped_file
    evil = _tamper(path, tmp_path / "evil.nc",
                   xattrib_module_spec=_spec(path, factory=factory, factory_kwargs=kwargs))
    with pytest.raises(ValueError, match=r"asks to rebuild its network with|plain data"):
        Model.load(evil)
    # allowing another name, or passing another function, still refuses
    with pytest.raises(ValueError):
        Model.load(evil, trusted=["tests.training.test_factories:make_net"])
    with pytest.raises(ValueError, match="was saved with the factory|plain data"):
        Model.load(evil, factory=make_net)
    assert not marker.exists()


def test_error_shows_the_call_that_loads(tmp_path, wrapped_file):
    _, path = wrapped_file
    evil = _tamper(path, tmp_path / "evil.nc", xattrib_module_spec=_spec(path, factory="os:system"))
    with pytest.raises(UntrustedFactoryError) as err:
        Model.load(evil)
    msg = str(err.value)
    assert "'os:system'" in msg and "from os import system" in msg
    assert "Model.load(path, factory=system)" in msg and "trusted=['os:system']" in msg


def test_a_module_that_runs_code_on_import_is_never_imported(tmp_path, monkeypatch,
                                                             wrapped_file, trained_file):
    marker = tmp_path / "IMPORTED"
    name = _evil_module(tmp_path, monkeypatch, marker)
    for _, path in (wrapped_file, trained_file):
        evil = _tamper(path, tmp_path / "evil.nc", xattrib_arch=name, xattrib_arch_kwargs={},
                       **({"xattrib_module_spec": _spec(path, factory=name, factory_kwargs={})}
                          if path.name == "mine.nc" else {}))
        with pytest.raises(UntrustedFactoryError, match="xattrib_evil_mod:make"):
            Model.load(evil)
        assert not marker.exists() and "xattrib_evil_mod" not in sys.modules


def test_tampered_trained_model_runs_nothing(tmp_path, trained_file):
    marker = tmp_path / "PWNED"
    _, path = trained_file
    evil = _tamper(path, tmp_path / "evil.nc", xattrib_arch="os:system",
                   xattrib_arch_kwargs={"command": f"touch {marker}"})
    with pytest.raises(UntrustedFactoryError, match="'os:system'"):
        Model.load(evil)
    assert not marker.exists()


def test_unknown_registry_names_and_bad_kwargs_are_refused(tmp_path, sst):
    cells = xattrib.CellIndex.from_data(sst)
    m = Model.build("mlp", cells, {"hidden": [4]}, np.zeros(cells.n_cells),
                    np.ones(cells.n_cells), 0.0, 1.0)
    path = m.save(tmp_path / "mlp.nc")
    np.testing.assert_array_equal(Model.load(path).predict(sst).values, m.predict(sst).values)
    bad = {
        "xattrib.models.MLP": ({}, "none of xattrib's"),
        "mlp ": ({}, "none of xattrib's"),
    }
    for arch, (kw, pattern) in bad.items():
        evil = _tamper(path, tmp_path / "e.nc", xattrib_arch=arch, xattrib_arch_kwargs=kw)
        with pytest.raises(ValueError, match=pattern):
            Model.load(evil)
    for kw, pattern in [({"hidden": [{"__class__": "x"}]}, "plain data"),
                        ({"command": "touch x"}, "do not fit the signature"),
                        ({"hidden": [5]}, "has shape"),
                        ({"hidden": [4, 4]}, "do not match the file")]:
        evil = _tamper(path, tmp_path / "e.nc", xattrib_arch_kwargs=kw)
        with pytest.raises(ValueError, match=pattern):
            Model.load(evil)


def test_approved_factory_loads_and_round_trip_is_exact(wrapped_file, sst):
    m, path = wrapped_file
    want = m.predict(sst).values
    for kw in ({"factory": make_net}, {"trusted": ["tests.training.test_factories:make_net"]},
               {"trusted": "tests.training.test_factories:make_net"},
               {"factory": {"tests.training.test_factories:make_net": make_other}}):
        back = Model.load(path, **kw)
        assert back.outputs == ["a", "b"] and back.variables == ["sst"]
        np.testing.assert_array_equal(back.predict(sst).values, want)
        assert back.spec.factory == "tests.training.test_factories:make_net"


def test_trained_model_round_trip(trained_file, sst):
    m, path = trained_file
    assert m.arch == "tests.training.test_factories:make_net"
    back = Model.load(path, factory=make_net)
    np.testing.assert_array_equal(back.predict(sst).values, m.predict(sst).values)
    assert back.arch == m.arch and back.arch_kwargs == m.arch_kwargs


def test_factory_checks_before_anything_runs(tmp_path, wrapped_file):
    _, path = wrapped_file
    with pytest.raises(ValueError, match=r"saved with the factory 'tests.training.test_factories:"
                                         r"make_net' but factory= is .*make_other.*factory="
                                         r"\{'tests.training.test_factories:make_net': make_other\}"):
        Model.load(path, factory=make_other)
    with pytest.raises(TypeError, match="factory must be a callable"):
        Model.load(path, factory="tests.training.test_factories:make_net")
    # kwargs that do not fit the factory: refused before the factory is called
    CALLS.clear()
    evil = _tamper(path, tmp_path / "e.nc",
                   xattrib_module_spec=_spec(path, factory_kwargs={"n_inputs": 3, "depth": 9}))
    with pytest.raises(ValueError, match="do not fit the signature"):
        Model.load(evil, factory=make_net)
    nested = _tamper(path, tmp_path / "n.nc",
                     xattrib_module_spec=_spec(path, factory_kwargs={"n_inputs": {"a": 1}}))
    with pytest.raises(ValueError, match=r"factory_kwargs.*\['n_inputs'\].*plain data"):
        Model.load(nested, factory=make_net)
    assert CALLS == []
    # an approved factory that builds the wrong thing: stopped before weights are loaded
    wrong = {"tests.training.test_factories:make_net": not_a_module}
    with pytest.raises(ValueError, match="returned int, not a torch.nn.Module"):
        Model.load(path, factory=wrong)
    other = _tamper(path, tmp_path / "w.nc", xattrib_module_spec=_spec(
        path, factory_kwargs={"n_inputs": 450, "width": 6, "n_outputs": 2}))
    with pytest.raises(ValueError, match=r"parameter '0.weight' has shape \(6, 450\); the file "
                                         r"stores \(5, 450\)"):
        Model.load(other, factory=make_net)
    unknown = _tamper(path, tmp_path / "u.nc", xattrib_module_spec=_spec(path, hook="x"))
    with pytest.raises(ValueError, match=r"unknown entries \['hook'\]"):
        Model.load(unknown, factory=make_net)


def test_from_module_records_a_callable_or_refuses_what_cannot_be_stored(sst):
    net = make_net(450)
    m = Model.from_module(net, like=sst, factory=make_net, factory_kwargs={"n_inputs": 450})
    assert m.spec.factory == "tests.training.test_factories:make_net"
    with pytest.raises(ValueError, match="no importable name"):
        Model.from_module(net, like=sst, factory=lambda: net)
    with pytest.raises(ValueError, match="plain data"):
        Model.from_module(net, like=sst, factory=make_net,
                          factory_kwargs={"n_inputs": np.int64(450)})
    with pytest.raises(ValueError, match="do not fit the signature"):
        Model.from_module(net, like=sst, factory=make_net, factory_kwargs={"n_input": 450})


def test_benchmark_files_resolve_registry_names_only(tmp_path, monkeypatch):
    marker = tmp_path / "IMPORTED"
    name = _evil_module(tmp_path, monkeypatch, marker)
    bench = xattrib.benchmark(n_samples=20, seed=0, chunks=20)
    path = tmp_path / "b.nc"
    xattrib.io.to_netcdf(bench, path)
    for attrs, pattern in [({"xattrib_response_family": name}, "names the response family"),
                           ({"xattrib_response_family": "os:system"}, "none of"),
                           ]:
        evil = _tamper(path, tmp_path / "e.nc", **attrs)
        with xr.open_dataset(evil) as ds, pytest.raises(ValueError, match=pattern):
            xattrib.generator_from_dataset(ds)
    assert not marker.exists() and "xattrib_evil_mod" not in sys.modules
