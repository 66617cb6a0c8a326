"""One registry mechanism for every family, and the recipes of docs/architecture.md.

Each recipe registers a toy member from a temporary module (as a contributor's new module
would) and finds it in the command line, the error hints, the docs table and the pipeline.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import xattrib
from xattrib.cli import FAMILIES, _parser, main
from xattrib.registry import Registry, UnknownNameError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
tables = importlib.import_module("tables")


def test_registry_basics():
    r: Registry[int] = Registry("colour")
    r.register("red", 1)
    assert r.register("green")(2) == 2  # as a decorator
    assert r.names() == ["red", "green"] and "red" in r and len(r) == 2
    with pytest.raises(ValueError, match="a colour named 'red' is registered"):
        r.register("red", 3)
    r.register("red", 3, overwrite=True)
    assert r.get("red") == 3
    with pytest.raises(UnknownNameError, match=r"unknown colour 'gren'; Did you mean 'green'\? "
                                               r"Valid colours: red, green"):
        r.get("gren")
    with pytest.raises(KeyError):  # a KeyError too, for code that expects a mapping
        r["blue"]
    with pytest.raises(ValueError, match="snake_case identifier"):
        r.register("two words", 4)
    assert r.unregister("red") == 3 and r.names() == ["green"]


def test_docs_tables_are_up_to_date():
    assert tables.stale(write=False) == [], "run .venv/bin/python docs/tables.py"


def _cli_list(family: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["list", family]) == 0
    return out.getvalue()


@contextlib.contextmanager
def _plugin(tmp_path, monkeypatch, name: str, source: str, registry, member: str):
    """Import ``source`` as a new module (it registers ``member``); unregister after."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module(name)
    try:
        yield
    finally:
        registry.unregister(member)
        sys.modules.pop(name, None)


def _found_everywhere(family: str, registry, member: str, typo: str) -> None:
    assert f"`{member}`" in _cli_list(family)
    with pytest.raises(ValueError, match=f"Did you mean '{member}'"):
        registry.get(typo)
    assert f"`{member}`" in tables.render(family)


def test_recipe_method(tmp_path, monkeypatch):
    from xattrib.job import JobConfig
    from xattrib.methods import METHODS

    src = """
        from xattrib.methods.base import Method, register_method

        def _run(net, x, baseline, background, forward_args=None):
            return 2 * x

        register_method(Method("toy_double_input", _run, baseline=None,
                               description="twice the input"))
    """
    with _plugin(tmp_path, monkeypatch, "toy_method_mod", src, METHODS, "toy_double_input"):
        _found_everywhere("methods", METHODS, "toy_double_input", "toy_double_inpt")
        assert "toy_double_input" in JobConfig().methods  # the job's defaults read the registry
        JobConfig(methods=["toy_double_input"]).validate()
        bench = xattrib.benchmark(n_samples=8, chunks=8, response="linear")
        heat = bench.xattrib.attribute(xattrib.Model.exact(bench), methods="toy_double_input",
                                       progress=False)
        np.testing.assert_allclose(heat["attribution"].isel(xai_method=0),
                                   2 * bench["x"], rtol=1e-6)
    assert "toy_double_input" not in METHODS


def test_recipe_response_family(tmp_path, monkeypatch):
    from xattrib.responses import RESPONSES

    src = """
        from dataclasses import dataclass
        from typing import ClassVar
        import numpy as np
        from xattrib.responses.base import RESPONSES, Response, correlated_draws, ramp_layers

        @dataclass(eq=False)
        class Cubic(Response):
            name: ClassVar[str] = "toy_cubic"
            description: ClassVar[str] = "wᵢ·x³"
            param_dims: ClassVar[dict] = {"weights": ()}

            def __call__(self, x):
                return self.params["weights"] * np.asarray(x) ** 3

            @classmethod
            def random(cls, rng, corr_factor, std, **kwargs):
                return cls({"weights": correlated_draws(rng, corr_factor, 1)[:, 0]})

        RESPONSES.register(Cubic.name, Cubic)
    """
    with _plugin(tmp_path, monkeypatch, "toy_response_mod", src, RESPONSES, "toy_cubic"):
        _found_everywhere("responses", RESPONSES, "toy_cubic", "toy_cubik")
        choices = next(a for a in _parser()._subparsers._group_actions[0].choices[  # type: ignore
            "benchmark"]._actions if a.dest == "response").choices
        assert "toy_cubic" in choices
        b = xattrib.benchmark(n_samples=16, chunks=16, response="toy_cubic").compute()
        np.testing.assert_allclose(b["truth"].sum(["lat", "lon"]), b["y"], rtol=1e-4)


def test_recipe_metric(tmp_path, monkeypatch):
    from xattrib.truth_metrics import TRUTH_METRICS

    src = """
        import numpy as np
        from xattrib.truth_metrics.base import TRUTH_METRICS, TruthMetric

        def toy_max_error(a, g, w, **_):
            return np.abs(a - g).max(-1)

        TRUTH_METRICS.register("toy_max_error", TruthMetric(
            toy_max_error, "largest absolute error", "", "max |a − g|"))
    """
    with _plugin(tmp_path, monkeypatch, "toy_metric_mod", src, TRUTH_METRICS, "toy_max_error"):
        _found_everywhere("truth-metrics", TRUTH_METRICS, "toy_max_error", "toy_max_eror")
        truth = xattrib.benchmark(n_samples=4, chunks=4)["truth"]
        s = xattrib.score(truth + 1.0, truth, metrics=["toy_max_error", "pearson"])
        np.testing.assert_allclose(s["toy_max_error"], 1.0, rtol=1e-6)


def test_recipe_transform(tmp_path, monkeypatch):
    from xattrib.transforms import TRANSFORMS

    src = """
        from typing import ClassVar
        import numpy as np
        import xarray as xr
        from xattrib.transforms.base import TRANSFORMS, Transform

        class Negate(Transform):
            name = "toy_negate"
            needs: ClassVar[str] = "any grid"
            default_groups: ClassVar[str] = "cell"
            description: ClassVar[str] = "minus every cell"

            def __init__(self, cells):
                super().__init__(cells)
                self.features = xr.DataArray(np.arange(cells.n_cells), dims=("cell_feature",),
                                             name="cell_feature")

            def forward(self, x):
                return -x

            def inverse(self, s):
                return -s

        TRANSFORMS.register("toy_negate", Negate)
    """
    with _plugin(tmp_path, monkeypatch, "toy_transform_mod", src, TRANSFORMS, "toy_negate"):
        _found_everywhere("transforms", TRANSFORMS, "toy_negate", "toy_negat")
        bench = xattrib.benchmark(n_samples=4, chunks=4, response="linear")
        model = xattrib.Model.exact(bench)
        out = bench.xattrib.trim(model, transform="toy_negate", methods="occlusion",
                                 progress=False)
        total = out["attribution"].isel(xai_method=0).sum("cell_feature")
        np.testing.assert_allclose(total, bench["truth"].sum(["lat", "lon"]), atol=1e-5)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_lists_and_tables(family):
    text = _cli_list(family)
    assert text.startswith("| name | description |")
    registry = FAMILIES[family]()
    assert all(f"`{n}`" in text for n in registry.names())
