import numpy as np
import pytest

from xattrib.responses import Pairs


def _pairs(**kw):
    return Pairs.random(np.random.default_rng(0), np.eye(20), np.linspace(0.5, 2, 20),
                        **{"region_cells": 4, **kw})


def test_pairs_rank_by_distance_and_fold_in_the_spread():
    r = _pairs(interaction_share=1.0)
    lead = np.flatnonzero(r.params["partner"] >= 0)
    part = r.params["partner"][lead].astype(int)
    assert lead.size == 4 and not set(lead) & set(part)
    assert np.all(r.params["exponent"][lead] == 1) and np.all(r.params["exponent"][part] == 1)
    assert np.all(r.params["slopes"] == 0)  # share 1: the products alone
    x = np.random.default_rng(1).normal(size=(5, 20))
    want = (r.params["coupling"][lead] * x[:, lead] * x[:, part]).sum(1)
    np.testing.assert_allclose(r.value(x), want, rtol=1e-12)


def test_the_products_carry_the_requested_share_of_the_variance():
    std = np.linspace(0.5, 2, 20)
    r = _pairs(interaction_share=0.3)
    x = np.random.default_rng(2).normal(size=(40_000, 20)) * std
    add, term = r.additive_part(x).sum(1), r.term(x)
    share = term.var() / (add.var() + term.var())
    assert abs(share - 0.3) < 0.03  # pilot of 1000 fields sets it


def test_given_regions_are_used():
    labels = np.zeros(20)
    labels[[2, 3]] = 1
    labels[[15, 16]] = 2
    r = _pairs(regions=labels)
    assert sorted(np.flatnonzero(r.params["partner"] >= 0)) == [2, 3]
    assert sorted(r.params["partner"][[2, 3]].astype(int)) == [15, 16]
    np.testing.assert_array_equal(r.regions()[[2, 3, 15, 16]], [1, 1, 2, 2])


@pytest.mark.parametrize("powers", [(0, 1), (1, 4), (1.5, 1), "ab"])
def test_bad_powers(powers):
    with pytest.raises(ValueError, match="powers"):
        _pairs(powers=powers)


def test_bad_parameter_arrays():
    good = _pairs().params
    with pytest.raises(ValueError, match="own partner"):
        Pairs({**good, "partner": np.where(good["partner"] >= 0, np.arange(20), -1.0)})
    with pytest.raises(ValueError, match="indices or -1"):
        Pairs({**good, "partner": good["partner"] + 0.5})


def test_a_cell_in_several_products_sums_its_shares():
    """Two leaders share one partner (a region map with a larger first region)."""
    from tests.responses.test_interacting import brute_shapley

    d = 6
    params = {"breakpoints": np.zeros((d, 1)), "slopes": np.random.default_rng(0).normal(
        size=(d, 2)), "partner": np.array([4.0, 4, 5, -1, -1, -1]),
        "coupling": np.array([1.0, -0.5, 2, 0, 0, 0]), "exponent": np.array([1.0, 2, 1, 0, 1, 2])}
    r = Pairs(params)
    rng = np.random.default_rng(1)
    x, b = rng.normal(size=(5, d)), rng.normal(size=(5, d)) * 0.3
    t = r.truths(x, b)
    np.testing.assert_allclose(t["shapley"], brute_shapley(r, x, b), atol=1e-12)
    np.testing.assert_allclose(t["ig"].sum(1), r.value(x) - r.value(b), atol=1e-12)
