"""Shared fixtures: small grids and fields built in code, eager and dask-chunked."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr
from hypothesis import settings

import xattrib  # noqa: F401  (registers the accessor)

# Two xdist workers on two cores: keep torch from oversubscribing.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The suite is a gate: the same commit must pass or fail the same way every time, so
# hypothesis draws its examples from a fixed seed by default. HYPOTHESIS_PROFILE=explore
# searches afresh (and longer) to find new failing cases; add any it finds as explicit tests.
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _close_figures():
    """Close what a test drew: pyplot keeps figures per process, and with warnings as errors
    the 21st open figure on an xdist worker fails whichever test happens to draw it.
    (The job itself must close its own: tests/test_cli.py checks that.)"""
    yield
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


class _CountingScheduler:
    """A dask scheduler that counts how often it is asked to compute (cf-xarray's idea)."""

    def __init__(self, max_computes: int = 0) -> None:
        self.total = 0
        self.max_computes = max_computes

    def __call__(self, dsk, keys, **kwargs):
        self.total += 1
        if self.total > self.max_computes:
            raise RuntimeError(f"Too many dask computations were scheduled: {self.total}")
        return dask.get(dsk, keys, **kwargs)


@contextlib.contextmanager
def raise_if_dask_computes(max_computes: int = 0):
    """Fail if the code inside computes any dask graph (more than ``max_computes`` times)."""
    scheduler = _CountingScheduler(max_computes)
    with dask.config.set(scheduler=scheduler):
        yield scheduler


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The documentation site, built once per test run: every example in ``examples/``
    executed as a notebook at its small size (``XATTRIB_EXAMPLE_SIZE=small``), an error
    failing the build. Sphinx reads pages two at a time (``-j 2``: the notebooks run
    concurrently).

    Built once for all xdist workers: the first worker that needs it builds it under a file
    lock in the run's shared temporary folder and the others read it. (The tests that read
    it also carry ``xdist_group("docs")`` for ``--dist loadgroup``, which keeps them on one
    worker; with pytest 9.2 that grouping is silently lost, pytest-dev/pytest-xdist#1386,
    and without the lock both workers built the site.)"""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    import fcntl

    docs = Path(__file__).resolve().parent.parent / "docs"
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run's
    out = root / "docs-site"
    out.mkdir(exist_ok=True)
    with open(root / "docs-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (out / "done").exists():
            env = {**os.environ, "XATTRIB_EXAMPLE_SIZE": "small"}
            res = subprocess.run(
                [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-j", "2", "-b", "html",
                 "-d", str(out / "doctrees"), str(docs), str(out / "html")],
                capture_output=True, text=True, env=env, timeout=2400)
            (out / "done").write_text(str(res.returncode) + "\n" + res.stdout[-3000:]
                                      + "\n" + res.stderr[-6000:])
    status = (out / "done").read_text()
    assert status.startswith("0\n"), status
    return out / "html"


@pytest.fixture(scope="session")
def sst():
    """The bundled Pacific SST anomalies (time, lat, lon)."""
    return xattrib.datasets.pacific_sst()


@pytest.fixture(scope="session")
def sst_cells(sst):
    """The valid cells of the bundled SST."""
    return xattrib.CellIndex.from_data(sst)


@pytest.fixture(scope="session")
def grid10():
    return xattrib.grid.make_grid(resolution=10.0, mask="ocean")


@pytest.fixture(scope="session")
def small_grid():
    """A 20° regional ocean grid with land: small enough for quick networks."""
    return xattrib.grid.make_grid(resolution=20.0, lat=(-60, 60), lon=(100, 300), mask="ocean")


@pytest.fixture
def field(small_grid):
    rng = np.random.default_rng(0)
    ny, nx = small_grid.sizes["lat"], small_grid.sizes["lon"]
    da = xr.DataArray(
        rng.standard_normal((12, ny, nx)), dims=("sample", "lat", "lon"),
        coords={"lat": small_grid.lat, "lon": small_grid.lon}, name="x",
    )
    return da.where(small_grid["mask"])


@pytest.fixture(scope="session")
def linear_case(small_grid):
    """A linear benchmark, its exact network and IG / gradient / a random map on it:
    IG = w ⊙ x exactly with the zero baseline."""
    bench = small_grid.xattrib.benchmark(n_samples=24, seed=0, response="linear").compute()
    exact = xattrib.Model.exact(bench)
    heat = xattrib.attribute(bench, exact, methods=["integrated_gradients", "gradient"],
                             progress=False).compute()
    rng = np.random.default_rng(1)
    rand = heat["attribution"].isel(xai_method=[0]).copy(
        data=rng.standard_normal(heat["attribution"].isel(xai_method=[0]).shape))
    rand = rand.where(bench["mask"]).assign_coords(xai_method=["random"])
    return bench, exact, heat, rand


def pytest_collection_modifyitems(config, items):
    """The documentation site takes longest to build and runs on one core (one notebook at a
    time): the first test that reads it goes first, so one worker starts building at once
    while the other runs the rest; the site's other readers keep their place and find it
    built."""
    first = next((i for i, item in enumerate(items)
                  if "site" in getattr(item, "fixturenames", ())), None)
    if first:
        items.insert(0, items.pop(first))
