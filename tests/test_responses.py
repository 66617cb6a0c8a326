import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xattrib.responses import RESPONSES, Linear, PiecewiseLinear, Tanh, response_from_params


def _pwl(d=7, k=5, seed=0):
    rng = np.random.default_rng(seed)
    return PiecewiseLinear.random(rng, np.eye(d), np.ones(d), n_breakpoints=k)


def clip_formula(resp, x):
    """The closed form in SCIENCE.md §1, written independently of the implementation."""
    bp, w = resp.params["breakpoints"], resp.params["slopes"]
    d = bp.shape[0]
    lo = np.concatenate([np.full((d, 1), -np.inf), bp], 1)
    hi = np.concatenate([bp, np.full((d, 1), np.inf)], 1)
    x = x[..., None]
    return (w * (np.clip(x, lo, hi) - np.clip(0.0, lo, hi))).sum(-1)


@pytest.mark.parametrize("family", sorted(RESPONSES))
def test_zero_maps_to_zero_exactly(family):
    rng = np.random.default_rng(1)
    r = RESPONSES[family].random(rng, np.eye(9), np.full(9, 1.3))
    for dt in (np.float32, np.float64):
        assert np.all(r(np.zeros((3, 9), dt)) == 0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 8))
def test_pwl_matches_integral_of_slopes(seed, k):
    r = _pwl(d=6, k=k, seed=seed)
    x = np.random.default_rng(seed).normal(0, 2, (50, 6))
    np.testing.assert_allclose(r(x), clip_formula(r, x), atol=1e-12, rtol=1e-10)


def test_pwl_continuous_and_slopes():
    r = _pwl()
    bp = r.params["breakpoints"]
    eps = 1e-7
    left, right = r(bp.T - eps), r(bp.T + eps)  # (K, d) rows: each knot, every cell
    np.testing.assert_allclose(left, right, atol=1e-5)
    # slope between two knots is the stored slope of that segment
    mid = 0.5 * (bp[:, 1] + bp[:, 2])
    num = (r((mid + 1e-4)[None]) - r((mid - 1e-4)[None]))[0] / 2e-4
    np.testing.assert_allclose(num, r.params["slopes"][:, 2], rtol=1e-6)


def test_pwl_validation():
    with pytest.raises(ValueError, match="exactly at 0"):
        PiecewiseLinear({"breakpoints": np.array([[-1.0, 1.0]]), "slopes": np.ones((1, 3))})
    with pytest.raises(ValueError, match="increasing"):
        PiecewiseLinear({"breakpoints": np.array([[0.0, 0.0]]), "slopes": np.ones((1, 3))})
    with pytest.raises(TypeError, match="unexpected parameters"):
        PiecewiseLinear.random(np.random.default_rng(0), np.eye(2), np.ones(2), steepness=3)


@pytest.mark.parametrize("family", sorted(n for n in RESPONSES if RESPONSES[n].additive))
def test_expectation_matches_monte_carlo(family):
    rng = np.random.default_rng(3)
    std = np.array([0.5, 1.0, 2.0])
    r = RESPONSES[family].random(rng, np.eye(3), std)
    x = rng.standard_normal((400_000, 3)) * std
    mc = r(x).mean(0)
    se = r(x).std(0) / np.sqrt(x.shape[0])
    assert np.all(np.abs(r.expectation(std) - mc) < 5 * se + 1e-12)


def test_pwl_closed_form_expectation_equals_quadrature():
    from scipy import integrate, stats

    r = _pwl(d=5, seed=4)
    std = np.linspace(0.5, 2, 5)
    # adaptive quadrature told where the kinks are: an independent, accurate reference
    quad = []
    for i in range(5):
        def f(x, i=i):
            row = np.zeros((1, 5))
            row[0, i] = x
            return r(row)[0, i] * stats.norm.pdf(x, scale=std[i])
        knots = r.params["breakpoints"][i]
        quad.append(integrate.quad(f, -12 * std[i], 12 * std[i], points=knots, limit=200)[0])
    np.testing.assert_allclose(r.expectation(std), quad, atol=1e-8)


def test_linear_and_tanh_forms():
    w = np.array([1.0, -2.0])
    lin = Linear({"weights": w})
    x = np.array([[0.5, 3.0]])
    np.testing.assert_array_equal(lin(x), x * w)
    th = Tanh({"amplitude": [2.0], "threshold": [0.3], "steepness": [1.5]})
    np.testing.assert_allclose(th(np.array([[1.0]])), 2 * (np.tanh(1.5 * 0.7) + np.tanh(0.45)))


@pytest.mark.parametrize("family", sorted(RESPONSES))
def test_rebuild_from_params(family):
    r = RESPONSES[family].random(np.random.default_rng(0), np.eye(4), np.ones(4))
    again = response_from_params(family, {k: v.copy() for k, v in r.params.items()})
    x = np.random.default_rng(1).standard_normal((10, 4)).astype(np.float32)
    np.testing.assert_array_equal(again(x), r(x))
    with pytest.raises(ValueError, match="unknown response family"):
        response_from_params("cubic", r.params)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.integers(-3, 3), min_size=1, max_size=6), min_size=1,
                     max_size=5).filter(lambda r: len({len(x) for x in r}) == 1))
def test_tied_quantised_knots_are_separated_deterministically(rows):
    """Quantised draws can tie with each other or with 0 (seed 241, k=5 did): knots stay
    strictly increasing, exactly one sits at 0, untied rows are untouched, moves are tiny."""
    from xattrib.responses.pwl import _separate_ties
    draws = np.array(rows, float) * 0.25  # coarse grid: ties are frequent
    step = np.full(len(rows), 1e-3)
    bp = _separate_ties(draws, step)
    assert np.all(np.diff(bp, axis=1) > 0)
    assert np.all((bp == 0).sum(1) == 1)
    plain = np.sort(np.concatenate([draws, np.zeros((len(rows), 1))], 1), 1)
    assert np.max(np.abs(bp - plain)) <= draws.shape[1] * 1e-3 + 1e-12
    untied = np.all(np.diff(plain, axis=1) > 0, axis=1)
    np.testing.assert_array_equal(bp[untied], plain[untied])
    PiecewiseLinear({"breakpoints": bp, "slopes": np.ones((len(rows), bp.shape[1] + 1))})


def test_seed_that_once_drew_a_knot_at_zero():
    r = _pwl(d=6, k=5, seed=241)  # a draw of exactly 0 on the 2⁻¹⁶ grid
    assert np.all(np.diff(r.params["breakpoints"], axis=1) > 0)
