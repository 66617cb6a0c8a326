"""audit(): the truth-corruption ladder, rank agreement with the truth, noise floor, the
trust table; heat= reuses heatmaps."""

import numpy as np
import pytest
import xarray as xr

import xattrib
from xattrib.evaluation.auditing import _kendall_rows, audit, ladder_maps, trust_table

METRICS = ["faithfulness_correlation", "deletion_gap", "avg_sensitivity", "sparseness"]
METHODS = ["integrated_gradients", "input_x_gradient", "gradient", "occlusion"]


@pytest.fixture(scope="module")
def audited(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=40, seed=0, response="linear").compute()
    exact = xattrib.Model.exact(bench)
    return bench, exact, audit(bench, exact, methods=METHODS, metrics=METRICS, n_samples=12,
                               seeds=2, avg_sensitivity={"n_samples": 3})


def test_the_ladder_is_made_from_the_truth(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=6, seed=0).compute()
    lad = ladder_maps(bench, (0.0, 0.5, 1.0))
    t = bench["truth"]
    xr.testing.assert_allclose(lad.sel(xai_method="truth_mix_0").drop_vars("xai_method"), t,
                               check_dim_order=False)
    mixed = lad.sel(xai_method="truth_mix_0.5").values
    np.testing.assert_allclose(mixed, 0.5 * t.values + 0.5 * np.roll(t.values, -1, 0))
    np.testing.assert_allclose(lad.sel(xai_method="truth_negated"), -t)
    land = ~bench["mask"].values
    assert np.isnan(lad.values[:, :, land]).all()  # land stays land in every map
    shuffled = lad.sel(xai_method="truth_shuffled").values
    np.testing.assert_allclose(np.sort(shuffled[0][~land]), np.sort(t.values[0][~land]))


def test_faithfulness_correlation_is_trustworthy_on_a_linear_benchmark(audited):
    _, _, a = audited
    fc = a.sel(gtfree_metric="faithfulness_correlation")
    assert float(fc["ladder_monotonicity"]) > 0.9  # worsens as the truth is corrupted
    assert float(fc["truth_first"]) > 0.9
    assert float(fc["rank_agreement"]) > 0.5
    lo, hi = float(fc["rank_agreement_low"]), float(fc["rank_agreement_high"])
    assert lo <= float(fc["rank_agreement"]) <= hi
    # IG and occlusion are exact on a linear F: the truth picks one of them, FC agrees
    assert a.attrs["truth_picks"] in ("integrated_gradients", "occlusion", "input_x_gradient")
    assert float(fc["truth_skill"]) == pytest.approx(1.0, abs=0.02)


def test_structure_noise_floor_and_table(audited):
    _, _, a = audited
    assert set(a["rank_agreement"].dims) == {"gtfree_metric"}
    assert a["value"].dims == ("gtfree_metric", "xai_method")
    assert float(a["noise_floor"].sel(gtfree_metric="sparseness")) == 0.0  # no random draws
    assert float(a["noise_floor"].sel(gtfree_metric="faithfulness_correlation")) > 0.0
    # robustness re-runs a method: the ladder (hand-made maps) cannot be scored by it
    assert np.isnan(float(a["ladder_monotonicity"].sel(gtfree_metric="avg_sensitivity")))
    table = a.attrs["trust_table"]
    assert table == trust_table(a) and table.count("\n| ") == len(METRICS) + 1
    assert "| faithfulness_correlation | faithfulness |" in table
    assert "Rule: trusted: lower 95 % bound" in table


def test_verdicts_follow_the_rule_and_only_trusted_picks_count(audited):
    """✓ comes from the rule alone: each metric's verdict is the rule applied to its own
    numbers, and a metric the rule does not trust shows its pick in brackets."""
    from xattrib.evaluation.auditing import TRUST_TAU, TRUST_TRUTH_FIRST

    _, _, a = audited
    table = a.attrs["trust_table"]
    for name in a["gtfree_metric"].values:
        row = a.sel(gtfree_metric=name)
        lo, hi, tf = (float(row[k]) for k in ("rank_agreement_low", "rank_agreement_high",
                                               "truth_first"))
        want = ("misleading" if hi < 0 else "trusted" if lo >= TRUST_TAU
                and tf >= TRUST_TRUTH_FIRST else "uninformative")
        assert str(row["verdict"].values) == want, name
        line = next(x for x in table.splitlines() if x.startswith(f"| {name} |"))
        assert line.endswith("trusted ✓ |") == (want == "trusted")
        assert (f"({row['picks'].values})" in line) == (want != "trusted")
    # on the exact linear network faithfulness correlation tracks the truth (SCIENCE.md)
    assert str(a["verdict"].sel(gtfree_metric="faithfulness_correlation").values) == "trusted"


def test_skill_scores_are_bounded_by_their_definition(audited):
    """A skill score is at most 1 (the ideal): metrics whose ideal is no bound get none."""
    _, _, a = audited
    s = a["skill"].values
    assert np.all(s[np.isfinite(s)] <= 1 + 1e-9)
    assert np.isnan(a["skill"].sel(gtfree_metric="deletion_gap")).all()


def test_kendall_rows_ranks_per_sample():
    q = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]])
    r = np.array([[0.9, 0.9], [0.5, 0.5], [0.1, 0.1]])
    np.testing.assert_allclose(_kendall_rows(q, r), [1.0, -1.0])


def test_precomputed_heatmaps_give_the_same_audit(audited):
    bench, exact, a = audited
    heat = xattrib.attribute(bench, exact, methods=METHODS, progress=False)
    b = bench.xattrib.audit(exact, metrics=METRICS, n_samples=12, seeds=2, heat=heat,
                            avg_sensitivity={"n_samples": 3})
    for v in ("rank_agreement", "value", "ladder_monotonicity"):
        # the heatmaps of 12 samples vs 40: IG's batches differ in the last bits only
        np.testing.assert_allclose(a[v].values, b[v].values, rtol=1e-8, atol=1e-12)


def test_bad_input(audited, small_grid):
    bench, exact, _ = audited
    with pytest.raises(ValueError, match="at least 3 methods"):
        audit(bench, exact, methods=["gradient", "occlusion"])
    with pytest.raises(ValueError, match="needs a benchmark Dataset"):
        audit(bench[["x", "mask"]], exact, methods=METHODS)


def test_the_audit_file_passes_the_cf_check(audited, tmp_path):
    _, _, a = audited
    p = xattrib.io.to_netcdf(a, tmp_path / "audit.nc")
    assert xattrib.io.check_cf(p) == []


def test_the_ladder_and_audit_of_two_variables(sst):
    two = xattrib.benchmark(xattrib.datasets.lagged(sst, lags=[0, 1]), n_samples=20,
                            chunks=20, response="linear")
    lad = ladder_maps(two)
    assert set(lad.data_vars) == {"attribution_sst_lag0", "attribution_sst_lag1"}
    for v in ("sst_lag0", "sst_lag1"):
        xr.testing.assert_allclose(
            lad[f"attribution_{v}"].sel(xai_method="truth_mix_0", drop=True),
            two[f"truth_{v}"].astype(float).drop_vars(
                [c for c in two[f"truth_{v}"].coords if c not in ("sample", "lat", "lon")]),
            check_dim_order=False)
        xr.testing.assert_allclose(lad[f"attribution_{v}"].sel(xai_method="input", drop=True),
                                   two[v].astype(float), check_dim_order=False)
    f = xattrib.Model.exact(two)
    r = audit(two, f, methods=["integrated_gradients", "gradient", "input_x_gradient"],
              metrics=["faithfulness_correlation", "sparseness"], n_samples=5, seeds=1)
    # the truth itself is perfectly faithful, every corruption less so
    assert float(r["ladder_monotonicity"].sel(gtfree_metric="faithfulness_correlation")) > 0.9


def test_the_truth_and_a_random_map_are_re_run_for_robustness_and_randomisation():
    from xattrib.evaluation.auditing import reference_explainers

    bench = xattrib.benchmark(n_samples=40, chunks=40)
    f = xattrib.Model.exact(bench)
    ex = reference_explainers(bench, f)
    test = bench.isel(sample=slice(0, 3)).compute()
    cells = xattrib.CellIndex.from_mask(bench["mask"])
    import torch

    x = torch.as_tensor(cells.stack(test["x"]).values)
    zero = torch.zeros_like(x)
    # the truth explainer is the benchmark's truth (zero baseline), whatever the network
    np.testing.assert_allclose(ex["truth_mix_0"](x, zero).numpy(),
                               cells.stack(test["truth"]).values, atol=1e-6)
    # the random one: the same input and network give the same map, another network another
    r1, r2 = ex["random"](x, zero), ex["random"](x, zero)
    np.testing.assert_array_equal(r1.numpy(), r2.numpy())
    other = torch.nn.Sequential(torch.nn.Linear(450, 1))
    assert not np.allclose(ex["random"](x, zero, other).numpy(), r1.numpy())
    r = audit(bench, f, methods=["integrated_gradients", "gradient", "input_x_gradient"],
              metrics=["avg_sensitivity", "mprt"], n_samples=5, seeds=1)
    tv = r["truth_value"]
    # the truth ignores the network: MPRT finds it identical to itself (its worst value)
    assert float(tv.sel(gtfree_metric="mprt")) == pytest.approx(1.0)
    # robustness: the truth moves little under small perturbations, a random map a lot
    assert 0 < float(tv.sel(gtfree_metric="avg_sensitivity")) < 0.5
    assert np.isfinite(r["skill"].sel(gtfree_metric="avg_sensitivity")).all()
    # MPRT's random reference is already ideal (unrelated maps: Spearman ≈ 0): no skill
    assert np.isnan(r["skill"].sel(gtfree_metric="mprt")).all()
