import numpy as np
import pytest

from xattrib.responses import Gating
from xattrib.responses.gating import MAX_GATE_CELLS


def _gating(**kw):
    return Gating.random(np.random.default_rng(0), np.eye(30), np.linspace(0.5, 2, 30),
                         **{"gate_cells": 4, "gated_cells": 6, **kw})


def test_the_gate_reads_the_mean_standardised_anomaly():
    std = np.linspace(0.5, 2, 30)
    r = _gating(interaction_share=1.0, threshold=0.3, width=0.0)
    gate, gated = np.flatnonzero(r.regions() == 1), np.flatnonzero(r.regions() == 2)
    assert gate.size == 4 and gated.size == 6
    x = np.random.default_rng(1).normal(size=(50, 30)) * std
    m = (x[:, gate] / std[gate]).mean(1)
    h = x[:, gated] @ r.params["gated_weight"][gated]
    np.testing.assert_allclose(r.value(x), np.where(m > 0.3, h, 0.0), rtol=1e-12, atol=1e-15)


def test_sharp_gate_ig_is_the_jump_at_the_crossing():
    """Path from b to x crosses τ at t*: the gate cells share H(t*), the gated cells get
    wⱼΔⱼ times the fraction of the path above τ."""
    r = _gating(interaction_share=1.0, width=0.0, threshold=0.0)
    a, w = r.params["gate_weight"], r.params["gated_weight"]
    rng = np.random.default_rng(2)
    x = rng.normal(0, 2, (20, 30))
    x[:, a > 0] = np.abs(x[:, a > 0])     # m(x) > 0 = τ
    b = -np.abs(rng.normal(0, 2, 30))     # m(b) < 0: the path crosses
    t = r.truths(x, b)
    m_b, m_x = b @ a, x @ a
    ts = (0 - m_b) / (m_x - m_b)
    h_star = (b + ts[:, None] * (x - b)) @ w
    np.testing.assert_allclose(t["ig"][:, a > 0].sum(1), h_star, rtol=1e-10)
    np.testing.assert_allclose(t["ig"][:, w != 0], (1 - ts)[:, None] * ((x - b) * w)[:, w != 0],
                               rtol=1e-10)


def test_gate_region_size_is_bounded():
    with pytest.raises(ValueError, match=f"1 to {MAX_GATE_CELLS}"):
        _gating(gate_cells=MAX_GATE_CELLS + 1)
    with pytest.raises(ValueError, match="width"):
        _gating(width=-1.0)


def test_regions_must_not_overlap():
    good = _gating().params
    w = good["gated_weight"].copy()
    w[good["gate_weight"] > 0] = 1.0
    with pytest.raises(ValueError, match="overlap"):
        Gating({**good, "gated_weight": w})
