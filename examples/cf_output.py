# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # CF output and other tools
#
# xattrib's files are CF-1.8 netCDF, or zarr stores with the same attributes. Other tools
# need no knowledge of xattrib to read them. This notebook writes a benchmark and its
# heatmaps, then:
#
# - checks them with the IOOS compliance-checker;
# - opens them with cf-xarray, by meaning rather than by name;
# - scores them with xskillscore, checked against xattrib's own metric.
#
# It ends with the CDO and NCO commands that do the same on the command line.
#
# Run: `.venv/bin/python examples/cf_output.py [--small]`.

# %%
import argparse
import os
import tempfile
from pathlib import Path

import cf_xarray  # noqa: F401  (the .cf accessor)
import numpy as np
import xarray as xr
import xskillscore as xs

import xattrib

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true")
a, _ = ap.parse_known_args()  # in a notebook, the kernel's own arguments are ignored
small = a.small or os.environ.get("XATTRIB_EXAMPLE_SIZE") == "small"
out = Path(tempfile.mkdtemp(prefix="xattrib-cf-"))

# %% [markdown]
# A benchmark, and heatmaps of its exact response F (`Model.exact`, which needs no
# training), written as CF-1.8 netCDF:

# %%
bench = xattrib.benchmark(n_samples=200 if small else 2_000, seed=0, chunks=100)
heat = xattrib.attribute(bench, xattrib.Model.exact(bench),
                         methods=["integrated_gradients", "gradient"], progress=False)
xattrib.io.to_netcdf(bench, out / "benchmark.nc")
xattrib.io.to_netcdf(heat, out / "attributions.nc")
for name in ("benchmark.nc", "attributions.nc"):
    print(name, "CF-1.8 errors:", xattrib.io.check_cf(out / name))

# %% [markdown]
# ## cf-xarray: coordinates by meaning
#
# The files carry `standard_name`, `units`, `axis` and `bounds`, and a `cell_area` variable
# with `standard_name: cell_area`. cf-xarray finds the latitude, longitude and cell area
# without knowing their names.
#
# Plain `xr.open_dataset` reads everything; the method labels are the string auxiliary
# coordinate `xai_method_label` (CF coordinate variables must be numeric), which
# `set_xindex` makes selectable. `xattrib.io.open_dataset` does that for you and names the
# index `xai_method` again.

# %%
plain = xr.open_dataset(out / "attributions.nc").set_xindex("xai_method_label")
print("methods:", list(plain["xai_method_label"].values))
ds = xattrib.io.open_dataset(out / "attributions.nc")
print("axes:", ds.cf.axes)
print("coordinates:", ds.cf.coordinates)
print("standard names:", sorted(ds.cf.standard_names))
lat = ds.cf["latitude"]
print(f"latitude: {lat.name}, {float(lat.min())} to {float(lat.max())} {lat.attrs['units']}")

# %% [markdown]
# ## xskillscore: the same correlation, independently
#
# xskillscore's `pearson_r` over the spatial dims, with `skipna` for land, gives
# the same per-sample correlation as xattrib's unweighted `pearson` metric:

# %%
truth = xr.open_dataset(out / "benchmark.nc")["truth"]
attr = ds["attribution"].sel(xai_method="integrated_gradients")
r_xs = xs.pearson_r(attr, truth, dim=["lat", "lon"], skipna=True)
r_ours = xattrib.score(ds, truth, metrics=["pearson"], weights=None)["pearson"].sel(
    xai_method="integrated_gradients")
print(f"mean r: xskillscore {float(r_xs.mean()):.4f}, xattrib {float(r_ours.mean()):.4f}; "
      f"largest difference {float(abs(r_xs - r_ours).max()):.1e}")
assert np.allclose(r_xs, r_ours, atol=1e-5)

# %% [markdown]
# ## CDO and NCO
#
# The same files work with the climate community's command-line tools. These commands are
# not run in this build, because CDO and NCO are not Python packages:
#
# ```bash
# ncdump -h attributions.nc                                   # header: CF attributes
# ncks -v attribution -d sample,0,9 attributions.nc first10.nc  # a subset, attributes kept
# ncap2 -s 'err=abs(completeness_error)' attributions.nc err.nc
# cdo -sinfon benchmark.nc                                    # grid and variables
# cdo -fldmean -selname,truth benchmark.nc truth_mean.nc      # area-weighted field mean
# ```
#
# Weighted means in CDO use the cell areas implied by the `lat_bnds`/`lon_bnds` bounds.
# These are the same bounds that xattrib's `cell_area` is computed from.
