"""Faithfulness correlation: exact on a linear network, ~0 for a random map, and the same
as a plain-numpy re-implementation."""

import numpy as np
import pytest

import xattrib
from xattrib.evaluation.gtfree import evaluate


def test_ig_on_a_linear_network_is_exactly_one_and_random_about_zero(linear_case):
    bench, exact, heat, rand = linear_case
    q = evaluate(heat, exact, bench, metrics="faithfulness_correlation").compute()
    np.testing.assert_allclose(q["faithfulness_correlation"].sel(
        xai_method="integrated_gradients"), 1.0, atol=1e-6)
    r = evaluate(rand, exact, bench, metrics="faithfulness_correlation").compute()
    assert abs(float(r["faithfulness_correlation"].mean())) < 0.15
    assert float(q["faithfulness_correlation"].sel(xai_method="gradient").mean()) < 0.9


def _numpy_faithfulness(x, a, base, f, w, n_runs, k, seed, index):
    """Bhatt et al.'s metric in plain numpy, sample by sample, with the same draws."""
    import zlib

    out = []
    for i in range(x.shape[0]):
        rng = np.random.default_rng([seed, zlib.crc32(b"faithfulness_correlation"), index[i]])
        keys = np.log(rng.random((n_runs, x.shape[1]))) / w
        sums, changes = [], []
        for r in range(n_runs):
            s = np.argsort(-keys[r])[:k]
            xt = x[i].copy()
            xt[s] = base[s]
            sums.append(a[i, s].sum())
            changes.append(f(x[i][None])[0] - f(xt[None])[0])
        out.append(np.corrcoef(sums, changes)[0, 1])
    return np.asarray(out)


def test_matches_a_plain_numpy_implementation(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=6, seed=3).compute()
    exact = xattrib.Model.exact(bench)
    heat = xattrib.attribute(bench, exact, methods="gradient", progress=False).compute()
    q = evaluate(heat, exact, bench, metrics="faithfulness_correlation", seed=5,
                 faithfulness_correlation={"n_runs": 20, "subset": 0.2}).compute()
    cells = exact.cells
    x = cells.stack(bench["x"]).values.astype(np.float32)
    a = cells.stack(heat["attribution"].sel(xai_method="gradient")).values
    w = cells.stack(xattrib.grid.area_weights(bench)).values
    w = w / w.sum()
    net = exact.network("cpu")

    def f(rows):
        import torch

        with torch.no_grad():
            return net(torch.as_tensor(rows, dtype=torch.float32)).squeeze(1).double().numpy()

    want = _numpy_faithfulness(x, a, np.zeros(x.shape[1], np.float32), f, w, 20,
                               round(0.2 * x.shape[1]), 5, np.arange(6))
    np.testing.assert_allclose(q["faithfulness_correlation"].sel(xai_method="gradient"), want,
                               atol=1e-6)


def test_a_subset_larger_than_the_valid_cells_is_refused(linear_case):
    bench, exact, heat, _ = linear_case
    with pytest.raises(ValueError, match=r"subset must give between 1 and the \d+ valid cells"):
        evaluate(heat, exact, bench, metrics="faithfulness_correlation",
                 faithfulness_correlation={"subset": 10_000})
