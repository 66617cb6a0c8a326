"""Write the plug-in families' tables into the docs pages, from their registries.

Run:  .venv/bin/python docs/tables.py          (rewrite the tables)
      .venv/bin/python docs/tables.py --check  (exit 1 if a page is out of date)

Each page holds its family's table between ``<!-- FAMILY-table-start -->`` and
``<!-- FAMILY-table-end -->``; ``xattrib list FAMILY`` prints the same table.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from xattrib.cli import FAMILIES

HERE = Path(__file__).resolve().parent
#: family → the page that shows its table
PAGES = {"methods": "attribute.md", "transforms": "trim.md", "responses": "benchmark.md",
         "truth-metrics": "score.md", "architectures": "fit.md", "kernels": "benchmark.md",
         "gtfree-metrics": "audit.md", "samplers": "your-data.md"}


def render(family: str) -> str:
    return FAMILIES[family]().table()


def updated(text: str, family: str) -> str:
    start, end = f"<!-- {family}-table-start -->", f"<!-- {family}-table-end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"no {start} … {end} block")
    return pattern.sub(lambda _: f"{start}\n{render(family)}\n{end}", text)


def stale(write: bool) -> list[str]:
    out = []
    for family, page in PAGES.items():
        path = HERE / page
        old = path.read_text(encoding="utf-8")
        new = updated(old, family)
        if new != old:
            out.append(page)
            if write:
                path.write_text(new, encoding="utf-8")
    return out


if __name__ == "__main__":
    check = "--check" in sys.argv
    pages = stale(write=not check)
    print(("out of date: " if check else "rewrote: ") + (", ".join(pages) or "nothing"))
    sys.exit(1 if check and pages else 0)
