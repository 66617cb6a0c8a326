"""``fit()``: train a torch network on a benchmark Dataset without materialising it.

Samples stream from dask chunks (or, with ``fresh=True``, from the benchmark's generator,
a new draw every epoch) into a shuffle buffer spanning several chunks, then into torch
batches. The next chunk is loaded in a background thread while the network trains.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, overload

import dask.array as dsa
import numpy as np
import xarray as xr

from ..dims import sample_dim_of
from ..generation import generator_from_dataset, input_variables, is_benchmark, is_untouched
from ..grid import CellIndex, require_xarray
from ..parallel import cluster_bar, current_client, one_blas_thread, task_threads, usable_cores
from .ensemble import Ensemble, check_seeds
from .model import Model, resolve_device

__all__ = ["fit"]

_CHUNK = 50_000          # samples per load when the data are not chunked already
_SHUFFLE_SAMPLES = 200_000  # shuffle buffer: samples mixed across chunks before batching
_PIECE = 10_000          # samples loaded and normalised at a time into a buffer (memory only)


def _check_finite(x: np.ndarray, start: int) -> np.ndarray:
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x).all(1))[0]) + start
        raise ValueError(f"non-finite input on a valid cell in sample {bad}; NaN must mark "
                         "cells invalid in every sample (land), not missing values")
    return x


class _Source:
    """Where samples come from: ranges of a (lazy) Dataset, or the endless generator."""

    def __init__(self, ds: xr.Dataset, cells: CellIndex, xnames: list[str], yname: str,
                 sample_dim: str, val_fraction: float, fresh: bool,
                 samples_per_epoch: int | None, fresh_every: int = 1,
                 max_val: int | None = None) -> None:
        self.cells = cells
        parts = [cells.stack(ds[v].transpose(sample_dim, *cells.spatial.dims)).data
                 for v in xnames]  # several variables: each one's cells in turn
        self.x = parts[0] if len(parts) == 1 else (
            np.concatenate(parts, axis=1) if all(isinstance(p, np.ndarray) for p in parts)
            else dsa.concatenate(parts, axis=1))
        self.y = ds[yname].data
        n = self.x.shape[0]
        self.n_val = int(round(n * val_fraction))
        if max_val is not None:
            self.n_val = min(self.n_val, max_val)
        self.n_train = n - self.n_val
        if self.n_train < 2 or (val_fraction > 0 and self.n_val < 2):
            raise ValueError(f"{n} samples cannot be split with val_fraction={val_fraction}; "
                             "use more samples or another val_fraction")
        self.n_total = n
        self.fresh = fresh
        self.fresh_every = int(fresh_every)
        self.gen = None
        # a lazy benchmark as generated: draw its samples straight from the generator (same
        # values, index by index) instead of running its graph for every chunk of every epoch
        self.direct = is_untouched(ds, xnames[0], yname) and (
            len(xnames) == 1 or xnames == input_variables(ds))
        self.first_fresh = n
        # fresh draws hold every variable of a benchmark; the network may read some of them
        self.columns: np.ndarray | None = None
        if fresh or self.direct:
            self.gen = generator_from_dataset(ds)
            every = list(self.gen.variables)
            if every and xnames != every:
                d = cells.n_cells
                self.columns = np.concatenate([np.arange(d) + every.index(v) * d
                                               for v in xnames])
        if fresh:
            self.first_fresh = int(np.asarray(ds[sample_dim].values).max()) + 1
        self.per_epoch = int(samples_per_epoch or self.n_train)
        chunks = getattr(self.x, "chunks", None)
        size = chunks[0][0] if chunks else _CHUNK
        self.chunk = int(min(size, _CHUNK * 4))

    def _ranges(self, lo: int, hi: int) -> list[tuple[int, int]]:
        return [(s, min(s + self.chunk, hi)) for s in range(lo, hi, self.chunk)]

    def load(self, s: int, e: int) -> tuple[np.ndarray, np.ndarray]:
        if self.gen is not None and (self.direct or s >= self.first_fresh):
            if self.gen.space is None:
                x = self.gen.draw_x(s, e)
                y, _ = self.gen.respond(x, start=s)
                if self.columns is not None:  # y reads every variable, the network some
                    x = x[:, self.columns]
            else:  # the response reads the transformed features of the same draws
                x, y, _ = self.gen.draw(s, e)
                y = y + self.gen.noise(s, e)
        elif isinstance(self.x, np.ndarray):
            x, y = self.x[s:e], np.asarray(self.y[s:e], dtype=np.float64)
        else:  # one compute for both: x and y of a benchmark come from the same tasks
            import dask

            x, y = dask.compute(self.x[s:e], self.y[s:e])
            y = np.asarray(y, dtype=np.float64)
        return _check_finite(np.ascontiguousarray(x, dtype=np.float32), s), y

    def train_ranges(self, epoch: int, rng: np.random.Generator) -> list[tuple[int, int]]:
        if self.fresh:
            lo = self.first_fresh + (epoch // self.fresh_every) * self.per_epoch
            return self._ranges(lo, lo + self.per_epoch)
        ranges = self._ranges(0, self.n_train)
        return [ranges[i] for i in rng.permutation(len(ranges))]

    def val_ranges(self) -> list[tuple[int, int]]:
        return self._ranges(self.n_train, self.n_total)


def _stream(source: _Source, ranges: list[tuple[int, int]], pool: ThreadPoolExecutor
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Chunks in order, the next one loading in the background while this one is used."""
    if not ranges:
        return
    nxt = pool.submit(source.load, *ranges[0])
    for i in range(len(ranges)):
        cur = nxt.result()
        if i + 1 < len(ranges):
            nxt = pool.submit(source.load, *ranges[i + 1])
        yield cur


def _groups(ranges: list[tuple[int, int]], size: int) -> list[list[tuple[int, int]]]:
    """Consecutive ranges grouped into shuffle buffers of at least ``size`` samples."""
    out: list[list[tuple[int, int]]] = [[]]
    held = 0
    for r in ranges:
        if held >= size:
            out.append([])
            held = 0
        out[-1].append(r)
        held += r[1] - r[0]
    return [g for g in out if g]


class _Buffers:
    """Training data as ready-to-slice buffers, each prepared in the loader thread.

    A buffer is several chunks (≥ 200k samples) loaded, normalised, shuffled and turned into
    float32 tensors; the training thread only takes contiguous slices (views) of it. All the
    per-sample work a bare in-memory loop avoids happens off the training thread.
    """

    def __init__(self, src: _Source, x_mean: np.ndarray, x_std: np.ndarray, y_mean: float,
                 y_std: float) -> None:
        self.src, self.x_mean, self.x_std = src, x_mean, x_std
        self.y_mean, self.y_std = y_mean, y_std
        self._resident: tuple[Any, Any] | None = None
        self._resident_key: Any = None

    @property
    def resident(self) -> bool:
        """Keep one normalised tensor and gather shuffled batches by index (as a bare loop
        does): for numpy-backed data, and for fresh pools reused for several epochs."""
        if self.src.fresh:
            return self.src.fresh_every > 1
        return isinstance(self.src.x, np.ndarray)

    def _prepare(self, group: list[tuple[int, int]], seed: Any, workers: int = 1
                 ) -> tuple[Any, Any]:
        """One buffer: the group's samples normalised (float32) and, with ``seed``, shuffled.

        Each piece of at most :data:`_PIECE` samples is loaded, normalised and written
        straight to its (shuffled) rows of one preallocated array, so the peak is the buffer
        plus a few pieces: concatenating, indexing and normalising whole arrays held four
        copies (a 10⁶-sample pool of 450 cells peaked at 7.9 GB for 1.8 GB of data). Values
        are the same: the sources are row-independent and the arithmetic is elementwise.
        """
        import torch

        pieces = [(s, min(s + _PIECE, e)) for s0, e in group for s in range(s0, e, _PIECE)]
        n = sum(e - s for s, e in pieces)
        x_out = np.empty((n, self.x_mean.shape[0]), dtype=np.float32)
        y_out = np.empty(n, dtype=np.float32)
        # row j of the concatenated pieces goes to row where[j] (x_out = concat[order])
        where = np.argsort(np.random.default_rng(seed).permutation(n)) if seed is not None \
            else None
        offsets = np.cumsum([0] + [e - s for s, e in pieces])

        def fill(i: int) -> None:
            x, y = self.src.load(*pieces[i])
            rows: Any = slice(offsets[i], offsets[i + 1]) if where is None \
                else where[offsets[i]:offsets[i + 1]]
            x_out[rows] = (x - self.x_mean) / self.x_std
            y_out[rows] = ((y - self.y_mean) / self.y_std).astype(np.float32)

        # one BLAS thread per loading thread: torch or the other loaders use the other cores
        # (multi-threaded BLAS here doubled the epoch time through oversubscription)
        with one_blas_thread():
            if workers > 1 and len(pieces) > 1:
                with ThreadPoolExecutor(workers, thread_name_prefix="xattrib-draw") as ex:
                    list(ex.map(fill, range(len(pieces))))
            else:
                for i in range(len(pieces)):
                    fill(i)
        return torch.from_numpy(x_out), torch.from_numpy(y_out)

    def epoch(self, ranges: list[tuple[int, int]], pool: ThreadPoolExecutor, seed: int,
              epoch: int) -> Iterator[tuple[Any, Any, Any]]:
        """Yield ``(x, y, order)``: batches are ``x[order[s:s+b]]`` (``order`` None: slices)."""
        import torch

        if self.resident:
            key = epoch // self.src.fresh_every if self.src.fresh else 0
            if self._resident_key != key:  # a new pool: drawn on every core, training waits
                self._resident = None
                self._resident = self._prepare(ranges, None, workers=os.cpu_count() or 1)
                self._resident_key = key
            assert self._resident is not None
            n = int(self._resident[0].shape[0])
            g = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch])
                                                  .generate_state(1)[0]))
            yield (*self._resident, torch.randperm(n, generator=g))
            return
        groups = _groups(ranges, _SHUFFLE_SAMPLES)
        if not groups:
            return
        nxt = pool.submit(self._prepare, groups[0], [seed, epoch, 0])
        for i in range(len(groups)):
            cur = nxt.result()
            if i + 1 < len(groups):
                nxt = pool.submit(self._prepare, groups[i + 1], [seed, epoch, i + 1])
            yield (*cur, None)


def _lr_lambda(total: int, warmup_frac: float = 0.02, floor: float = 0.01) -> Any:
    warm = max(1, int(total * warmup_frac))

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total - warm))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    return f


#: Defaults on a benchmark (fresh samples from its generator): the recipe of the main job,
#: which reaches validation R² ≥ 0.99 on the default Pacific SST benchmark in about 7 minutes
#: of training on 2 CPU cores (benchmarks/train.py --defaults), with 10⁶ fresh samples per
#: epoch. (Scaling that with the number of cells starved small grids of optimiser steps:
#: 2500 × 47 samples per epoch stalled at R² 0.954.)
#: samples × inputs the linear reference is fitted on at most (all 100k samples of the
#: 450-cell SST; 4,622 at 1°)
LINEAR_VALUES = 200_000_000

FRESH_RECIPE: dict[str, Any] = {"epochs": 16, "batch_size": 1024, "lr": 2e-3,
                                "val_fraction": 0.5, "max_val_samples": 100_000,
                                "fresh_every": 4, "patience": 4,
                                "target_r2": 0.995}
FRESH_SAMPLES_PER_EPOCH = 1_000_000
#: Defaults on data without a generator (real data): its own samples, early stopping.
DATA_RECIPE: dict[str, Any] = {"epochs": 100, "batch_size": 256, "lr": 1e-3,
                               "val_fraction": 0.1, "fresh_every": 1, "patience": 5,
                               "target_r2": None}


@overload
def fit(ds: xr.Dataset, arch: Any = ..., epochs: int | None = ..., batch_size: int | None = ...,
        lr: float | None = ..., weight_decay: float = ..., optimizer: str = ...,
        val_fraction: float | None = ..., fresh: bool | None = ...,
        samples_per_epoch: int | None = ..., fresh_every: int | None = ...,
        patience: int | None | str = ..., target_r2: float | None | str = ...,
        seed: int = ..., **kwargs: Any) -> Model: ...


@overload
def fit(ds: xr.Dataset, arch: Any = ..., epochs: int | None = ..., batch_size: int | None = ...,
        lr: float | None = ..., weight_decay: float = ..., optimizer: str = ...,
        val_fraction: float | None = ..., fresh: bool | None = ...,
        samples_per_epoch: int | None = ..., fresh_every: int | None = ...,
        patience: int | None | str = ..., target_r2: float | None | str = ...,
        seed: Sequence[int] = ..., **kwargs: Any) -> Ensemble: ...


def fit(
    ds: xr.Dataset,
    arch: Any = "mlp",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    weight_decay: float = 0.0,
    optimizer: str = "adam",
    val_fraction: float | None = None,
    fresh: bool | None = None,
    samples_per_epoch: int | None = None,
    fresh_every: int | None = None,
    patience: int | None | str = "auto",
    target_r2: float | None | str = "auto",
    seed: int | Sequence[int] = 0,
    device: str | None = None,
    progress: bool = True,
    x: str | list[str] = "x",
    y: str = "y",
    sample_dim: str | None = None,
    parallel: int | None = None,
    threads: int | None = None,
    **arch_kwargs: Any,
) -> Model | Ensemble:
    """Train a network to predict ``y`` from the valid cells of ``x``.

    Parameters
    ----------
    ds : Dataset
        With ``x(sample, lat, lon)`` (NaN only on cells invalid in every sample) and
        ``y(sample)``; numpy- or dask-backed (streamed chunk by chunk, never whole).
    arch : {"mlp", "cnn"}, callable, "package.module:function" or torch.nn.Module
        Architecture; extra keyword arguments go to it (``hidden=(...)``, ``activation``,
        ``channels``, ``periodic_lon``...). Default: the original d→512→…→16→1 ReLU MLP.
        Your own: a factory (a function, or its name) called with the extra keyword
        arguments, which must be plain data (recorded, so the model can be saved; load it
        with ``Model.load(path, factory=your_function)``), or a module instance (trained in
        place; not savable).
        Either reads the standardised valid cells ``(n, d)`` and returns ``(n, 1)``.
    epochs, batch_size, lr, weight_decay : training settings. Adam (``optimizer="adamw"``
        for decoupled weight decay) with linear warm-up and cosine decay of ``lr``.
        Left as None, they come from :data:`FRESH_RECIPE` on a benchmark (fresh samples)
        and :data:`DATA_RECIPE` otherwise, as do ``val_fraction``, ``fresh_every``,
        ``patience`` and ``target_r2``: ``fit(bench)`` with no arguments is the recipe
        that works.
    val_fraction : float
        The last ``val_fraction`` of samples are held out (as the original's last 100k).
        With fresh samples and the default, the last half, at most the last 100 000
        (validating 5·10⁶ samples of a 10⁷-sample store every epoch would cost more than
        training); pass ``val_fraction`` to hold out exactly that fraction.
    fresh : bool, optional
        Train on new samples drawn from the benchmark's generator (infinite data, no
        over-fitting). Default: True for a benchmark Dataset whose generator can be rebuilt;
        False trains on a modified benchmark's own samples. ``samples_per_epoch`` sets how
        many (default 10⁶). Validation stays on the Dataset's held-out samples.
    fresh_every : int
        With ``fresh=True``: draw a new pool every ``fresh_every`` epochs and keep it in
        memory in between (drawn on every core; batches gathered by index). Fresh every
        epoch streams draws in a background thread, which on a small CPU competes with
        training; reusing each pool for a few epochs learns more per second
        (benchmarks/train.py).
    patience : int or None
        Stop when validation loss has not improved for this many epochs (a plateau); the
        best weights are kept. None trains all epochs.
    target_r2 : float or None
        Stop as soon as validation R² reaches it (0.995 with fresh samples).
    seed : int or list of int
        Seeds initialisation and shuffling: same seed, same weights (on the same device and
        torch thread count). A list of two or more seeds trains an :class:`Ensemble`, one
        member per seed: one task each on a dask cluster (an active ``distributed.Client``),
        or ``parallel`` members at a time in threads of ``threads`` torch threads each
        (default: one member per core, one thread each), every member as ``fit`` with its
        seed alone on that many threads.
    device : str, optional
        ``"cpu"``, ``"cuda"``…; default CUDA when available.
    progress : bool
        tqdm progress bar with loss and validation R² (stderr).
    x : str or list of str
        The input variable, or several (channels of one network, each one's valid cells in
        turn; they must share one land mask). A benchmark of several variables is read
        whole by default (its ``xattrib_variables``).
    y : str
        The response variable.
    sample_dim : str, optional
        The sample dimension (any name, e.g. ``time``; found by itself when ``x`` has only
        one dimension besides latitude and longitude).

    Returns
    -------
    Model
        With ``.r2`` (validation), ``.linear_r2`` (a linear regression on the same split,
        for reference), ``.history``.

    Notes
    -----
    With no arguments on the default benchmark: about 4 minutes on 2 CPU cores, R² 0.994,
    2.3 GB more peak memory (docs/fit.md; ``benchmarks/train.py --defaults``, ``--memory``).

    Examples
    --------
    >>> import xattrib
    >>> bench = xattrib.benchmark(n_samples=4000, response="linear", chunks=1000)
    >>> model = xattrib.fit(bench, epochs=3, hidden=(32,), progress=False, fresh=False)
    >>> model.r2 > 0.9
    True
    """
    require_xarray(ds, "ds", "a Dataset")
    if not isinstance(seed, int | np.integer):  # an ensemble: each member as fit with a seed
        return fit_ensemble(ds, seed, parallel=parallel, threads=threads, progress=progress,
                            **{k: v for k, v in locals().items() if k in _FIT_SETTINGS},
                            **arch_kwargs)
    if parallel is not None or threads is not None:
        raise ValueError("parallel and threads apply to an ensemble: pass a list of seeds")
    plan = _Plan.resolve(bool(is_benchmark(ds) if fresh is None else fresh), epochs,
                         batch_size, lr, val_fraction, samples_per_epoch, fresh_every,
                         patience, target_r2, optimizer, weight_decay)
    src, names, dev = *_source(ds, x, y, sample_dim, plan), resolve_device(device)
    model, stopped = _fit(src, plan, arch, arch_kwargs, names, int(seed), dev, progress)
    model.provenance.update(_provenance(model, plan, src, int(seed), dev, stopped, ds))
    return model


#: fit's settings an ensemble passes on to each member's fit
_FIT_SETTINGS = ("arch", "epochs", "batch_size", "lr", "weight_decay", "optimizer",
                 "val_fraction", "fresh", "samples_per_epoch", "fresh_every", "patience",
                 "target_r2", "device", "x", "y", "sample_dim")


def _source(ds: xr.Dataset, x: Any, y: str, sample_dim: str | None, plan: _Plan
            ) -> tuple[_Source, list[str]]:
    """Where the samples come from: the input variables checked, their valid cells."""
    names = input_names(ds, x)
    for name in (*names, y):
        if name not in ds:
            raise ValueError(f"the Dataset has no variable {name!r}; pass x=/y= to name them")
    sample_dim = sample_dim_of(ds[names[0]], sample_dim, what=f"variable {names[0]!r}")
    cells = _input_cells(ds, names, sample_dim)
    return _Source(ds, cells, names, y, sample_dim, plan.val_fraction, plan.fresh,
                   plan.samples_per_epoch, plan.fresh_every, plan.max_val), names


def _fit(src: _Source, plan: _Plan, arch: Any, arch_kwargs: dict[str, Any], names: list[str],
         seed: int, dev: Any, progress: bool) -> tuple[Model, str]:
    """Read the first samples, build the network, train it: (model, why it stopped)."""
    cells = src.cells
    from tqdm.auto import tqdm

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xattrib-load")
    n_head = min(src.per_epoch if plan.fresh else src.n_train, 100_000)
    # the first reads can take a minute on a large grid: a bar of their own, from the start
    reading = tqdm(total=n_head + src.n_val, unit="sample", leave=False,
                   disable=not progress,
                   desc="fit: reading samples for the normalisation, the linear reference "
                        "and validation" + (" (drawn fresh)" if plan.fresh else ""))
    try:
        hx, hy = _first_samples(src, plan, seed, reading)
        model = _new_model(arch, cells, arch_kwargs, hx, hy, seed, len(names))
        model.variables = names  # attribute/predict read the variables it was trained on
        val = _Validation(src, pool, hx, hy, reading)
        reading.refresh()  # its last count drawn, whatever tqdm's refresh interval
        reading.close()
        stopped = _train(model, src, pool, val, plan, seed, dev, progress)
        model.linear_r2 = val.linear_r2(hx, hy)
    finally:
        pool.shutdown(wait=False)
    return model, stopped


@dataclass(frozen=True)
class _Plan:
    """fit's settings after the recipe's defaults are filled in and checked."""

    fresh: bool
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    optimizer: str
    val_fraction: float
    samples_per_epoch: int | None
    fresh_every: int
    patience: int | None
    target: float | None
    max_val: int | None

    @classmethod
    def resolve(cls, fresh: bool, epochs: Any, batch_size: Any, lr: Any, val_fraction: Any,
                samples_per_epoch: Any, fresh_every: Any, patience: Any, target_r2: Any,
                optimizer: str, weight_decay: float = 0.0) -> _Plan:
        recipe = FRESH_RECIPE if fresh else DATA_RECIPE

        def pick(key: str, v: Any) -> Any:
            return recipe[key] if v is None else v

        plan = cls(
            fresh=fresh, epochs=int(pick("epochs", epochs)),
            batch_size=int(pick("batch_size", batch_size)), lr=float(pick("lr", lr)),
            weight_decay=float(weight_decay), optimizer=optimizer,
            val_fraction=float(pick("val_fraction", val_fraction)),
            samples_per_epoch=(FRESH_SAMPLES_PER_EPOCH if fresh and samples_per_epoch is None
                               else samples_per_epoch),
            fresh_every=int(pick("fresh_every", fresh_every)),
            patience=recipe["patience"] if patience == "auto" else (
                None if patience is None else int(patience)),
            target=recipe["target_r2"] if target_r2 == "auto" else (
                None if target_r2 is None else float(target_r2)),
            # an explicit val_fraction is exact; the recipe's is capped
            max_val=recipe.get("max_val_samples") if val_fraction is None else None)
        plan.check(target_r2)
        return plan

    def check(self, target_r2: Any) -> None:
        if self.target is not None and not 0 < self.target <= 1:
            raise ValueError(f"target_r2 must be in (0, 1] or None, got {target_r2!r}")
        for name, v in (("epochs", self.epochs), ("batch_size", self.batch_size)):
            if int(v) < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if int(self.fresh_every) < 1:
            raise ValueError(f"fresh_every must be a positive number of epochs, got "
                             f"{self.fresh_every!r}")


def _first_samples(src: _Source, plan: _Plan, seed: int, bar: Any = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The first training samples, up to 100k (one small read; with fresh samples the first
    epoch's draws): the normalisation and the linear reference come from them."""
    first = src.train_ranges(0, np.random.default_rng(seed))[0][0] if plan.fresh else 0
    n_head = min(src.per_epoch if plan.fresh else src.n_train, 100_000)
    head = []
    for s, e in src._ranges(first, first + n_head):
        head.append(src.load(s, e))
        if bar is not None:
            bar.update(e - s)
    return np.concatenate([h[0] for h in head]), np.concatenate([h[1] for h in head])


def input_names(ds: xr.Dataset, x: str | list[str]) -> list[str]:
    """The input variables ``x`` names: one, several, or — for the default ``"x"`` on a
    benchmark of several variables — all of its inputs."""
    if isinstance(x, str):
        if x == "x" and "x" not in ds and input_variables(ds):
            return input_variables(ds)
        return [x]
    names = [str(v) for v in x]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"x must name one variable or several distinct ones, got {list(x)}")
    return names


def _input_cells(ds: xr.Dataset, names: list[str], sample_dim: str) -> CellIndex:
    """The cells the network reads: the benchmark's mask, or the cells valid in every
    sample of the (first) variable, which every other variable must share."""
    if "mask" in ds:
        cells = CellIndex.from_mask(ds["mask"])
        for v in names:
            cells.check_grid(ds[v], what=f"variable {v!r}")
        return cells
    cells = CellIndex.from_data(ds[names[0]], sample_dim=sample_dim)
    for v in names[1:]:
        other = CellIndex.from_data(ds[v], sample_dim=sample_dim)
        cells.check_grid(other.mask, what=f"variable {v!r}")
        if not np.array_equal(other.flat, cells.flat):
            raise ValueError(
                f"variables {names[0]!r} and {v!r} are valid on different cells "
                f"({cells.n_cells} and {other.n_cells}); one network reads every variable on "
                f"one mask: keep the common cells, e.g. ds[{v!r}].where(ds[{names[0]!r}]"
                ".notnull()) for each variable")
    return cells


def _new_model(arch: Any, cells: CellIndex, arch_kwargs: dict[str, Any], hx: np.ndarray,
               hy: np.ndarray, seed: int, n_variables: int = 1) -> Model:
    """A freshly initialised network (seeded) with the normalisation of ``hx``, ``hy``."""
    import torch

    from ..architectures import ARCHITECTURES  # torch: imported when a network is built

    x_mean, x_std = hx.mean(0), hx.std(0)
    x_std = np.where(x_std > 0, x_std, 1.0).astype(np.float32)
    if isinstance(arch, str) and arch in ARCHITECTURES and not ARCHITECTURES.get(
            arch).trainable:
        raise ValueError(f"architecture {arch!r} is not trained (it is built, e.g. "
                         "Model.exact(bench)); choose one of "
                         f"{[n for n, a in ARCHITECTURES.items() if a.trainable]}")
    with _INIT_LOCK:  # torch's global generator: members trained in threads take turns
        torch.manual_seed(seed)
        return Model.build(arch, cells, arch_kwargs, x_mean, x_std, float(hy.mean()),
                           float(hy.std() or 1.0), n_variables)


#: initialisation seeds torch's process-wide generator; concurrent fits take turns
_INIT_LOCK = threading.Lock()


def _train(model: Model, src: _Source, pool: ThreadPoolExecutor, val: _Validation, plan: _Plan,
           seed: int, dev: Any, progress: bool) -> str:
    """The epochs: Adam(W) with warm-up and cosine decay, validation after each epoch, the
    best weights kept; returns why training stopped (epochs, plateau or target)."""
    import torch
    from tqdm.auto import tqdm

    net = model.module.to(dev).train()
    opt_cls = torch.optim.AdamW if plan.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(net.parameters(), lr=plan.lr, weight_decay=plan.weight_decay)
    steps = plan.epochs * math.ceil((src.per_epoch if plan.fresh else src.n_train)
                                    / plan.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(steps))
    buffers = _Buffers(src, model.x_mean, model.x_std, model.y_mean, model.y_std)
    best, best_state, stale, stopped = math.inf, None, 0, "epochs"
    bar = tqdm(range(plan.epochs), desc="fit", disable=not progress, unit="epoch", leave=True)
    for epoch in bar:
        t0 = time.perf_counter()
        total, seen = _train_epoch(net, opt, sched, buffers, src, pool, plan, seed, epoch, dev)
        train_seconds = time.perf_counter() - t0
        model.invalidate()  # weights changed: re-fold normalisation before evaluating
        vloss, vr2 = val.evaluate(model, dev)
        rec = {"epoch": epoch + 1, "train_loss": total / max(seen, 1), "val_loss": vloss,
               "val_r2": vr2, "lr": sched.get_last_lr()[0], "samples": seen,
               "train_seconds": train_seconds, "seconds": time.perf_counter() - t0}
        model.history.append(rec)
        bar.set_postfix(loss=f"{rec['train_loss']:.4f}", val_r2=f"{vr2:.4f}")
        if vloss < best - 1e-12:
            best, stale = vloss, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if plan.patience is not None and stale >= plan.patience:
                stopped = "plateau"
                break
        if plan.target is not None and vr2 >= plan.target:
            stopped = "target"
            break
    bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    model.invalidate()
    model.r2 = max((h["val_r2"] for h in model.history), default=float("nan"))
    return stopped


def _train_epoch(net: Any, opt: Any, sched: Any, buffers: _Buffers, src: _Source,
                 pool: ThreadPoolExecutor, plan: _Plan, seed: int, epoch: int,
                 dev: Any) -> tuple[float, int]:
    """One pass over the epoch's samples in shuffled mini-batches: (summed loss, samples)."""
    import torch

    net.train()
    total, seen = 0.0, 0
    erng = np.random.default_rng([seed, epoch])
    for bufx, bufy, order in buffers.epoch(src.train_ranges(epoch, erng), pool, seed, epoch):
        bufx, bufy = bufx.to(dev, non_blocking=True), bufy.to(dev, non_blocking=True)
        for s in range(0, bufx.shape[0], plan.batch_size):
            if order is None:
                xb, yb = bufx[s:s + plan.batch_size], bufy[s:s + plan.batch_size]
            else:
                idx = order[s:s + plan.batch_size].to(dev)
                xb, yb = bufx[idx], bufy[idx]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(net(xb).squeeze(1), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * xb.shape[0]
            seen += xb.shape[0]
    return total, seen


def _provenance(model: Model, plan: _Plan, src: _Source, seed: int, dev: Any, stopped: str,
                ds: xr.Dataset) -> dict[str, Any]:
    import torch

    return {
        "fit_seed": int(seed), "fit_epochs_run": len(model.history), "fit_batch_size": int(plan.batch_size),
        "fit_lr": float(plan.lr), "fit_optimizer": plan.optimizer,
        "fit_fresh_samples": int(bool(plan.fresh)), "fit_fresh_every": int(plan.fresh_every),
        "fit_samples_per_epoch": int(src.per_epoch), "fit_stopped": stopped,
        "fit_target_r2": float("nan") if plan.target is None else plan.target,
        # CPU training is bit-reproducible for a given torch thread count, not across them
        "fit_torch_threads": int(torch.get_num_threads()), "fit_device": str(dev),
        "fit_n_train": int(src.n_train), "fit_n_val": int(src.n_val),
        **{f"benchmark_{k[len('xattrib_'):]}": v for k, v in ds.attrs.items()
           if k.startswith("xattrib_") and isinstance(v, int | float | str)}}


class _Validation:
    """Held-out samples: kept in memory when small (≤ 512 MB), streamed otherwise."""

    def __init__(self, src: _Source, pool: ThreadPoolExecutor, hx: np.ndarray,
                 hy: np.ndarray, bar: Any = None) -> None:
        self.src, self.pool = src, pool
        ranges = src.val_ranges()
        self.cached: list[tuple[np.ndarray, np.ndarray]] | None = None
        if src.n_val * src.x.shape[1] * 4 <= 512 * 2**20:
            self.cached = []
            for x, y in _stream(src, ranges, pool):
                self.cached.append((x, y))
                if bar is not None:
                    bar.update(len(y))

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self.cached is not None:
            return iter(self.cached)
        return _stream(self.src, self.src.val_ranges(), self.pool)

    def evaluate(self, model: Model, dev: Any) -> tuple[float, float]:
        if self.src.n_val == 0:
            return float("nan"), float("nan")
        sse = sst = 0.0
        ys = []
        preds = []
        for x, y in self.chunks():
            preds.append(model._predict_numpy(x, device=dev))
            ys.append(y)
        p, y = np.concatenate(preds), np.concatenate(ys)
        sse = float(np.sum((p - y) ** 2))
        sst = float(np.sum((y - y.mean()) ** 2))
        return sse / y.size / model.y_std**2, 1.0 - sse / sst

    def linear_r2(self, hx: np.ndarray, hy: np.ndarray) -> float:
        """R² of a linear model (ridge, penalty by cross-validation; ≤ 100k training samples,
        and ≤ :data:`LINEAR_VALUES` inputs in all: RidgeCV's leave-one-out solve is cubic in
        the samples when they are fewer than the cells, 10 minutes for 20,000 at 1°)."""
        if self.src.n_val == 0:
            return float("nan")
        from sklearn.linear_model import RidgeCV

        k = min(hx.shape[0], max(1_000, LINEAR_VALUES // max(hx.shape[1], 1)))
        lin = RidgeCV(alphas=np.logspace(-3, 3, 7)).fit(hx[:k], hy[:k])
        sse = sst = 0.0
        ys = [y for _, y in self.chunks()]
        ymean = float(np.concatenate(ys).mean())
        for x, y in self.chunks():
            sse += float(np.sum((lin.predict(x) - y) ** 2))
            sst += float(np.sum((y - ymean) ** 2))
        return 1.0 - sse / sst


# -- ensembles ---------------------------------------------------------------------------
def _fit_member(ds: xr.Dataset, seed: int, kwargs: dict[str, Any], threads: int) -> Model:
    """One member, on ``threads`` torch/BLAS threads (the same count wherever it runs, so a
    member trained on a cluster equals one trained here)."""
    with task_threads(threads):
        return fit(ds, seed=seed, **kwargs)


def fit_ensemble(ds: xr.Dataset, seeds: Any, parallel: int | None = None,
                 threads: int | None = None, progress: bool = True,
                 **kwargs: Any) -> Ensemble:
    """Train one member per seed with :func:`~xattrib.fit`'s other arguments.

    On a dask cluster (a ``distributed.Client`` is active) each member is one task.
    Otherwise ``parallel`` members (default: as many as there are cores, at most one per
    member) train at once in threads, each on ``threads`` torch threads (default: the
    cores over ``parallel``), so the cores are shared rather than oversubscribed.
    """
    seeds = check_seeds(seeds)
    cores = usable_cores()
    workers = min(len(seeds), int(parallel) if parallel is not None else cores)
    if workers < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel!r}")
    n_threads = int(threads) if threads is not None else max(1, cores // workers)
    if n_threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads!r}")
    kwargs = {**kwargs, "progress": False}  # one bar for the ensemble, not k interleaved
    client = current_client()
    if client is not None:
        futures = [client.submit(_fit_member, ds, s, kwargs, n_threads, pure=False)
                   for s in seeds]
        if progress:
            cluster_bar(futures)
        members = client.gather(futures)
    else:
        from tqdm.auto import tqdm

        with ThreadPoolExecutor(workers, thread_name_prefix="xattrib-member") as ex:
            futs = [ex.submit(_fit_member, ds, s, kwargs, n_threads) for s in seeds]
            with tqdm(total=len(seeds), desc="ensemble", unit="member",
                      disable=not progress) as bar:
                for f in futs:
                    f.result()
                    bar.update()
            members = [f.result() for f in futs]
    for m in members:
        m.provenance.update(ensemble_seeds=seeds, ensemble_threads=n_threads)
    return Ensemble(members, seeds)
