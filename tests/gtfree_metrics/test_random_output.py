import numpy as np
import pytest
import torch

import xattrib
from xattrib.evaluation import evaluate


def _two_outputs(sst, same):
    lin = torch.nn.Linear(450, 2, bias=False)
    with torch.no_grad():
        w = torch.randn(450, generator=torch.Generator().manual_seed(0))
        lin.weight[0] = w
        lin.weight[1] = w if same else torch.randn(450, generator=torch.Generator()
                                                   .manual_seed(1))
    return xattrib.Model.from_module(lin, like=sst, outputs=["a", "b"])


@pytest.mark.parametrize("same", [True, False])
def test_random_output_compares_the_outputs_explanations(sst, same):
    m = _two_outputs(sst, same)
    ds = sst.to_dataset(name="sst").rename(time="sample").isel(sample=slice(0, 5))
    heat = xattrib.attribute(ds, m, methods="gradient", x="sst", progress=False)
    q = evaluate(heat, m, ds, metrics=["random_output"], x="sst").compute()
    assert q["random_output"].dims == ("output", "xai_method", "sample")
    if same:  # the same weights: the other output's gradient is the same map
        np.testing.assert_allclose(q["random_output"], 1.0)
    else:  # independent weights: |w_a| and |w_b| unrelated
        assert float(abs(q["random_output"]).max()) < 0.2
    # maps of one output (attribute records which) give that output's values
    one = xattrib.attribute(ds, m, methods="gradient", x="sst", progress=False, output="b")
    assert one.attrs["xattrib_output"] == "b"
    qb = evaluate(one, m, ds, metrics=["random_output"], x="sst").compute()
    np.testing.assert_allclose(qb["random_output"].values,
                               q["random_output"].sel(output="b").values)


def test_random_output_needs_several_outputs(sst):
    bench = xattrib.benchmark(n_samples=4, chunks=4)
    f = xattrib.Model.exact(bench)
    heat = xattrib.attribute(bench, f, methods="gradient", progress=False)
    with pytest.raises(ValueError, match="compare the explanations of a model's outputs"):
        evaluate(heat, f, bench, metrics=["random_output"])
    q = evaluate(heat, f, bench, metrics=None)  # all that apply
    assert "random_output" not in q and "mprt" in q
