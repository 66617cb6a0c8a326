"""The exact low-rank product: integer arithmetic rounded once, whatever the BLAS threads."""

import numpy as np
import threadpoolctl
from hypothesis import given, settings
from hypothesis import strategies as st

from xattrib.covariances.quantised import Z_BITS, QuantisedLowRank


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 40), r=st.integers(1, 20), n=st.integers(1, 30),
       seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3))
def test_lowrank_product_equals_integer_arithmetic(d, r, n, seed, scale):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((d, r)) * scale
    s = np.abs(rng.standard_normal(d)) * scale
    q = QuantisedLowRank.from_factors(u, s)
    z = rng.standard_normal((n, r + d)).astype(np.float32)
    zi = np.rint(np.clip(z.astype(np.float64), -16, 16) * 2**Z_BITS).astype(np.int64)
    ui, si = q.u_ints.astype(np.int64), q.s_ints.astype(np.int64)
    exact = zi[:, :r].astype(object) @ ui.T.astype(object) + zi[:, r:].astype(object) * si
    want = np.array([[float(v) for v in row] for row in exact]) * (
        q.scale * 2.0 ** -(q.bits + Z_BITS))
    np.testing.assert_array_equal(q.apply(z), want)
    np.testing.assert_array_equal(q.apply(z, np.float32), want.astype(np.float32))
    # rows do not depend on their neighbours, nor on the BLAS thread count
    with threadpoolctl.threadpool_limits(2):
        np.testing.assert_array_equal(np.concatenate([q.apply(z[i:i + 1]) for i in range(n)]),
                                      want)
    assert np.abs(q.matrix()[:, :r] - u).max() <= q.scale * 2.0 ** -q.bits
