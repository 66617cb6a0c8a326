"""ROAD's imputation fills removed cells from their valid neighbours; its regression score
varies across methods (argmax-based ROAD is constant 1 for one output)."""

import numpy as np
import torch

from xattrib.evaluation.gtfree import evaluate
from xattrib.gtfree_metrics.base import Batch
from xattrib.gtfree_metrics.road import impute


def test_imputation_is_the_mean_of_kept_neighbours(linear_case):
    bench, exact, _, _ = linear_case
    cells = exact.cells
    nb = cells.neighbours()
    d = cells.n_cells
    i = int(np.flatnonzero((nb >= 0).all(1))[0])  # a cell with four valid neighbours
    x = torch.arange(d, dtype=torch.float32)[None, None, :] + 1.0
    removed = torch.zeros((1, 1, d), dtype=torch.bool)
    removed[0, 0, i] = True
    b = Batch(x=x[0], a=None, base=torch.zeros((1, d)), w=None, std=torch.ones(d),
              index=np.array([0]), seed=0, neighbours=torch.as_tensor(nb), f=None,
              explain=None, net=None)
    out = impute(b, torch.where(removed, 0.0, x), removed, n_iter=5, noise=0.0, probe="t")
    assert float(out[0, 0, i]) == float(x[0, 0, nb[i]].mean())
    keep = ~removed
    assert torch.equal(out[keep], x[keep])


def test_longitude_wraps_only_on_a_global_grid(grid10, small_grid):
    import xattrib

    g = xattrib.CellIndex.from_mask(grid10["mask"])
    nb = g.neighbours()
    ny, nx = g.shape
    r, c = np.divmod(g.flat, nx)
    east_edge = np.flatnonzero(c == nx - 1)
    wraps = [k for k in east_edge if nb[k, 2] >= 0]
    assert wraps and all(c[nb[k, 2]] == 0 for k in wraps)
    s = xattrib.CellIndex.from_mask(small_grid["mask"])
    nbs = s.neighbours()
    _, cs = np.divmod(s.flat, s.shape[1])
    assert (nbs[cs == s.shape[1] - 1, 2] == -1).all()


def test_road_is_not_constant(linear_case):
    bench, exact, heat, _ = linear_case
    q = evaluate(heat, exact, bench, metrics="road_gap").compute()
    assert float(q["road_gap"].std()) > 0.01
    assert bool(np.isfinite(q["road_gap"]).all())
