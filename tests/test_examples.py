"""Every example runs at its small size — once, where the documentation executes it.

The documentation build (the session's ``site`` fixture) executes each script in
``examples/`` as a notebook at ``XATTRIB_EXAMPLE_SIZE=small`` (the same as ``--small``), and
an error in any cell fails the build; running each script a second time as a subprocess
doubled the suite's longest part for no check it did not already make. Here: every
example is a page of the site, executed, printing something, with no error in its output.
The command-line path of a script (``--small --out``) is run by
``test_docs.py::test_first_benchmark_numbers_match_the_command`` for the quickstart.
"""

from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.xdist_group("docs")
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(site, script):
    page = site / "examples" / f"{script.stem}.html"
    assert page.exists(), f"{script.name} is not executed by the documentation build"
    html = page.read_text(encoding="utf-8")
    assert "cell_output" in html, f"{script.name}: no output"
    for error in ("Traceback (most recent call last)", "output traceback"):
        assert error not in html, f"{script.name}: an error in its executed output"


@pytest.mark.xdist_group("docs")
@pytest.mark.parametrize("name", ["interactions", "correlation_ensembles"])
def test_small_runs_say_their_networks_mean_nothing(site, name):
    """The docs build runs these at a size where the networks cannot learn (R² far below
    0.9): the rendered page says so and where the full numbers are."""
    html = (site / "examples" / f"{name}.html").read_text(encoding="utf-8")
    assert "SMALL RUN" in html and "nothing" in html and "rerun without --small" in html
