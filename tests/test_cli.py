import subprocess
import sys

import matplotlib.pyplot as plt
import pytest

import xattrib
from xattrib.cli import main

TINY = ["--samples", "400", "--test-samples", "40", "--epochs", "1", "--samples-per-epoch",
        "2000", "--methods", "gradient,integrated_gradients,lrp_z,occlusion,deepshap",
        "--exact-samples", "20", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("job")
    before = set(plt.get_fignums())
    assert main(["benchmark", "--out", str(out), *TINY]) == 0
    # pyplot keeps figures until closed: a job left open accumulates (matplotlib warns at 20)
    assert set(plt.get_fignums()) == before
    return out


def test_writes_every_file(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"benchmark.nc", "attributions.nc", "scores.nc", "model.nc", "maps.png",
            "histograms.png", "skill.png", "report.md", "audit.nc"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary left behind


@pytest.mark.parametrize("name", ["benchmark.nc", "attributions.nc", "scores.nc", "model.nc",
                                  "audit.nc"])
def test_outputs_pass_cf_checker(run_dir, name):
    assert xattrib.io.check_cf(run_dir / name) == []


def test_report_has_table_r2_seed_versions(run_dir):
    text = (run_dir / "report.md").read_text()
    assert "validation R² of the network" in text and "| integrated_gradients |" in text
    assert "| null_random |" in text and "seed 0" in text and "captum" in text
    # each method's score on the exact F beside its score on the network
    assert "Pearson r on exact F" in text
    ig = next(line for line in text.splitlines() if line.startswith("| integrated_gradients"))
    assert float(ig.split("|")[3]) > 0.99  # IG is exact on the true function


def test_outputs_read_back(run_dir):
    heat = xattrib.io.open_dataset(run_dir / "attributions.nc")
    assert heat["attribution"].dims == ("xai_method", "sample", "lat", "lon")
    model = xattrib.Model.load(run_dir / "model.nc")
    assert model.cells.n_cells == 450


def test_config_file_and_flags(tmp_path):
    from xattrib.cli import _parser, config_from_args

    cfg_file = tmp_path / "job.toml"
    cfg_file.write_text('samples = 800\nmethods = ["gradient"]\nepochs = 3\n')
    args = _parser().parse_args(["benchmark", "--out", "x", "--config", str(cfg_file),
                                 "--epochs", "5"])
    cfg = config_from_args(args)
    assert (cfg.samples, cfg.methods, cfg.epochs) == (800, ["gradient"], 5)
    cfg_file.write_text("sampels = 3\n")
    with pytest.raises(ValueError, match="unknown key.*Did you mean 'samples'"):
        config_from_args(_parser().parse_args(["benchmark", "--out", "x", "--config",
                                               str(cfg_file)]))


def test_bad_method_is_a_clear_error(tmp_path, capsys):
    assert main(["benchmark", "--out", str(tmp_path), "--methods", "integrated_gradient"]) == 2
    assert "Did you mean 'integrated_gradients'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_python_dash_m_help():
    out = subprocess.run([sys.executable, "-m", "xattrib", "benchmark", "--help"],
                         capture_output=True, text=True, check=True)
    assert "--scheduler" in out.stdout


def test_same_seed_twice_gives_byte_identical_data(run_dir, tmp_path):
    """The whole job run again with the same seed: every data variable of every file is
    identical, bit for bit (attributes such as history may differ)."""
    import numpy as np
    import xarray as xr

    (tmp_path / "report.md").write_text("an earlier run")  # replaced with --overwrite
    assert main(["benchmark", "--out", str(tmp_path), "--overwrite", *TINY]) == 0
    assert (tmp_path / "report.md").read_text() != "an earlier run"
    for name in ("benchmark.nc", "model.nc", "attributions.nc", "scores.nc"):
        with xr.open_dataset(run_dir / name) as a, xr.open_dataset(tmp_path / name) as b:
            assert set(a.variables) == set(b.variables)
            for v in a.variables:
                x, y = a[v].values, b[v].values
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (name, v)


def test_no_dimension_or_coordinate_is_an_xarray_keyword(run_dir):
    """No name a user selects by may shadow a keyword of sel/isel/interp/reindex/drop_sel
    (``heat.sel(method=...)`` silently selected every method: pydata/xarray#3324)."""
    from xattrib.dims import RESERVED

    assert "method" in RESERVED and "tolerance" in RESERVED
    for name in ("benchmark.nc", "attributions.nc", "scores.nc", "model.nc"):
        ds = xattrib.io.open_dataset(run_dir / name)
        clash = (set(map(str, ds.dims)) | set(map(str, ds.coords))) & RESERVED
        assert not clash, (name, clash)
    heat = xattrib.io.open_dataset(run_dir / "attributions.nc")
    one = heat["attribution"].sel(xai_method="gradient")  # selects by keyword, one method
    assert "xai_method" not in one.dims and one.ndim == 3


def test_interrupted_run_leaves_out_as_it_was(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the files are being written: nothing appears in --out (files go to a
    hidden folder beside it and move in only when all are done), and no folder is left."""
    import xattrib.plots

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(xattrib.plots, "plot_skill", interrupt)  # after the .nc files
    out = tmp_path / "run"
    assert main(["benchmark", "--out", str(out), *TINY]) == 130
    assert "interrupted; nothing was written" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_the_exact_samples_default_follows_test_samples():
    from xattrib.cli import _parser, config_from_args

    cfg = config_from_args(_parser().parse_args(
        ["benchmark", "--out", "x", "--samples", "400", "--test-samples", "100"]))
    cfg.validate()
    assert cfg.exact_samples == 100
    cfg = config_from_args(_parser().parse_args(["benchmark", "--out", "x"]))
    assert cfg.exact_samples == 200
    cfg = config_from_args(_parser().parse_args(
        ["benchmark", "--out", "x", "--test-samples", "100", "--exact-samples", "0"]))
    assert cfg.exact_samples == 0


def test_report_audits_gtfree_metrics_against_the_truth(run_dir):
    text = (run_dir / "report.md").read_text()
    assert "## GT-free metrics against the truth" in text
    assert "| faithfulness_correlation | faithfulness |" in text and "the truth picks" in text
    assert "Rule: trusted: lower 95 % bound" in text  # ✓ by the rule, in the job's report too
    audit_ = xattrib.io.open_dataset(run_dir / "audit.nc")
    for q, v in zip(audit_["gtfree_metric"].values, audit_["verdict"].values, strict=True):
        line = next(x for x in text.splitlines() if x.startswith(f"| {q} |"))
        assert line.endswith(f"| {v}{' ✓' if v == 'trusted' else ''} |")
    audit = xattrib.io.open_dataset(run_dir / "audit.nc")
    assert list(audit["gtfree_metric"].values)[0] == "faithfulness_correlation"
    assert set(audit["xai_method"].values) == {"gradient", "integrated_gradients", "lrp_z",
                                               "occlusion"}  # deepshap needs a background


def test_audit_from_the_shell(tmp_path, capsys):
    out = tmp_path / "audit"
    before = set(plt.get_fignums())
    assert main(["audit", "--out", str(out), "--samples", "200", "--audit-samples", "8",
                 "--seeds", "2", "--models", "exact", "--metrics",
                 "faithfulness_correlation,deletion_gap,sparseness", "--methods",
                 "integrated_gradients,gradient,input_x_gradient", "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == {"audit_exact.nc", "trust_exact.png",
                                               "trust.md"}
    assert set(plt.get_fignums()) == before  # the trust figure was written and closed
    assert "| deletion_gap | faithfulness |" in (out / "trust.md").read_text()
    assert main(["audit", "--out", str(tmp_path / "b"), "--metrics", "sparsenes"]) == 2
    assert "Did you mean 'sparseness'" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_list_gtfree_metrics_by_its_name_and_its_old_one(capsys):
    assert main(["list", "gtfree-metrics"]) == 0
    text = capsys.readouterr().out
    assert "faithfulness_correlation" in text and "randomisation" in text
    assert main(["list", "probes"]) == 0
    assert capsys.readouterr().out == text


def test_advise_from_the_shell(tmp_path, capsys):
    """A saved network and a netCDF file of its inputs and target: advice.nc (CF-clean),
    heatmaps.nc, report.md with the verdict first, one trust figure per family; a wrong
    target is one line and exit 2, with nothing written."""
    sst = xattrib.datasets.pacific_sst()
    bench = xattrib.benchmark(sst, n_samples=300, seed=5, response="linear")
    mine = xattrib.fit(bench, hidden=(8,), epochs=2, progress=False, fresh=False)
    mine.save(tmp_path / "model.nc")
    ds = sst.to_dataset(name="sst")
    ds["nino"] = mine.predict(sst.rename("x")).rename(None)
    ds.to_netcdf(tmp_path / "data.nc")
    out = tmp_path / "advice"
    args = ["advise", "--model-file", str(tmp_path / "model.nc"), "--data",
            str(tmp_path / "data.nc"), "--var", "sst", "--methods",
            "gradient,input_x_gradient,integrated_gradients", "--metrics", "sparseness",
            "--audit-samples", "10", "--explain-samples", "5", "--seeds", "1", "--epochs", "2"]
    assert main([*args, "--target", "nino", "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == {"advice.nc", "heatmaps.nc", "report.md",
                                               "trust_pwl.png", "trust_tanh.png"}
    assert xattrib.io.check_cf(out / "advice.nc") == []
    assert xattrib.io.check_cf(out / "heatmaps.nc") == []
    adv = xattrib.io.open_dataset(out / "advice.nc")
    report = (out / "report.md").read_text()
    assert report.split("\n\n")[1] == adv.attrs["verdict"]
    assert adv.attrs["verdict"].startswith(f"Believe {adv.attrs['recommended_method']}")
    assert adv.attrs["user_r2"] == pytest.approx(1.0)
    assert main([*args, "--target", "nope", "--out", str(tmp_path / "b")]) == 2
    assert "target 'nope' is not a variable of" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_the_job_on_a_users_file(tmp_path):
    """--data FILE --var NAME --sample-dim: a file with a size-1 level and a noleap
    calendar runs through the whole job; the provenance says what was squeezed."""
    import xarray as xr

    sst = xattrib.datasets.pacific_sst()
    t = xr.date_range("1963-01-01", periods=50, freq="YS", calendar="noleap",
                      use_cftime=True)
    ds = sst.assign_coords(time=t).expand_dims(level=[850.0]).to_dataset(name="tos")
    ds["slp"] = ds["tos"] * 0.5
    ds.to_netcdf(tmp_path / "mine.nc")
    out = tmp_path / "out"
    assert main(["benchmark", "--out", str(out), "--data", str(tmp_path / "mine.nc"), "--var",
                 "tos", "--sample-dim", "time", *TINY]) == 0
    report = (out / "report.md").read_text()
    assert "estimated from tos (50 samples along 'time', 450 cells)" in report
    assert "squeezed: level=850.0" in report


def test_the_job_on_two_variables_of_a_users_file(tmp_path):
    """--var tos --var slp: one joint source; scores of all cells and of each variable,
    a map and skill figure per variable, the GT-free audit on the two-variable model."""
    import xarray as xr

    sst = xattrib.datasets.pacific_sst()
    slp = (0.6 * sst + 0.8 * sst.shift(time=1).fillna(0.0)).where(sst.notnull())
    xr.Dataset({"tos": sst, "slp": slp.rename("slp")}).to_netcdf(tmp_path / "two.nc")
    out = tmp_path / "out"
    before = set(plt.get_fignums())
    assert main(["benchmark", "--out", str(out), "--data", str(tmp_path / "two.nc"), "--var",
                 "tos", "--var", "slp", *TINY[:-1], "--gtfree-samples", "4", "--quiet"]) == 0
    assert set(plt.get_fignums()) == before
    names = {p.name for p in out.iterdir()}
    assert {"maps_tos.png", "maps_slp.png", "skill_tos.png", "skill_slp.png",
            "histograms.png", "audit.nc"} <= names
    report = (out / "report.md").read_text()
    assert "estimated from tos and slp (50 samples along 'time', 450 cells × 2 variables)" \
        in report
    assert "## Scores on each input variable" in report
    assert "| method | tos: r / NMAE | slp: r / NMAE |" in report
    assert "input variables: tos slp" in report
    scores = xattrib.io.open_dataset(out / "scores.nc")
    assert scores["input_variable"].values.tolist() == ["tos", "slp", "all"]
    assert io_check(out / "scores.nc") == []
    model = xattrib.Model.load(out / "model.nc")
    assert model.variables == ["tos", "slp"]


def test_the_job_on_lags_of_the_bundled_sst(tmp_path):
    out = tmp_path / "lags"
    assert main(["benchmark", "--out", str(out), "--lags", "0", "1", *TINY[:-1],
                 "--gtfree-samples", "0", "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "input variables: sst_lag0 sst_lag1" in report
    assert "| method | sst_lag0: r / NMAE | sst_lag1: r / NMAE |" in report
    assert main(["benchmark", "--out", str(tmp_path / "b"), "--lags", "0", "1", "--grid",
                 "global"]) == 2


def io_check(path):
    return xattrib.io.check_cf(path)


def test_perturbation_methods_take_patches_on_large_grids():
    import numpy as np
    import xarray as xr

    from xattrib.job.run import _patch_params

    big = xr.Dataset({"mask": (("lat", "lon"), np.ones((180, 240), bool))})
    p = _patch_params(["occlusion", "gradient", "shapley_sampling"], big)
    assert p == {"occlusion": {"patch": 7}, "shapley_sampling": {"patch": 7}}
    small = xr.Dataset({"mask": (("lat", "lon"), np.ones((18, 25), bool))})
    assert _patch_params(["occlusion", "shapley_sampling"], small) == {}


def test_the_job_with_an_interacting_response_scores_each_kind(tmp_path):
    out = tmp_path / "pairs"
    assert main(["benchmark", "--out", str(out), *TINY, "--response", "pairs",
                 "--gtfree-samples", "0"]) == 0
    report = (out / "report.md").read_text()
    assert "## Scores against each kind of truth" in report
    assert "| shapley: r / NMAE | ig: r / NMAE | main: r / NMAE | interaction: r / NMAE |" \
        in report
    assert "Not run on the exact F (no LRP rule for its product and gate modules): lrp_z" \
        in report
    sc = xattrib.io.open_dataset(out / "scores.nc")
    assert list(sc["truth_kind"].values) == ["shapley", "ig", "main", "interaction",
                                             "leave_one_out"]
    exact = sc["summary_exact_f_by_kind_pearson"].sel(statistic="mean")
    # on the exact F, IG hits its own target and occlusion is above the main effects
    assert float(exact.sel(truth_kind="ig", xai_method="integrated_gradients")) > 0.99
    assert bool(exact.sel(xai_method="lrp_z").isnull().all())
    bench = xattrib.io.open_dataset(out / "benchmark.nc")
    assert "truth_interaction" in bench and bench.attrs["xattrib_response_family"] == "pairs"


def test_the_job_refuses_an_expectation_baseline_with_interactions():
    from xattrib.job import JobConfig

    with pytest.raises(ValueError, match="has interactions"):
        JobConfig(response="gating", baseline="expectation").validate()
