"""summarize and skill_map over any sample dimension."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xattrib


@pytest.fixture(scope="module")
def scored():
    bench = xattrib.benchmark(n_samples=40, chunks=40, response="linear").compute()
    heat = bench.xattrib.attribute(xattrib.Model.exact(bench), methods=["gradient",
                                   "integrated_gradients"], progress=False)
    return bench, heat


def test_sample_dim_time_gives_the_same_numbers(scored):
    bench, heat = scored
    s = xattrib.score(heat, bench["truth"], metrics=["pearson", "nmae"])
    t = xattrib.score(heat.rename(sample="time"), bench["truth"].rename(sample="time"),
                      metrics=["pearson", "nmae"], sample_dim="time")
    np.testing.assert_array_equal(s["pearson"].values, t["pearson"].values)
    # found by itself too
    t2 = xattrib.score(heat.rename(sample="time"), bench["truth"].rename(sample="time"),
                       metrics=["pearson"])
    np.testing.assert_array_equal(s["pearson"].values, t2["pearson"].values)
    a = xattrib.scoring.summarize(s, n_boot=20)
    b = xattrib.scoring.summarize(t, n_boot=20, sample_dim="time")
    xr.testing.assert_identical(a, b)
    assert float(a["pearson"].sel(xai_method="integrated_gradients", statistic="mean")) > 0.999
    m1 = xattrib.scoring.skill_map(heat, bench["truth"])
    m2 = xattrib.scoring.skill_map(heat.rename(sample="time"),
                                   bench["truth"].rename(sample="time"), sample_dim="time")
    xr.testing.assert_identical(m1, m2)


def test_a_wrong_sample_dim_is_named(scored):
    bench, heat = scored
    s = xattrib.score(heat, bench["truth"], metrics=["pearson"])
    with pytest.raises(ValueError, match=r"sample_dim='tim' is not a dimension of the scores.*"
                                         r"Did you mean 'time'\?"):
        xattrib.scoring.summarize(s.rename(sample="time"), sample_dim="tim")
    with pytest.raises(ValueError, match=r"cannot tell the sample dimension of the scores among "
                                         r"\('time', 'lead'\).*pass sample_dim="):
        xattrib.scoring.summarize(s.rename(sample="time").expand_dims(lead=2))
