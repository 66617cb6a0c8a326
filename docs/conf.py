"""Sphinx configuration of xattrib's documentation site (see docs/README.md).

Build (offline, warnings are errors)::

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

The example scripts in ``examples/`` are jupytext percent notebooks: they are copied into
``docs/examples/`` (generated, not in git) and executed by myst-nb at the size the
environment variable ``XATTRIB_EXAMPLE_SIZE`` selects (``small`` unless set otherwise).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import sphinx_autosummary_accessors

import xattrib  # registers the accessors that the API reference documents

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# every notebook runs at the documentation's size (the kernels inherit this environment)
os.environ.setdefault("XATTRIB_EXAMPLE_SIZE", "small")
os.environ.setdefault("OMP_NUM_THREADS", "2")

# the examples are the notebooks: copy them beside the pages that include them
_NB = HERE / "examples"
shutil.rmtree(_NB, ignore_errors=True)
_NB.mkdir()
for script in sorted((ROOT / "examples").glob("*.py")):
    shutil.copy2(script, _NB / script.name)

project = "xattrib"
author = "xattrib developers"
copyright = "2026, xattrib developers"
release = xattrib.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_autosummary_accessors",
]
templates_path = ["_templates", sphinx_autosummary_accessors.templates_path]
exclude_patterns = ["_build", "README.md", "conf.py", "tables.py", "**/.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}

# notebooks: jupytext percent scripts, executed at every build; an error fails the build
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = "force"
nb_execution_timeout = 1200
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_output_stderr = "remove"  # library notices on stderr are not part of the story
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = "xattrib"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path: list[str] = []
