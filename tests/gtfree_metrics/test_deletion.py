"""Deletion curves: on the exact additive F the truth deletes best; MoRF ≥ LeRF for it."""

import numpy as np

import xattrib
from xattrib.evaluation.gtfree import evaluate


def test_the_truth_ranks_first_on_the_exact_additive_response(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=16, seed=2).compute()  # pwl, additive
    exact = xattrib.Model.exact(bench)
    t = bench["truth"].expand_dims(xai_method=["truth"])
    rng = np.random.default_rng(0)
    others = xattrib.attribute(bench, exact, methods=["gradient"], progress=False)[
        "attribution"].compute().drop_vars(["complete", "positive_only"])
    rand = t.copy(data=rng.standard_normal(t.shape)).where(bench["mask"]).assign_coords(
        xai_method=["random"])
    import xarray as xr

    maps = xr.concat([t, others, rand], "xai_method")
    q = evaluate(maps, exact, bench, metrics=["deletion_morf", "deletion_lerf",
                                              "deletion_gap"]).compute()
    gap = q["deletion_gap"].mean("sample")
    assert str(gap.idxmax().values) == "truth"
    assert float(q["deletion_morf"].sel(xai_method="truth").mean()) > float(
        q["deletion_lerf"].sel(xai_method="truth").mean())
    np.testing.assert_allclose(q["deletion_gap"], q["deletion_morf"] - q["deletion_lerf"])
