"""Scale: the pipeline on a 2-worker LocalCluster equals the local one, survives a worker
dying mid-computation, streams to zarr (complete or absent), trains from storage and from the
generator, and keeps torch/BLAS threads within each task's share of the cores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import dask
import numpy as np
import pytest
import xarray as xr

import xattrib
from tests.conftest import raise_if_dask_computes
from xattrib.parallel import task_threads, threads_per_task

distributed = pytest.importorskip("distributed")

METHODS = ["gradient", "integrated_gradients", "smoothgrad"]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def setup(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=1200, seed=3, chunks=150)
    model = xattrib.fit(bench, epochs=1, hidden=(16,), progress=False, fresh=False)
    return bench, model


def _pipeline(bench, model, **kw):
    """Attributions and scores of every sample, one lazy Dataset (what a 10⁷ run streams)."""
    heat = xattrib.attribute(bench, model, methods=METHODS, progress=False, seed=1, **kw)
    scores = xattrib.score(heat, bench["truth"])
    return xr.merge([heat, scores], combine_attrs="override")


@pytest.fixture(scope="module")
def local(setup):
    bench, model = setup
    with dask.config.set(scheduler="synchronous"):
        return bench.compute(), _pipeline(bench, model).compute()


def test_streamed_pipeline_on_cluster_equals_local(cluster, setup, local, tmp_path):
    bench, model = setup
    with distributed.Client(cluster):
        xattrib.io.to_zarr(bench, tmp_path / "bench.zarr")
        stored = xattrib.io.open_dataset(tmp_path / "bench.zarr")
        # attributions and scores of the stored benchmark, straight into a store
        xattrib.io.to_zarr(_pipeline(stored, model), tmp_path / "scores.zarr")
        xattrib.io.to_netcdf(bench, tmp_path / "bench.nc")  # netCDF streams too
    for store in ("bench.zarr", "bench.nc"):  # generation: bit-identical
        got_bench = xattrib.io.open_dataset(tmp_path / store).compute()
        for v in ("x", "y", "truth"):
            np.testing.assert_array_equal(got_bench[v].values, local[0][v].values)
    got = xattrib.io.open_dataset(tmp_path / "scores.zarr").compute()
    want = local[1]
    for v in ("attribution", "pearson", "spearman", "nmae", "completeness_error"):
        np.testing.assert_allclose(got[v].values, want[v].values, rtol=1e-5, atol=1e-7,
                                   err_msg=v)
    assert got.sizes["sample"] == 1200 and (np.diff(got["sample"].values) == 1).all()


def test_worker_killed_mid_computation_loses_nothing(cluster, setup, local, tmp_path):
    bench, model = setup
    path = tmp_path / "heat.zarr"
    with distributed.Client(cluster) as client:
        victim = sorted(client.scheduler_info()["workers"])[0]
        pid = client.run(os.getpid, workers=[victim])[victim]
        killed = threading.Event()

        def kill_when_busy() -> None:
            # mid-computation: some tasks done (a second in), the victim running others
            start = time.monotonic()
            while time.monotonic() < start + 60:
                busy = client.processing(workers=[victim]).get(victim, ())
                if busy and time.monotonic() > start + 1.0:
                    os.kill(pid, signal.SIGKILL)  # the worker process dies, no goodbye
                    killed.set()
                    return
                time.sleep(0.02)

        t = threading.Thread(target=kill_when_busy, daemon=True)
        t.start()
        xattrib.io.to_zarr(_pipeline(bench, model, n_steps=200), path)
        t.join()
        assert killed.is_set(), "the worker was never seen running a task"
        assert victim not in client.scheduler_info()["workers"]  # it really died
    got = xattrib.io.open_dataset(path).compute()
    want = _pipeline(bench, model, n_steps=200).compute(scheduler="synchronous")
    assert got.sizes["sample"] == 1200
    for v in ("attribution", "pearson", "completeness_error"):
        np.testing.assert_allclose(got[v].values, want[v].values, rtol=1e-5, atol=1e-7,
                                   err_msg=v)


def test_cli_runs_on_a_scheduler_address(cluster, tmp_path):
    from xattrib.cli import main

    rc = main(["benchmark", "--out", str(tmp_path / "out"), "--samples", "2000",
               "--test-samples", "100", "--exact-samples", "0", "--epochs", "1",
               "--samples-per-epoch", "4000", "--methods", "gradient", "--grid", "global",
               "--resolution", "30", "--scheduler", cluster.scheduler_address, "--quiet"])
    assert rc == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "validation R²" in report
    heat = xattrib.io.open_dataset(tmp_path / "out" / "attributions.nc")
    assert heat.sizes["sample"] == 100


_WRITER = textwrap.dedent("""
    import sys, dask, xattrib
    g = xattrib.grid.make_grid(resolution=20.0, mask="ocean")
    b = xattrib.benchmark(g, n_samples=2_000_000, seed=0, chunks=2000)
    with dask.config.set(scheduler="synchronous"):
        xattrib.io.to_zarr(b, sys.argv[1])
""")


def test_killed_writer_leaves_no_store(tmp_path):
    path = tmp_path / "bench.zarr"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)])
    try:
        deadline = time.monotonic() + 120
        # wait until chunks are being written into the temporary store beside the target
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.name.startswith(".bench.zarr.") and any((p / "x").glob("c/*"))
                   for p in tmp_path.iterdir()):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the writer finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not path.exists()  # absent, never half-written


def test_threads_per_task_share_the_cores(cluster):
    import torch

    cores = len(os.sched_getaffinity(0))

    def inside(block):
        with task_threads() as n:
            return np.array([n, torch.get_num_threads()])

    arr = dask.array.zeros(4, chunks=1)
    before = torch.get_num_threads()
    with dask.config.set(scheduler="threads", num_workers=2):
        got = arr.map_blocks(inside, chunks=(2,), dtype=int).compute().reshape(-1, 2)
    assert (got[:, 0] == max(1, cores // 2)).all() and (got[:, 0] == got[:, 1]).all()
    assert torch.get_num_threads() == before  # restored once the last task left
    with dask.config.set({"xattrib.threads_per_task": 3}):
        assert threads_per_task() == 3
    with distributed.Client(cluster) as client:
        on_workers = client.compute(arr.map_blocks(inside, chunks=(2,), dtype=int)).result()
    # nanny workers run with OMP_NUM_THREADS=1: one thread per task, never oversubscribed
    assert (on_workers.reshape(-1, 2) == 1).all()
    with dask.config.set({"xattrib.threads_per_task": 0}), \
            pytest.raises(ValueError, match="threads_per_task"):
        threads_per_task()


def test_fit_on_an_untouched_benchmark_draws_from_the_generator(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=3000, seed=5, chunks=500)
    kw = dict(epochs=2, hidden=(8,), progress=False, fresh=False, seed=0)
    with raise_if_dask_computes(0):  # not one chunk regenerated through the graph
        direct = xattrib.fit(bench, **kw)
    through_graph = xattrib.fit(bench.persist(), **kw)
    assert direct.r2 == through_graph.r2
    for a, b in zip(direct.module.state_dict().values(),
                    through_graph.module.state_dict().values(), strict=True):
        assert bool((a == b).all())


class _SizeCountingScheduler:
    def __init__(self):
        self.sizes = []

    def __call__(self, dsk, keys, **kw):
        out = dask.get(dsk, keys, **kw)
        self.sizes.append(sum(a.nbytes for a in dask.core.flatten(out)
                              if isinstance(a, np.ndarray)))
        return out


def test_fit_from_zarr_reads_chunk_by_chunk(small_grid, tmp_path):
    bench = small_grid.xattrib.benchmark(n_samples=4000, seed=5, chunks=500)
    xattrib.io.to_zarr(bench, tmp_path / "b.zarr")
    stored = xattrib.io.open_dataset(tmp_path / "b.zarr")
    kw = dict(epochs=1, hidden=(8,), progress=False, fresh=False, seed=0)
    sched = _SizeCountingScheduler()
    with dask.config.set(scheduler=sched):
        from_store = xattrib.fit(stored, **kw)
    whole = 4000 * (int(small_grid["mask"].sum()) * 4 + 8)
    assert len(sched.sizes) >= 8 and max(sched.sizes) < whole / 4  # one chunk at a time
    in_memory = xattrib.fit(bench.persist(), **kw)  # the same stream of chunks, in memory
    assert from_store.r2 == in_memory.r2


def test_progress_is_dask_own_on_a_cluster_and_locally(cluster, capfd):
    from xattrib import parallel

    arr = dask.array.arange(40, chunks=4) * 2
    with distributed.Client(cluster):
        assert parallel.current_client() is not None
        got, = parallel.compute(arr, progress=True)
        kept = parallel.persist(arr, progress=True)
        np.testing.assert_array_equal(kept.compute(), got)
    remote = capfd.readouterr().err
    assert parallel.current_client() is None
    local, = parallel.compute(arr, progress=True)
    np.testing.assert_array_equal(local, np.arange(40) * 2)
    np.testing.assert_array_equal(got, local)
    err = capfd.readouterr().err
    assert "100% Completed" in err  # dask.diagnostics.ProgressBar, on stderr
    assert "100% Completed" in remote  # distributed's progress bar, on stderr


def test_threads_per_task_with_threaded_workers_in_one_process(monkeypatch):
    """Workers sharing this process (processes=False) split its cores between all their
    task threads: 2 workers x 2 threads on 8 cores leave 2 threads per task."""
    from xattrib import parallel

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(parallel, "usable_cores", lambda: 8)
    # closed workers of an earlier in-process cluster, not yet garbage-collected, must not
    # count (they made this test see 1 thread in CI)
    with distributed.Client(n_workers=3, threads_per_worker=2, processes=False,
                            dashboard_address=None):
        pass
    stale = list(distributed.worker.Worker._instances)
    arr = dask.array.zeros(8, chunks=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as c, distributed.Client(c) as cl:
        got = cl.compute(arr.map_blocks(lambda b: np.array([threads_per_task()]),
                                        dtype=int)).result()
    assert (got == 2).all() and stale


def test_fresh_recipe_validates_on_at_most_the_last_100k(small_grid):
    from xattrib.training.fitting import FRESH_RECIPE

    assert FRESH_RECIPE["max_val_samples"] == 100_000
    bench = small_grid.xattrib.benchmark(n_samples=240_000, seed=5, chunks=60_000)
    m = xattrib.fit(bench, epochs=1, samples_per_epoch=2_000, hidden=(4,), progress=False)
    assert m.provenance["fit_n_val"] == 100_000  # not half of 240 000
    m = xattrib.fit(bench, epochs=1, samples_per_epoch=2_000, hidden=(4,), progress=False,
                    val_fraction=0.5)
    assert m.provenance["fit_n_val"] == 120_000  # an explicit fraction is exact


def test_gtfree_metrics_on_cluster_equal_local(cluster, setup):
    """evaluate() on a 2-worker cluster (the model travels to the workers) gives the same
    bits as the threaded scheduler: its draws are seeded per sample, not per worker."""
    bench, model = setup
    sub = bench.isel(sample=slice(0, 60))
    heat = xattrib.attribute(sub, model, methods=["gradient", "integrated_gradients"],
                             progress=False)
    names = ["faithfulness_correlation", "road_gap", "avg_sensitivity", "sparseness"]
    kw = {"metrics": names, "seed": 2, "avg_sensitivity": {"n_samples": 3}}
    with dask.config.set(scheduler="threads"):
        want = xattrib.evaluate(heat, model, sub, **kw).compute()
    with distributed.Client(cluster):
        got = xattrib.evaluate(heat, model, sub, **kw).compute()
    for v in names:
        np.testing.assert_array_equal(got[v].values, want[v].values, err_msg=v)


def test_ensemble_members_train_as_tasks_on_a_cluster_and_equal_local_ones(cluster, setup):
    """One member per task on the workers, each on one torch thread: the same weights as
    the members trained in local threads."""
    bench = setup[0]
    kw = {"epochs": 1, "samples_per_epoch": 2000, "hidden": (8,), "progress": False,
          "threads": 1}
    local_ens = xattrib.fit(bench, seed=[4, 5], **kw)
    with distributed.Client(cluster):
        remote = xattrib.fit(bench, seed=[4, 5], **kw)
    for a, b in zip(local_ens, remote, strict=True):
        sa, sb = a.module.state_dict(), b.module.state_dict()
        assert all(np.array_equal(sa[k].numpy(), sb[k].numpy()) for k in sa)
        assert a.r2 == b.r2
