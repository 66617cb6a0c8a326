import numpy as np

import xattrib
from xattrib.grid import find_latlon


def test_pacific_sst():
    sst = xattrib.datasets.pacific_sst()
    assert sst.dims == ("time", "lat", "lon") and sst.sizes["time"] == 50
    assert find_latlon(sst).dims == ("lat", "lon")
    ocean = sst.notnull().all("time")
    assert int(ocean.sum()) == 450
    # land is NaN in every season; anomalies have plausible spreads
    assert bool((sst.isnull().any("time") == ~ocean).all())
    std = sst.std("time").where(ocean)
    assert 0.05 < float(std.min()) and float(std.max()) < 3.0  # anomalies in K
    assert sst.attrs["units"] == "K"
    assert np.isfinite(sst.where(ocean, 0)).all()
