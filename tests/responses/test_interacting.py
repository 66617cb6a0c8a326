"""The exact attributions of the interacting families against the theory, written
independently of the closed forms: brute-force Shapley over every coalition, IG by numerical
quadrature of finite-difference gradients, leave-one-out differences."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xattrib.responses import RESPONSES, TRUTH_KINDS, Gating, Pairs
from xattrib.responses.interacting import draw_regions

INTERACTING = [n for n in RESPONSES.names() if not RESPONSES[n].additive]
SMALL = {"pairs": {"region_cells": 3, "powers": (2, 1)},
         "gating": {"gate_cells": 3, "gated_cells": 3}}


def _family(name, d=9, seed=1, **kw):
    return RESPONSES[name].random(np.random.default_rng(seed), np.eye(d), np.full(d, 1.3),
                                  **{**SMALL[name], **kw})


def brute_shapley(resp, x, b):
    """Σ over all coalitions S ∌ i of |S|!(d−|S|−1)!/d! · (v(S ∪ i) − v(S))."""
    n, d = x.shape
    phi = np.zeros((n, d))
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for k in range(d):
            wt = math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d)
            for s in itertools.combinations(others, k):
                z = b.copy()
                z[:, list(s)] = x[:, list(s)]
                z2 = z.copy()
                z2[:, i] = x[:, i]
                phi[:, i] += wt * (resp.value(z2) - resp.value(z))
    return phi


def numeric_ig(resp, x, b, steps=400, eps=1e-6):
    """Midpoint rule along the straight path, central-difference gradients."""
    out = np.zeros_like(x)
    for t in (np.arange(steps) + 0.5) / steps:
        u = b + t * (x - b)
        for i in range(x.shape[1]):
            up, dn = u.copy(), u.copy()
            up[:, i] += eps
            dn[:, i] -= eps
            out[:, i] += (resp.value(up) - resp.value(dn)) / (2 * eps) / steps
    return out * (x - b)


@pytest.mark.parametrize("name", INTERACTING)
@pytest.mark.parametrize("width", [0.25, 0.0])
def test_closed_form_shapley_equals_brute_force_over_all_coalitions(name, width):
    kw = {"width": width} if name == "gating" else {"powers": (1, 2) if width else (2, 1)}
    r = _family(name, **kw)
    rng = np.random.default_rng(3)
    x, b = rng.normal(0, 1.5, (5, 9)), rng.normal(0, 0.7, (5, 9))
    np.testing.assert_allclose(r.truths(x, b)["shapley"], brute_shapley(r, x, b),
                               atol=1e-12, rtol=1e-10)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), name=st.sampled_from(INTERACTING),
       sharp=st.booleans(), base=st.floats(-2, 2))
def test_efficiency_of_each_kind(seed, name, sharp, base):
    """Shapley and IG sum to F(x) − F(b); main effects alone do not; main + interaction is
    leave-one-out."""
    kw = {"width": 0.0} if (sharp and name == "gating") else {}
    r = _family(name, d=12, seed=seed, **kw)
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, (30, 12))
    b = np.full(12, base)
    t = r.truths(x, b)
    total = r.value(x) - r.value(b[None])
    for kind in ("shapley", "ig"):
        np.testing.assert_allclose(t[kind].sum(1), total, atol=1e-10)
    assert np.abs(t["main"].sum(1) - total).max() > 1e-6  # interactions are not main effects
    loo = np.stack([r.value(x) - r.value(np.where(np.arange(12) == i, b, x))
                    for i in range(12)], 1)
    np.testing.assert_allclose(t["main"] + t["interaction"], loo, atol=1e-10)


@pytest.mark.parametrize("name", INTERACTING)
def test_ig_equals_quadrature_of_the_gradient(name):
    r = _family(name, interaction_share=1.0)  # no pwl kinks: the quadrature converges fast
    rng = np.random.default_rng(4)
    x, b = rng.normal(0, 1.5, (4, 9)), rng.normal(0, 0.5, (4, 9))
    np.testing.assert_allclose(r.truths(x, b)["ig"], numeric_ig(r, x, b), atol=2e-5)


def _pure_pair(p, q):
    d = 4
    partner = np.array([1.0, -1, -1, -1])
    return Pairs({"breakpoints": np.zeros((d, 1)), "slopes": np.zeros((d, 2)),
                  "partner": partner, "coupling": np.array([1.0, 0, 0, 0]),
                  "exponent": np.array([p, q, 0, 0], float)})


def test_a_pure_product_with_zero_baseline_is_split_in_half_by_shapley_and_ig():
    x = np.random.default_rng(5).normal(size=(20, 4))
    t = _pure_pair(1, 1).truths(x, np.zeros(4))
    half = x[:, 0] * x[:, 1] / 2
    for kind in ("shapley", "ig"):
        np.testing.assert_allclose(t[kind][:, :2], np.stack([half, half], 1), atol=1e-14)
        assert np.all(t[kind][:, 2:] == 0)
    assert np.all(t["main"] == 0)  # with b = 0 neither cell does anything alone
    np.testing.assert_allclose(t["interaction"][:, :2], np.stack([2 * half] * 2, 1))


def test_ig_splits_a_square_times_a_value_two_to_one_shapley_equally():
    x = np.random.default_rng(6).normal(size=(20, 4))
    t = _pure_pair(2, 1).truths(x, np.zeros(4))
    f = x[:, 0] ** 2 * x[:, 1]
    np.testing.assert_allclose(t["ig"][:, :2], np.stack([2 * f / 3, f / 3], 1), atol=1e-14)
    np.testing.assert_allclose(t["shapley"][:, :2], np.stack([f / 2, f / 2], 1), atol=1e-14)


def test_symmetric_gate_cells_get_equal_shares():
    """Symmetry: gate cells with equal aᵢΔᵢ are interchangeable players (no additive part,
    which differs from cell to cell)."""
    r = _family("gating", interaction_share=1.0)
    gate = np.flatnonzero(r.params["gate_weight"])
    rng = np.random.default_rng(7)
    x = rng.normal(size=(10, 9))
    x[:, gate] = rng.normal(size=(10, 1)) / r.params["gate_weight"][gate]  # equal a·x
    t = r.truths(x, np.zeros(9))
    for kind in TRUTH_KINDS:
        np.testing.assert_allclose(t[kind][:, gate], t[kind][:, gate[:1]].repeat(3, 1),
                                   rtol=1e-10, atol=1e-13)


def test_a_smooth_gate_tends_to_the_sharp_one():
    base = _family("gating", width=0.0, threshold=0.3)  # off τ: at τ, σ(0) = ½ ≠ 1[0 > 0]
    x, b = np.random.default_rng(8).normal(0, 2, (50, 9)), np.zeros(9)
    sharp = base.truths(x, b)
    params = {**base.params, "width": np.asarray(1e-9)}
    smooth = Gating(params).truths(x, b)
    for kind in TRUTH_KINDS:
        np.testing.assert_allclose(smooth[kind], sharp[kind], atol=1e-6)


def test_zero_baseline_call_is_the_shapley_value_and_sums_to_f():
    for name in INTERACTING:
        r = _family(name)
        x = np.random.default_rng(9).normal(size=(6, 9))
        np.testing.assert_allclose(r(x).sum(1), r.value(x), atol=1e-12)


def test_drawn_regions_are_disjoint_and_remote():
    rng = np.random.default_rng(0)
    a, b = draw_regions(rng, 100, (5, 7))
    assert a.size == 5 and b.size == 7 and not set(a) & set(b)
    assert np.ptp(a) == 4  # the nearest cells to a centre along the cell order: a run


@pytest.mark.parametrize("kw, match", [
    ({"interaction_share": 0.0}, "interaction_share"),
    ({"interaction_share": 1.5}, "interaction_share"),
    ({"region_cells": 5}, "distinct cells"),
])
def test_bad_parameters_name_themselves(kw, match):
    with pytest.raises(ValueError, match=match):
        _family("pairs", **kw)


def test_bad_regions_map():
    with pytest.raises(ValueError, match="labelled 2"):
        _family("pairs", regions=np.array([1, 1, 0, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="1 \\(first region\\), 2"):
        _family("pairs", regions=np.array([1, 3, 2, 0, 0, 0, 0, 0, 0]))
