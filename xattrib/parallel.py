"""Running on dask: threads per task, progress, and connecting to a cluster.

xattrib's lazy results are ordinary dask collections, so they run on whatever scheduler is
active: the threaded one by default, or a ``dask.distributed.Client`` once one exists (in
Python, ``Client("tcp://host:8786")``; on the command line, ``--scheduler``). This module
adds what dask cannot know about the work inside xattrib's tasks:

- :func:`threads_per_task` / :func:`task_threads`: torch and BLAS run multi-threaded inside
  each task, and dask runs one task per worker thread. Left alone, two dask threads on two
  cores each start two torch threads, and a 16-thread worker on a 16-core node asks for 256.
  Each task gets its share of the cores instead.
- :func:`compute`: compute with dask's own progress reporting (distributed's progress bar
  on a cluster, ``dask.diagnostics.ProgressBar`` locally).
- :func:`client`: a context manager giving a ``Client`` for ``"local"`` (a LocalCluster
  sized to this machine) or a scheduler address.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import dask

__all__ = ["blas_threads", "client", "cluster_bar", "compute", "current_client",
           "one_blas_thread", "persist", "task_threads", "threads_per_task", "usable_cores"]

#: dask configuration key overriding :func:`threads_per_task`
CONFIG_KEY = "xattrib.threads_per_task"


@functools.cache
def _local_setters() -> tuple[Any, ...]:
    """Per-thread thread-count setters of the loaded BLAS libraries.

    Written by hand because threadpoolctl cannot do this: its OpenBLAS limits are
    process-wide and only one "controlling" Python thread may change them (others are
    silently ignored), so limits set from dask's worker threads did nothing and the tasks
    oversubscribed the cores. OpenBLAS ≥ 0.3.27 has ``openblas_set_num_threads_local`` and
    MKL ``MKL_Set_Num_Threads_Local``: they change the calling thread only and return its
    previous value, which is exactly what a task needs.
    """
    import ctypes

    # scipy's BLAS (LAPACK, scikit-learn) is a library of its own: load it before taking
    # the inventory
    import scipy.linalg.blas  # noqa: F401
    from threadpoolctl import threadpool_info

    setters = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        try:
            dll = ctypes.CDLL(lib["filepath"])
        except OSError:  # pragma: no cover - a library that cannot be reopened
            continue
        for name in ("openblas_set_num_threads_local", "MKL_Set_Num_Threads_Local"):
            fn = getattr(dll, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                setters.append(fn)
                break
    return tuple(setters)


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Context manager: BLAS calls made by *this thread* use ``n`` threads inside it
    (other threads and the process-wide setting untouched; see :func:`one_blas_thread`)."""
    setters = _local_setters()
    previous = [fn(int(n)) for fn in setters]
    try:
        yield
    finally:
        for fn, prev in zip(setters, previous, strict=True):
            fn(prev)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Context manager: BLAS calls made by *this thread* use one thread inside it.

    For speed inside dask tasks (one task per core already; a multi-threaded BLAS there
    oversubscribes the cores) and for repeatable LAPACK factorisations. Other threads and
    the process-wide setting are untouched, so concurrent tasks cannot restore each other's
    limits. Where a BLAS offers no per-thread setting it does nothing: generated values
    never depend on it (see the module docstring), only speed does.
    """
    with blas_threads(1):
        yield


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _worker_threads() -> int | None:
    """Task threads of the distributed workers living in this process (None: not a worker)."""
    try:
        from distributed import get_worker
        from distributed.worker import Worker
    except ImportError:  # pragma: no cover - distributed is optional
        return None
    try:
        get_worker()
    except ValueError:
        return None
    from distributed.core import Status

    # every running worker of this process (a LocalCluster with processes=False runs
    # several; closed ones linger in the weak set until collected)
    live = (Status.running, Status.paused)
    return sum(int(w.state.nthreads) for w in list(Worker._instances) if w.status in live) or 1


def threads_per_task() -> int:
    """CPU threads one task may use so concurrent tasks never oversubscribe the cores.

    - ``dask.config.set({"xattrib.threads_per_task": n})`` wins;
    - in a distributed worker started by a nanny, ``OMP_NUM_THREADS`` (distributed sets it
      to 1 for its worker processes) if set, else the cores over the task threads of the
      workers in this process;
    - in the threaded scheduler's pool, the cores over its ``num_workers``;
    - anywhere else (the main thread, the synchronous scheduler), every core.
    """
    forced = dask.config.get(CONFIG_KEY, None)
    if forced is not None:
        if int(forced) < 1:
            raise ValueError(f"dask config {CONFIG_KEY!r} must be a whole number ≥ 1, got "
                             f"{forced!r}")
        return int(forced)
    cores = usable_cores()
    slots = _worker_threads()
    if slots is not None:
        env = os.environ.get("OMP_NUM_THREADS")
        if env and env.isdigit() and int(env) >= 1:
            return int(env)
        return max(1, cores // slots)
    if threading.current_thread() is threading.main_thread():
        return cores
    pool = dask.config.get("num_workers", None) or cores
    return max(1, cores // int(pool))


_lock = threading.Lock()
_active = 0
_saved: int | None = None


@contextlib.contextmanager
def task_threads(n: int | None = None) -> Iterator[int]:
    """Run a task's torch and BLAS work on ``n`` threads (default :func:`threads_per_task`).

    torch's intra-op thread count is process-wide, so it is set when the first concurrent
    task enters and restored when the last one leaves (concurrent tasks agree on ``n``).
    BLAS threads are set for the calling thread only (:func:`blas_threads`). Yields ``n``.
    """
    import torch

    global _active, _saved
    n = threads_per_task() if n is None else int(n)
    with _lock:
        if _active == 0:
            _saved = torch.get_num_threads()
            if _saved != n:
                torch.set_num_threads(n)
        _active += 1
    try:
        with blas_threads(n):
            yield n
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None and torch.get_num_threads() != _saved:
                torch.set_num_threads(_saved)


def current_client() -> Any:
    """The active ``dask.distributed.Client``, or None (threaded or synchronous scheduler)."""
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _local_bar(on: bool) -> Any:
    """dask.diagnostics' progress bar on stderr, or nothing."""
    if not on:
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar(out=sys.stderr)


def cluster_bar(futures: Any) -> None:
    """distributed's progress bar (on stderr); returns when the futures are done."""
    from distributed import progress as dprogress

    with contextlib.redirect_stdout(sys.stderr):
        dprogress(futures)


def compute(*collections: Any, progress: bool = False) -> tuple[Any, ...]:
    """``dask.compute`` with dask's own progress reporting when ``progress``.

    On a distributed client: ``distributed.progress`` on the futures (a text bar on stderr
    in a terminal, a widget in a notebook); otherwise ``dask.diagnostics.ProgressBar``.
    """
    c = current_client()
    if progress and c is not None:
        futures = c.compute(list(collections))
        cluster_bar(futures)
        return tuple(c.gather(futures))
    with _local_bar(progress):
        return dask.compute(*collections)


def persist(collection: Any, progress: bool = False) -> Any:
    """``collection.persist()`` with dask's progress reporting when ``progress`` (on a
    cluster the data stay on the workers; this waits until they are there)."""
    c = current_client()
    with _local_bar(progress and c is None):
        out = collection.persist()
    if c is not None:
        from distributed import wait

        if progress:
            cluster_bar(out)
        wait(out)
    return out


@contextlib.contextmanager
def client(address: str | None, n_workers: int | None = None,
           threads_per_worker: int = 1, memory_limit: str | float = "auto") -> Iterator[Any]:
    """A ``Client`` for the duration of the block (None: no client, dask's threads).

    ``address`` is ``"local"`` for a LocalCluster on this machine (``n_workers`` processes,
    default one per core over ``threads_per_worker``) or a scheduler address such as
    ``"tcp://10.0.0.1:8786"`` for an existing cluster (its workers' memory and threads are
    set where the cluster is started, e.g. ``dask worker ADDRESS --nthreads 4
    --memory-limit 8GB``).
    """
    if address is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if address == "local":
        n = n_workers or max(1, usable_cores() // threads_per_worker)
        with LocalCluster(n_workers=n, threads_per_worker=threads_per_worker,
                          memory_limit=memory_limit, dashboard_address=None) as cluster, \
                Client(cluster) as c:
            yield c
        return
    with Client(address) as c:
        yield c
