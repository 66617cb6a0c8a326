"""The accessor forwards without logic; help() and Shift-Tab show the public signatures."""

from __future__ import annotations

import inspect

import xattrib


def test_accessor_methods_show_the_public_signatures_and_docs():
    sst = xattrib.datasets.pacific_sst()
    for name, func in (("benchmark", xattrib.benchmark), ("fit", xattrib.fit),
                       ("score", xattrib.score), ("area_weights", xattrib.grid.area_weights),
                       ("to_netcdf", xattrib.io.to_netcdf),
                       ("attribute", xattrib.attribute), ("trim", xattrib.trim)):
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


def test_looking_up_attribute_imports_torch_but_import_xattrib_does_not():
    import subprocess
    import sys

    code = ("import sys, inspect, xattrib; ds = xattrib.datasets.pacific_sst(); "
            "a = 'torch' in sys.modules; m = ds.xattrib.attribute; "
            "print(a, 'torch' in sys.modules, 'methods' in inspect.signature(m).parameters)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True", "True"]
    sst = xattrib.datasets.pacific_sst()
    assert sst.xattrib.attribute.__self__._obj is sst  # bound to this object
