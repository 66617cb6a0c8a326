"""The accessor forwards without logic; help() and Shift-Tab show the public signatures."""

from __future__ import annotations

import inspect

import xattrib


def test_accessor_methods_show_the_public_signatures_and_docs():
    sst = xattrib.datasets.pacific_sst()
    for name, func in (("benchmark", xattrib.benchmark), ("fit", xattrib.fit),
                       ("score", xattrib.score), ("area_weights", xattrib.grid.area_weights),
                       ("to_netcdf", xattrib.io.to_netcdf)):
        method = getattr(sst.xattrib, name)
        want = list(inspect.signature(func).parameters)[1:]  # the object is the first
        assert list(inspect.signature(method).parameters) == want, name
        first = inspect.cleandoc(func.__doc__).splitlines()[0]
        assert first in method.__doc__, name
    assert "n_samples" in inspect.signature(sst.xattrib.benchmark).parameters


def test_the_accessor_still_forwards_every_keyword():
    sst = xattrib.datasets.pacific_sst()
    a = sst.xattrib.benchmark(n_samples=5, chunks=5, seed=3, response="linear")
    b = xattrib.benchmark(sst, n_samples=5, chunks=5, seed=3, response="linear")
    assert a.identical(b)
