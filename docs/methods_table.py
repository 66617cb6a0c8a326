"""Print the Markdown table of attribution methods from the registry (for attribute.md).

Run:  .venv/bin/python docs/methods_table.py
"""

from xattrib.methods import METHODS

for m in METHODS.values():
    defaults = ", ".join(f"{k}={v}" for k, v in m.defaults.items()) or "–"
    baseline = {"single": "one input", "distribution": "background", None: "none"}[m.baseline]
    flags = "yes" if m.complete else "no"
    print(f"| `{m.name}` | {m.description} | {baseline} | {flags} | {defaults} |")
