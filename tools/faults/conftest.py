"""Shiplog's fault-injection suite: the real binary, real processes, real signals, 127.0.0.1 only.

Run it with `tools/faults/run` (docs/FAULTS.md). This file holds the suite's options, the
fixtures every scenario shares (the binary, new ledgers, loopback servers, local staging
environments, a throwaway PostgreSQL cluster), the xfail marks for KNOWN problems (listed in suite.py), and the reporting:
the random seed first, notes and timings in the summary, and last exactly one line
`N passed, N failed` (xfail and skipped checks count as neither).
"""

import os
import random
import shutil
import signal
import tempfile
import time

import pytest

from pgcluster import PostgresCluster, Unavailable
from processes import Shiplog, TestServer
from staging import Environment
from suite import KNOWN, SCENARIOS, build_shiplog, seed_line

_faults = None  # this run's Faults, for the hooks that are not given the config


def scenario_of(module):
    return module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")


# --------------------------------------------------------------------------------------------
# Options


def pytest_addoption(parser):
    group = parser.getgroup("faults", "Shiplog's fault-injection suite")
    group.addoption("--quick", action="store_true", help="the small CI configuration")
    group.addoption("--seed", type=int, help="seed for inputs, mutations and kill times (default: random, printed)")
    group.addoption("--binary", help="the shiplog binary (default: swift build --product shiplog, .build/debug/shiplog)")
    group.addoption("--only", help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    group.addoption("--scale", type=int, default=1, help="multiply every count (deployments, writers, inputs) by N")
    group.addoption("--keep", action="store_true", help="keep the temporary directories")
    group.addoption("--faults-verbose", action="store_true", help="note every bad input's exit code and error line")


class Faults:
    """One run of the suite: its configuration, temporary directory, notes and results."""

    def __init__(self, config):
        o = config.option
        self.quick, self.seed, self.scale, self.keep, self.verbose = o.quick, o.seed, o.scale, o.keep, o.faults_verbose
        self.timeout = 30 if self.quick else 90
        self.base = tempfile.mkdtemp(prefix="shiplog-faults-")
        self.tag = f"faults{os.getpid()}-{self.seed}"
        self.sh = None  # set once the binary is known (the `shiplog` fixture)
        self.notes = []  # (scenario, text), printed in the summary
        self.kept = None  # where inputs that exposed a problem are copied
        self.outcomes = {}  # test id -> "passed", "failed", "known" or "skipped"
        self.known_passed = set()  # KNOWN checks (xfail) that passed this time
        self.seconds = {}  # scenario -> seconds spent in its tests and fixtures
        self.skip_reasons = {}  # why checks were skipped -> how many
        self.started = time.monotonic()
        self.ran = False

    def size(self, quick, full):
        """How many of something to do: the quick or the full count, times --scale."""
        return (quick if self.quick else full) * self.scale

    def rng(self, name):
        """A generator of its own for each name: the same seed gives the same values, whatever else ran."""
        return random.Random(f"{self.seed}:{name}")

    def workdir(self, name):
        path = os.path.join(self.base, name)
        os.makedirs(path, exist_ok=True)
        return path

    def note(self, scenario, text):
        self.notes.append((scenario, text))

    def keep_input(self, category, item):
        """Copies an input that exposed a problem where it survives the run."""
        path, data = item
        if self.kept is None:
            self.kept = tempfile.mkdtemp(prefix="shiplog-faults-inputs-")
        name = os.path.join(self.kept, category.replace(" ", "-") + "-" + os.path.basename(os.path.dirname(path))
                            + "-" + os.path.basename(path))
        with open(name, "wb") as f:
            f.write(data)
        return name

    def count(self, outcome):
        return sum(1 for o in self.outcomes.values() if o == outcome)


def _sigterm(signum, frame):
    raise KeyboardInterrupt  # unwinds like Ctrl-C: fixtures finish (the tmpfs is unmounted), children are killed


def pytest_configure(config):
    o = config.option
    if o.scale < 1:
        raise pytest.UsageError("--scale must be 1 or more")
    if o.only:
        unknown = set(o.only.split(",")) - set(SCENARIOS)
        if unknown:
            raise pytest.UsageError(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    if o.seed is None:
        o.seed = random.SystemRandom().randrange(1, 1 << 31)
    global _faults
    config.faults = _faults = Faults(config)
    signal.signal(signal.SIGTERM, _sigterm)


def pytest_report_header(config):
    if not os.environ.get("FAULTS_SEED_PRINTED"):  # tools/faults/run printed it before anything else
        o = config.option
        return seed_line(o.quick, o.seed, o.scale, o.only)


def pytest_collection_modifyitems(session, config, items):
    only = set(config.option.only.split(",")) if config.option.only else None
    chosen, dropped = [], []
    for item in items:
        (chosen if only is None or scenario_of(item.module) in only else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    chosen.sort(key=lambda item: SCENARIOS.index(scenario_of(item.module)) if scenario_of(item.module) in SCENARIOS else 99)
    for item in chosen:
        local_id = item.nodeid.rsplit("/", 1)[-1]
        for known, why in KNOWN.items():
            if local_id.startswith(known):
                item.add_marker(pytest.mark.xfail(reason=f"KNOWN (docs/FAULTS.md): {why}", strict=False))
    items[:] = chosen


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def faults(request):
    """The run's configuration (quick, seed, scale, sizes, generators), temporary directory and
    notes, with `sh` set to the binary's runner."""
    f = request.config.faults
    if f.sh is None:
        binary = request.config.option.binary
        if not binary:
            binary = build_shiplog()
            if not binary:
                pytest.exit("faults: the build failed", returncode=2)
        binary = os.path.abspath(binary)
        if not os.access(binary, os.X_OK):
            pytest.exit(f"faults: {binary} is not an executable", returncode=2)
        f.sh = Shiplog(binary, f.timeout)
    return f


@pytest.fixture(scope="session")
def shiplog(faults):
    """The binary under test: `shiplog.run(args, env=, cwd=, timeout=, limit_kb=)` and `spawn`."""
    return faults.sh


@pytest.fixture(scope="module")
def scenario(request):
    return scenario_of(request.module)


@pytest.fixture(scope="module")
def workdir(faults, scenario):
    """The scenario's own directory under the run's temporary directory."""
    return faults.workdir(scenario)


@pytest.fixture(scope="module")
def new_ledger(shiplog, workdir):
    """Makes an initialized ledger: new_ledger("name") is name/ledger.db in the scenario's directory."""

    def make(name):
        db = os.path.join(workdir, name, "ledger.db")
        res = shiplog.run(["init", "--db", db])
        if res.code != 0:
            raise RuntimeError(f"shiplog init --db {db}: {res.describe()}")
        return db

    return make


@pytest.fixture(scope="module")
def testserver():
    """Starts tools/testserver.py on 127.0.0.1: testserver(directory, state_file); all are stopped
    when the scenario ends."""
    servers = []

    def start(directory, state_file):
        server = TestServer(directory, state_file)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def staging(testserver):
    """Makes a local staging environment (staging.Environment) with its own health server:
    staging(parent_directory, name, db)."""

    def make(parent, name, db):
        return Environment(os.path.join(parent, name), name, db, testserver)

    return make


@pytest.fixture(scope="session")
def postgres(faults):
    """A throwaway PostgreSQL cluster for the whole run (pgcluster.PostgresCluster): `initdb` and
    `pg_ctl` as the postgres user when running as root, a Unix socket in its temporary directory,
    a free port, no TCP listener. `create_database(name)` returns a new database's URL; `crash()`,
    `restart()` and `terminate_backends(name)` are the faults. Stopped (`pg_ctl stop -m fast`)
    when the run ends, whatever happened; its server log is kept in the `postgres` directory of
    the run. Without the server programs, and when `apt-get install postgresql` cannot provide
    them, every check that needs it is skipped with the reason."""
    try:
        cluster = PostgresCluster.start()
    except Unavailable as e:
        pytest.skip(f"no PostgreSQL: {e}")
    try:
        yield cluster
    finally:
        try:
            shutil.copy(cluster.log, os.path.join(faults.workdir("postgres"), "server.log"))
        except OSError:
            pass
        cluster.stop()


# --------------------------------------------------------------------------------------------
# Reporting


def _scenario_of_nodeid(nodeid):
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return name.removesuffix(".py").removeprefix("test_").replace("_", "-")


def pytest_collectreport(report):
    if report.failed and _faults is not None:
        _faults.outcomes[report.nodeid or "collection"] = "failed"


def pytest_runtest_logreport(report):
    f = _faults
    if f is None:
        return
    scenario = _scenario_of_nodeid(report.nodeid)
    f.seconds[scenario] = f.seconds.get(scenario, 0.0) + report.duration
    before = f.outcomes.get(report.nodeid)
    if hasattr(report, "wasxfail"):
        now = "known"
        if report.passed and report.when == "call":
            f.known_passed.add(report.nodeid)
    elif report.failed:
        now = "failed"
    elif report.skipped:
        now = "skipped"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        f.skip_reasons[reason.removeprefix("Skipped: ")] = f.skip_reasons.get(reason.removeprefix("Skipped: "), 0) + 1
    elif report.when == "call":
        now = "passed"
    else:
        return
    rank = {None: 0, "skipped": 1, "passed": 2, "failed": 3, "known": 4}
    if rank[now] > rank[before]:
        f.outcomes[report.nodeid] = now


def pytest_collection_finish(session):
    session.config.faults.ran = not session.config.option.collectonly


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    f = config.faults
    if not f.ran:
        return
    tr = terminalreporter
    tr.section("faults")
    for name in SCENARIOS:
        if name not in f.seconds:
            continue
        tr.write_line(f"== {name}: {f.seconds[name]:.1f} s")
        for scenario, text in f.notes:
            if scenario == name:
                tr.write_line(f"   {text}")
    failed = f.count("failed")
    if f.keep or failed:
        tr.write_line(f"faults: temporary files kept in {f.base}")
    if f.kept:
        tr.write_line(f"faults: inputs that exposed problems kept in {f.kept}")
    if f.count("known"):
        passed = f" ({len(f.known_passed)} of them passed this time)" if f.known_passed else ""
        tr.write_line(f"faults: {f.count('known')} known failure(s), not counted (docs/FAULTS.md){passed}")
    for reason, count in f.skip_reasons.items():
        tr.write_line(f"faults: {count} check(s) skipped: {reason}")
    tr.write_line(f"faults: {time.monotonic() - f.started:.1f} s, seed {f.seed}")


def pytest_unconfigure(config):
    f = getattr(config, "faults", None)
    if f is None:
        return
    if not (f.keep or f.count("failed")):
        shutil.rmtree(f.base, ignore_errors=True)
    if f.ran:
        # The suite's last line, whatever pytest printed before it: checks passed and failed
        # (xfail and skipped checks are neither).
        print(f"{f.count('passed')} passed, {f.count('failed')} failed", flush=True)
