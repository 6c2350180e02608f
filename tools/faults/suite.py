"""What both the command line (tools/faults/run) and pytest (conftest.py) need to know about
the suite, without importing pytest: its scenarios, the KNOWN list, how to reproduce a run,
and how to build the binary."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The scenarios, in the order they run and docs/FAULTS.md describes them; each is the module
# test_<name with underscores>.py.
SCENARIOS = ["kill-storm", "concurrent", "disk-full", "bad-inputs", "hostile-history", "hostile-output", "hostile-files",
             "postgres"]

# Product problems recorded in docs/FAULTS.md that await a decision: a test id as pytest prints
# it (e.g. "test_disk_full.py::test_append_under_file_size_limit"), or the start of one, and
# why. Such a test runs as xfail (not strict): it is reported, counted neither passed nor
# failed, and does not fail the run.
KNOWN: dict[str, str] = {}


def reproduce_command(quick, seed, scale, only):
    return (f"tools/faults/run{' --quick' if quick else ''} --seed {seed}" + (f" --scale {scale}" if scale > 1 else "")
            + (f" --only {only}" if only else ""))


def seed_line(quick, seed, scale, only):
    return f"faults: seed {seed} ({'--quick' if quick else 'full'}; reproduce with: {reproduce_command(quick, seed, scale, only)})"


def build_shiplog():
    """`swift build --product shiplog` (debug); returns the binary's path, or None after printing
    the end of the build's output."""
    build = subprocess.run(["swift", "build", "--product", "shiplog"], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    if build.returncode != 0:
        print("\n".join(build.stdout.decode("utf-8", "replace").splitlines()[-30:]), file=sys.stderr)
        return None
    return os.path.join(ROOT, ".build", "debug", "shiplog")
