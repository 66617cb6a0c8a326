"""The shared kernels: area-weighted Gini and entropy, row correlations."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import pearsonr, spearmanr

from xattrib.gtfree_metrics.base import area_entropy, area_gini, pearson_rows, spearman_rows


def test_gini_constant_zero_one_hot_near_one_whatever_the_areas():
    w = np.random.default_rng(0).uniform(0.2, 1.0, 500)
    assert area_gini(np.full(500, 3.0), w) == pytest.approx(0.0, abs=1e-12)
    one = np.zeros(500)
    one[7] = 2.0
    assert area_gini(one, w) == pytest.approx(1 - w[7] / w.sum())
    assert area_gini(one, w) > 0.99


def test_entropy_uniform_is_log_n_on_equal_areas_and_zero_for_one_cell():
    n = 450
    assert area_entropy(np.full(n, -1.5), np.ones(n)) == pytest.approx(np.log(n))
    one = np.zeros(n)
    one[3] = 1.0
    assert area_entropy(one, np.ones(n)) == pytest.approx(0.0)


def test_gini_equals_the_textbook_formula_on_equal_areas():
    """With equal areas the Lorenz-curve Gini is the plain one: Σ (2i − n − 1) v_(i) /
    (n Σ v), values sorted ascending."""
    v = np.abs(np.random.default_rng(2).standard_normal(300))
    s = np.sort(v)
    n = s.size
    plain = ((2 * np.arange(1, n + 1) - n - 1) * s).sum() / (n * s.sum())
    assert area_gini(v, np.ones(n)) == pytest.approx(plain, rel=1e-12)


@given(st.lists(st.floats(-5, 5), min_size=3, max_size=30), st.integers(0, 100))
@settings(max_examples=30, deadline=None)
def test_row_correlations_match_scipy(values, seed):
    u = np.asarray(values)
    v = np.random.default_rng(seed).standard_normal(u.size)
    if np.ptp(u) == 0:
        assert np.isnan(float(pearson_rows(torch.tensor(u), torch.tensor(v))))
        return
    assert float(pearson_rows(torch.tensor(u), torch.tensor(v))) == pytest.approx(
        pearsonr(u, v).statistic, abs=1e-9)
    assert float(spearman_rows(torch.tensor(u), torch.tensor(v))) == pytest.approx(
        spearmanr(u, v).statistic, abs=1e-9)
