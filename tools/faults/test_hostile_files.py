"""Scenario 7, hostile-files: links, FIFOs and hard links planted where Shiplog writes;
directories others can write to; exports aimed at the ledger; FIFOs and devices as ledgers;
deployments and listings whose stdout is closed. docs/FAULTS.md says what each check protects."""

import os
import select
import signal
import subprocess
import time

import pytest

from processes import Result, crash_problem, track, untrack
from staging import events_of, history, random_sha, sha256_file

SCENARIO = "hostile-files"

# A small pipeline: the preflight step plants (when PLANT is set) a symbolic link, a hard link
# or a FIFO at the name a later phase's log will have; the health check fails for versions
# starting with "bad".
PIPELINE = r"""environment: staging
services: [api]
preflight:
  - { name: plant, run: 'if [ -n "$PLANT" ]; then t="$DEPLOYMENT_LOG_DIR/$PLANT_PREFIX$SHIPLOG_DEPLOYMENT_ID$PLANT_SUFFIX"; case "$PLANT" in symlink) ln -s "$VICTIM" "$t";; hardlink) ln "$VICTIM" "$t";; fifo) mkfifo "$t";; esac; fi' }
migrate: { run: 'echo migrating' }
build: { run: 'echo building' }
deploy: { run: 'echo "$SHIPLOG_VERSION" > "$STATE/current"; echo deployed' }
health:
  stabilize: 0s
  retries: 1
  interval: 0s
  checks:
    - { name: current_release, run: 'case "$(cat "$STATE/current")" in bad*) exit 1;; esac' }
rollback: { run: 'echo "$SHIPLOG_ROLLBACK_VERSION" > "$STATE/current"' }
artifacts: { dir: logs }
"""

# The log names the preflight step can plant at: (prefix, suffix) around the deployment id.
LOG_NAMES = [("migration-logs-", ""), ("build-", ".log"), ("deployment-", ".log"), ("health-check-logs-", "")]
KINDS = ["symlink", "hardlink", "fifo"]


class Site:
    """A directory with the pipeline, a state directory, a ledger path and a victim file that
    nothing may change."""

    def __init__(self, workdir, name, sh):
        self.root = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.root, "state"))
        self.config = os.path.join(self.root, "shiplog.yml")
        with open(self.config, "w") as f:
            f.write(PIPELINE)
        self.victim = os.path.join(self.root, "victim.txt")
        with open(self.victim, "w") as f:
            f.write("precious, not a log\n")
        self.env = dict(os.environ, STATE=os.path.join(self.root, "state"), VICTIM=self.victim, GITHUB_OUTPUT="",
                        GITHUB_STEP_SUMMARY="")
        self.env.pop("SHIPLOG_DB", None)
        self.db = sh.init(os.path.join(self.root, "ledger", "ledger.db"))

    def deploy_args(self, sha):
        return ["deploy", "--db", self.db, "--config", self.config, "--sha", sha]


def run_with_closed_stdout(argv, env, cwd, timeout, after_first_line):
    """Runs argv with stdout on a pipe whose read end is closed at once, or after the first line
    (`| head -1`); stderr is kept. Returns a Result."""
    started = time.monotonic()
    read_end, write_end = os.pipe()
    proc = track(subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=write_end,
                                  stderr=subprocess.PIPE, start_new_session=True))
    os.close(write_end)
    if after_first_line:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], 0.5)
            if ready:
                chunk = os.read(read_end, 4096)
                if not chunk or b"\n" in chunk:
                    break
    os.close(read_end)
    timed_out = False
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    finally:
        untrack(proc)
    return Result(argv, proc.returncode, b"", err, timed_out, time.monotonic() - started)


# --------------------------------------------------------------------------------------------
# (a) links and FIFOs planted at the names of logs the runner is about to write


def pytest_generate_tests(metafunc):
    if "plant_n" in metafunc.fixturenames:
        metafunc.parametrize("plant_n", range(metafunc.config.faults.size(3, 8)), scope="module",
                             ids=lambda n: f"plant{n}")


@pytest.fixture(scope="module")
def planted(faults, shiplog, workdir, plant_n):
    """A deploy whose preflight plants a symlink, hard link or FIFO at a later log's name (the
    first three runs try each kind once), then `resume` once the planted file is removed."""
    rng = faults.rng(f"{SCENARIO}:plant{plant_n}")
    kind = KINDS[plant_n % 3] if plant_n < 3 else rng.choice(KINDS)
    prefix, suffix = rng.choice(LOG_NAMES)
    site = Site(workdir, f"plant-{plant_n}", faults.sh)
    before = sha256_file(site.victim)
    first = shiplog.run(site.deploy_args(random_sha(rng)), env=dict(site.env, PLANT=kind, PLANT_PREFIX=prefix, PLANT_SUFFIX=suffix),
                        cwd=site.root)
    s = {"what": f"a {kind} planted at {prefix}ID{suffix}", "prefix": prefix, "first": first,
         "victim_unchanged": sha256_file(site.victim) == before, "resume": None}
    records = history(shiplog, site.db)
    if records:
        planted_path = os.path.join(site.root, "logs", prefix + records[0]["deployment_id"] + suffix)
        if os.path.lexists(planted_path):
            os.unlink(planted_path)
        s["resume"] = shiplog.run(["resume", records[0]["deployment_id"], "--db", site.db, "--config", site.config],
                                  env=site.env, cwd=site.root)
        s["verify"] = shiplog.run(["verify", "--db", site.db])
        s["victim_unchanged_at_end"] = sha256_file(site.victim) == before
    return s


def test_planted_log_file_refused_with_73_naming_the_log(planted):
    """Never written through the link, never blocked on the FIFO."""
    res = planted["first"]
    problem = crash_problem(res)
    assert problem is None and res.code == 73 and "refusing to write log file" in res.stderr and planted["prefix"] in res.stderr, \
        f"{planted['what']}: {problem or res.describe()}"


def test_planted_log_file_victim_unchanged(planted):
    assert planted["victim_unchanged"], f"{planted['what']}: the runner wrote through the planted file"


def test_planted_log_file_removed_resume_finishes(planted):
    """Once the planted file is removed, `resume` finishes the deployment; the ledger verifies."""
    again = planted["resume"]
    assert again is not None, f"{planted['what']}: nothing was recorded"
    assert again.code == 0 and planted["verify"].code == 0 and planted["victim_unchanged_at_end"], \
        f"{planted['what']}: resume: {again.describe()}; verify {planted['verify'].code}"


# --------------------------------------------------------------------------------------------
# (b)–(c) the artifact store and the log directory


def test_symlink_at_an_artifact_digest_is_replaced_never_trusted(faults, shiplog, workdir):
    rng = faults.rng(SCENARIO + ":artifact-digest")
    site = Site(workdir, "artifact-digest", faults.sh)
    deployment_id = shiplog.run(["record", "begin", "--db", site.db, "--env", "staging", "--sha", random_sha(rng),
                                 "--services", "api"], env=site.env).stdout.strip()
    log = os.path.join(site.root, "migrate.log")
    with open(log, "w") as f:
        f.write("".join(rng.choice("abcdef \n") for _ in range(5000)))
    digest = sha256_file(log)
    store = os.path.join(site.root, "ledger", "artifacts")
    os.makedirs(store, mode=0o700, exist_ok=True)
    os.symlink(site.victim, os.path.join(store, digest))
    before = sha256_file(site.victim)
    res = shiplog.run(["record", "phase", deployment_id, "migrate", "--db", site.db, "--status", "succeeded", "--log", log],
                      env=site.env)
    stored = os.path.join(store, digest)
    assert (res.code == 0 and not os.path.islink(stored) and os.path.isfile(stored) and sha256_file(stored) == digest
            and sha256_file(site.victim) == before), f"{res.describe()}; link kept: {os.path.islink(stored)}"


def test_world_writable_log_directory_refused_before_anything_is_recorded(faults, shiplog, workdir):
    site = Site(workdir, "shared-logs", faults.sh)
    shared = os.path.join(site.root, "shared")
    os.makedirs(shared)
    os.chmod(shared, 0o777)
    res = shiplog.run(site.deploy_args(random_sha(faults.rng(SCENARIO + ":shared"))), env=dict(site.env, DEPLOYMENT_LOG_DIR=shared),
                      cwd=site.root)
    assert res.code == 73 and "writable by" in res.stderr and not history(shiplog, site.db), res.describe()


# --------------------------------------------------------------------------------------------
# (d) export aimed at the ledger, by another name


@pytest.fixture(scope="module")
def exported(faults, shiplog, workdir):
    """A deployed ledger, a symbolic and a hard link to it, and its events before any export."""
    site = Site(workdir, "export", faults.sh)
    first = shiplog.run(site.deploy_args(random_sha(faults.rng(SCENARIO + ":export"))), env=site.env, cwd=site.root)
    if first.code != 0:
        raise RuntimeError(f"the deploy the exports start from: {first.describe()}")
    os.symlink(site.db, os.path.join(site.root, "ledger-link.db"))
    os.link(site.db, os.path.join(site.root, "ledger-hard.db"))
    return {"site": site, "before": events_of(shiplog, site.db)}


EXPORT_TARGETS = {"the ledger's own path": "ledger/ledger.db", "a symbolic link to it": "ledger-link.db",
                  "a hard link to it": "ledger-hard.db", "its -wal": "ledger/ledger.db-wal"}


@pytest.mark.parametrize("target", list(EXPORT_TARGETS), ids=["own-path", "symlink", "hardlink", "wal"])
def test_export_output_aimed_at_the_ledger_refused_64(exported, target, shiplog):
    site = exported["site"]
    res = shiplog.run(["export", "--events", "--db", site.db, "--output", os.path.join(site.root, EXPORT_TARGETS[target])])
    assert res.code == 64 and "refusing to export" in res.stderr, f"export --output {target}: {res.describe()}"


def test_after_the_refused_exports_the_ledger_verifies_unchanged(exported, shiplog):
    db = exported["site"].db
    verify = shiplog.run(["verify", "--db", db])
    assert verify.code == 0 and events_of(shiplog, db) == exported["before"], f"verify {verify.code}"


# --------------------------------------------------------------------------------------------
# (e) a FIFO, a device and a directory as --db


@pytest.fixture(scope="module")
def not_ledgers(workdir):
    fifo = os.path.join(workdir, "ledger.fifo")
    os.mkfifo(fifo)
    return {"a FIFO": fifo, "/dev/null": "/dev/null", "a directory": workdir,
            "journal_before": os.path.lexists("/dev/null-journal")}


@pytest.mark.parametrize("what", ["a FIFO", "/dev/null", "a directory"], ids=["fifo", "dev-null", "directory"])
@pytest.mark.parametrize("command", ["history", "record"])
def test_db_that_is_not_a_ledger_file_ends_at_once_with_74(not_ledgers, what, command, faults, shiplog):
    path = not_ledgers[what]
    args = ["history"] if command == "history" else \
        ["record", "begin", "--env", "staging", "--sha", random_sha(faults.rng(f"{SCENARIO}:{what}"))]
    res = shiplog.run(args + ["--db", path], timeout=min(faults.timeout, 20))
    problem = crash_problem(res)
    assert problem is None and res.code == 74 and path in res.stderr, f"--db {what}: `{command}`: {problem or res.describe()}"


def test_nothing_created_beside_dev_null(not_ledgers):
    assert not_ledgers["journal_before"] or not os.path.lexists("/dev/null-journal"), "/dev/null-journal appeared"


# --------------------------------------------------------------------------------------------
# (f) closed pipes: a deployment keeps going and exits with its outcome; a listing ends quietly


@pytest.fixture(scope="module")
def pipes(faults, workdir):
    return {"site": Site(workdir, "pipes", faults.sh), "rng": faults.rng(SCENARIO + ":pipes")}


@pytest.mark.parametrize("case", ["good", "good-head-1", "rolled-back"])
def test_deploy_with_stdout_closed_runs_to_the_end(pipes, case, faults, shiplog):
    """A good version succeeds with exit 0 (stdout closed at once, or after the first line as
    `| head -1`); a bad one is rolled back with exit 1; each is recorded so."""
    site, rng = pipes["site"], pipes["rng"]
    sha = random_sha(rng, "bad" if case == "rolled-back" else "")
    expected = 1 if case == "rolled-back" else 0
    after_first = case == "good-head-1" or (case == "rolled-back" and rng.random() < 0.5)
    res = run_with_closed_stdout(shiplog.argv(site.deploy_args(sha)), site.env, site.root, faults.timeout, after_first)
    records = history(shiplog, site.db)
    status = records[0]["status"] if records else None
    assert res.code == expected and status == ("success" if expected == 0 else "rolled_back"), \
        f"{res.describe()}; recorded {status}"


@pytest.mark.parametrize("listing", ["history", "events list", "export --events"])
def test_listing_with_stdout_closed_ends_quietly_with_0(pipes, listing, faults, shiplog):
    site = pipes["site"]
    res = run_with_closed_stdout(shiplog.argv(listing.split() + ["--db", site.db]), site.env, site.root, faults.timeout,
                                 pipes["rng"].random() < 0.5)
    assert res.code == 0 and "shiplog:" not in res.stderr, res.describe()
