"""Which events record each pipeline step, read from the event catalog (docs/EVENTS.md).

The catalog's table for `deployment-<id>` streams lists each step's three events on one row,
`XStarted` / `XSucceeded` / `XFailed`, whose last cell begins with the phase's name; the row
of terminal events ends with "exactly one terminal event". The suite reads that table rather
than keeping a copy of it; `test_kill_storm.py` checks the phases it finds against the ones
the built binary's `shiplog record phase` accepts.
"""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOG = os.path.join(ROOT, "docs", "EVENTS.md")


def _deployment_rows(path):
    """(event types, last cell) of each row of the table under the `deployment-<id>` heading."""
    rows, inside = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                inside = "deployment-<id>" in line
            elif inside and line.startswith("| `"):
                cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
                rows.append((re.findall(r"`([A-Za-z]+)`", cells[0]), cells[-1]))
    return rows


def _read(path):
    steps, terminal = {}, ()
    for types, when in _deployment_rows(path):
        if "terminal event" in when:
            terminal = tuple(types)
        elif len(types) == 3 and re.match(r"[a-z]+\b", when):
            steps[re.match(r"[a-z]+", when).group(0)] = tuple(types)
    if not steps or not terminal:
        raise RuntimeError(f"{path}: no step events or no terminal events found in the deployment-<id> table")
    return steps, terminal


# phase -> (started, succeeded, failed), in the catalog's (and the pipeline's) order.
PHASE_EVENTS, TERMINAL_EVENTS = _read(CATALOG)
