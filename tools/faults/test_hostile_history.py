"""Scenario 5, hostile-history: each promise tried by someone who can hand Shiplog a file or
edit the ledger's tables — crafted imports with a valid chain, projection rows edited behind
Shiplog's back — and a running deployment that `record` and `unlock` try to take from its
runner. docs/FAULTS.md says what each check protects."""

import json
import os
import shutil
import signal
import sqlite3
import time

import pytest

from hashchain import fake_uuid, make_chain
from processes import lingering, untrack
from staging import events_of

SCENARIO = "hostile-history"


@pytest.fixture(scope="module")
def plain():
    """The environment of every command here: no SHIPLOG_ variable of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLOG_")}
    env.update(USER="faults", GITHUB_OUTPUT="")
    return env


@pytest.fixture(scope="module")
def source(shiplog, workdir, plain):
    """A small recorded ledger: a stable deployment with a kept log, then a failed one."""
    db = shiplog.init(os.path.join(workdir, "source", "ledger.db"), env=plain)

    def ok(args):
        res = shiplog.run(args + ["--db", db], env=plain)
        if res.code != 0:
            raise RuntimeError(f"shiplog {' '.join(map(str, args))}: {res.describe()}")
        return res.stdout.strip()

    log = os.path.join(workdir, "deploy.log")
    with open(log, "w") as f:
        f.write("deployed\n")
    stable = ok(["record", "begin", "--env", "staging", "--sha", "aaaaaaa1111111", "--services", "api-gateway"])
    ok(["record", "phase", stable, "deploy", "--status", "succeeded", "--log", log])
    ok(["record", "finish", stable, "--status", "succeeded"])
    failed = ok(["record", "begin", "--env", "staging", "--sha", "bbbbbbb2222222", "--services", "api-gateway"])
    ok(["record", "phase", failed, "deploy", "--status", "succeeded"])
    ok(["record", "health", failed, "api_gateway", "--status", "unhealthy", "--attempts", "5", "--reason", "HTTP 503"])
    ok(["record", "finish", failed, "--status", "failed", "--reason", "health checks failed"])
    return {"db": db, "stable": stable, "failed": failed, "events": events_of(shiplog, db)}


# --------------------------------------------------------------------------------------------
# Crafted imports: every one has a valid chain, and every one must be refused naming its line.


def add(rows, stream, type_, data, time=None):
    """Appends a row to `rows` at the stream's next version; returns its line number."""
    version = max([r["version"] for r in rows if r["stream"] == stream], default=0) + 1
    rows.append({"stream": stream, "version": version, "type": type_, "schema": 2 if type_ == "DeploymentRequested" else 1,
                 "data": data, "recorded_at": time or rows[-1]["recorded_at"], "event_id": fake_uuid(900 + len(rows))})
    return len(rows)


def second_ending(rows, stable, failed):
    return add(rows, f"deployment-{failed}", "DeploymentSucceeded", "{}"), "finished as failed"


def success_after_unhealthy_verdict(rows, stable, failed):
    i = next(n for n, r in enumerate(rows) if r["type"] == "DeploymentFailed")
    rows[i] = dict(rows[i], type="DeploymentSucceeded", data="{}")
    return i + 1, "succeeds after a failure"


def success_after_mark_bad(rows, stable, failed):
    add(rows, f"deployment-{stable}", "DeploymentMarkedBad", '{"reason":"regression","by":"oncall"}')
    return add(rows, f"deployment-{stable}", "DeploymentSucceeded", "{}"), "finished as success"


def lock_for_a_deployment_that_does_not_exist(rows, stable, failed):
    return add(rows, "environment-qa", "EnvironmentLocked", '{"deployment_id":"1700000000-ccccccc33333"}'), "does not exist"


def stream_whose_id_differs_from_its_request(rows, stable, failed):
    for n, r in enumerate(rows):
        if r["stream"] == f"deployment-{stable}":
            rows[n] = dict(r, stream="deployment-1700000000-aaaaaaa11111")
    return 1, "holds the request of another deployment"


def time_running_backwards_within_a_stream(rows, stable, failed):
    j = next(n for n, r in enumerate(rows) if r["stream"] == f"deployment-{stable}" and r["version"] == 2)
    rows[j] = dict(rows[j], recorded_at="2001-01-01T00:00:00.000Z")
    return j + 1, "time never runs backwards"


def time_in_the_future(rows, stable, failed):
    return add(rows, f"deployment-{stable}", "DeploymentMarkedBad", '{"reason":"x","by":"y"}',
               time="2099-01-01T00:00:00.000Z"), "lies in the future"


def look_alike_environment_name(rows, stable, failed):
    k = next(n for n, r in enumerate(rows) if r["type"] == "DeploymentRequested")
    rows[k] = dict(rows[k], data=rows[k]["data"].replace('"environment":"staging"', '"environment":"st\u0430ging"'))
    return k + 1, "is not valid"


def artifact_digest_that_is_a_path(rows, stable, failed):
    return add(rows, f"deployment-{stable}", "ArtifactStored",
               '{"name":"x.log","phase":"deploy","sha256":"../../../etc/passwd","size":1,"retention_days":1}'), "SHA-256 digest"


def rollback_target_that_failed(rows, stable, failed):
    request = ('{"deployment_id":"1800000000-ddddddd44444","environment":"staging","git_sha":"ddddddd4444444","git_ref":"main",'
               '"services":["api-gateway"],"triggered_by":"x","mode":"record","phases":[],"checks":[],'
               f'"previous_stable_id":"{failed}","previous_stable_sha":"bbbbbbb2222222"}}')
    return add(rows, "deployment-1800000000-ddddddd44444", "DeploymentRequested", request), "a rollback never lands on it"


GATED = "1800000000-fffffff66666"


def gated_deployment(rows):
    """Appends a run-mode deployment of qa waiting at an approval gate: 2 of alice and bob, before deploy."""
    add(rows, f"deployment-{GATED}", "DeploymentRequested",
        f'{{"deployment_id":"{GATED}","environment":"qa","git_sha":"fffffff6666666","git_ref":"main","services":["api-gateway"],'
        '"triggered_by":"ci","mode":"run","phases":["deploy"],"checks":[]}')
    add(rows, "environment-qa", "EnvironmentLocked", f'{{"deployment_id":"{GATED}"}}')
    add(rows, f"deployment-{GATED}", "ApprovalRequested", '{"before":"deploy","required":2,"approvers":["alice","bob"],"timeout_seconds":3600}')


def second_approval_by_the_same_name(rows, stable, failed):
    gated_deployment(rows)
    add(rows, f"deployment-{GATED}", "ApprovalGranted", '{"by":"alice"}')
    return add(rows, f"deployment-{GATED}", "ApprovalGranted", '{"by":"alice"}'), "a second time"


def approval_by_a_name_outside_the_approvers(rows, stable, failed):
    gated_deployment(rows)
    return add(rows, f"deployment-{GATED}", "ApprovalGranted", '{"by":"mallory"}'), "not among the approvers"


def deploy_before_the_gate_opened(rows, stable, failed):
    gated_deployment(rows)
    add(rows, f"deployment-{GATED}", "ApprovalGranted", '{"by":"alice"}')
    return add(rows, f"deployment-{GATED}", "DeployStarted", '{"phase":"deploy","attempt":1}'), "comes before the approval"


CRAFTED = [second_ending, success_after_unhealthy_verdict, success_after_mark_bad, lock_for_a_deployment_that_does_not_exist,
           stream_whose_id_differs_from_its_request, time_running_backwards_within_a_stream, time_in_the_future,
           look_alike_environment_name, artifact_digest_that_is_a_path, rollback_target_that_failed,
           second_approval_by_the_same_name, approval_by_a_name_outside_the_approvers, deploy_before_the_gate_opened]


@pytest.mark.parametrize("craft", CRAFTED, ids=[c.__name__.replace("_", "-") for c in CRAFTED])
def test_crafted_import_with_a_valid_chain_is_refused(craft, source, shiplog, workdir, plain):
    """Exit 65, naming the line and the rule, and nothing imported."""
    rows = [dict(e) for e in source["events"]]
    line, words = craft(rows, source["stable"], source["failed"])
    path = os.path.join(workdir, f"crafted-{craft.__name__}.ndjson")
    with open(path, "w") as f:
        f.write("\n".join(make_chain(rows)) + "\n")
    target = shiplog.init(os.path.join(workdir, "imports", craft.__name__, "ledger.db"), env=plain)
    res = shiplog.run(["import", path, "--db", target], env=plain)
    left = shiplog.run(["events", "list", "--db", target, "--json"], env=plain)
    assert res.code == 65, f"exit {res.code}, expected 65 ({res.first_error_line()[:160]})"
    assert f"line {line}:" in res.stderr, f"the error does not name line {line}: {res.first_error_line()[:160]}"
    assert words in res.stderr, f"the error does not say {words!r}: {res.first_error_line()[:160]}"
    assert not left.stdout.strip(), "events were imported anyway"


def test_a_valid_approval_history_imports(source, shiplog, workdir, plain):
    """The gate's rules refuse what is forged, never what is valid: two distinct approvals, then the deploy."""
    rows = [dict(e) for e in source["events"]]
    gated_deployment(rows)
    for name in ("alice", "bob"):
        add(rows, f"deployment-{GATED}", "ApprovalGranted", f'{{"by":"{name}"}}')
    add(rows, f"deployment-{GATED}", "DeployStarted", '{"phase":"deploy","attempt":1}')
    path = os.path.join(workdir, "approved.ndjson")
    with open(path, "w") as f:
        f.write("\n".join(make_chain(rows)) + "\n")
    target = shiplog.init(os.path.join(workdir, "imports", "approved", "ledger.db"), env=plain)
    res = shiplog.run(["import", path, "--db", target], env=plain)
    assert res.code == 0, res.describe()


# --------------------------------------------------------------------------------------------
# Projection rows edited behind Shiplog's back: decisions ignore them, verify names them.


def copy_of_source(source, workdir, name):
    directory = os.path.join(workdir, name)
    shutil.copytree(os.path.dirname(source["db"]), directory, ignore=shutil.ignore_patterns("locks"))
    return os.path.join(directory, "ledger.db")


def edit(db, *statements):
    connection = sqlite3.connect(db)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def edited_status(source, workdir):
    """A copy whose failed deployment's row says success."""
    db = copy_of_source(source, workdir, "edited-status")
    edit(db, f"UPDATE deployments SET status = 'success', failure_reason = NULL WHERE deployment_id = '{source['failed']}'")
    return db


def test_verify_names_a_row_edited_to_success_and_asks_for_rebuild(edited_status, source, shiplog, plain):
    verify = shiplog.run(["verify", "--db", edited_status], env=plain)
    assert verify.code == 3 and source["failed"] in verify.stderr and "shiplog rebuild" in verify.stderr, verify.describe()


def test_last_stable_ignores_the_edited_row(edited_status, source, shiplog, plain):
    last = shiplog.run(["last-stable", "--env", "staging", "--db", edited_status], env=plain)
    assert last.code == 0 and source["stable"] in last.stdout and source["failed"] not in last.stdout, \
        f"{last.describe()} {last.stdout.strip()[:120]}"


def test_rollback_target_comes_from_the_events_not_the_edited_row(edited_status, source, shiplog, plain):
    begun = shiplog.run(["record", "begin", "--env", "staging", "--sha", "ccccccc3333333", "--json", "--db", edited_status], env=plain)
    target = json.loads(begun.stdout).get("rollback_target") if begun.code == 0 else None
    assert target == source["stable"], f"rollback target {target!r}, expected {source['stable']}; {begun.describe()}"


def test_rebuild_rewrites_the_edited_tables_from_the_events(edited_status, shiplog, plain):
    rebuilt = shiplog.run(["rebuild", "--db", edited_status], env=plain)
    again = shiplog.run(["verify", "--db", edited_status], env=plain)
    assert rebuilt.code == 0 and again.code == 0, f"rebuild: {rebuilt.describe()}; verify: {again.describe()}"


def test_prune_keeps_live_logs_and_never_leaves_the_store_whatever_the_table_says(source, workdir, shiplog, plain):
    """Every artifact row set to expire in 2000, plus a forged row whose digest is ../ledger.db."""
    db = copy_of_source(source, workdir, "edited-retention")
    artifacts_dir = os.path.join(os.path.dirname(db), "artifacts")
    blobs = sorted(os.listdir(artifacts_dir))
    edit(db, "UPDATE artifacts SET expires_at = '2000-01-01T00:00:00.000Z'",
         "INSERT INTO artifacts (name, deployment_id, environment, phase, sha256, size, retention_days, stored_at, expires_at, "
         f"stored_position) VALUES ('forged', '{source['stable']}', 'staging', 'deploy', '../ledger.db', 1, 1, "
         "'2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z', 1)")
    pruned = shiplog.run(["artifacts", "prune", "--db", db], env=plain)
    assert pruned.code == 0 and sorted(os.listdir(artifacts_dir)) == blobs and os.path.exists(db), \
        f"{pruned.describe()}; files {sorted(os.listdir(artifacts_dir))} (were {blobs})"


def test_environments_row_edited_to_held_does_not_block_a_free_environment(source, workdir, shiplog, plain):
    db = copy_of_source(source, workdir, "edited-lock")
    edit(db, "UPDATE environments SET active_deployment_id = 'x' WHERE name = 'staging'")
    begun = shiplog.run(["record", "begin", "--env", "staging", "--sha", "ddddddd4444444", "--db", db], env=plain)
    assert begun.code == 0, begun.describe()


# --------------------------------------------------------------------------------------------
# A deployment `shiplog deploy` is driving belongs to that runner.


@pytest.fixture(scope="module")
def live_runner(faults, shiplog, staging, workdir):
    """`shiplog deploy` held in its stabilization wait (20 s); killed at the end if still alive."""
    env = staging(workdir, "hostile", shiplog.init(os.path.join(workdir, "run", "ledger.db")))
    tag = f"{faults.tag}-hostile"
    environ = env.env(tag, {"SHIPLOG_HEALTH_STABILIZE": "20"})
    out = os.path.join(env.dir, "out", "run")
    proc = shiplog.spawn(["deploy", "--config", env.pipelines["rerun"], "--sha", "abc123def4567890"], environ, env.dir,
                         out + ".out", out + ".err")
    deployment_id, deadline = None, time.monotonic() + faults.timeout
    while time.monotonic() < deadline and proc.poll() is None:
        status = shiplog.run(["events", "list", "--json"], env=environ)
        waiting = [json.loads(line) for line in status.stdout.splitlines() if '"StabilizationWaitStarted"' in line]
        if waiting:
            deployment_id = waiting[0]["stream"][len("deployment-"):]
            break
        time.sleep(0.1)
    try:
        if not deployment_id:
            raise RuntimeError(f"the runner did not reach its stabilization wait (deploy exited {proc.poll()})")
        yield {"proc": proc, "id": deployment_id, "env": environ, "tag": tag}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        untrack(proc)


def test_record_refuses_to_finish_a_deployment_a_live_runner_drives(live_runner, shiplog):
    recorded = shiplog.run(["record", "finish", live_runner["id"], "--status", "failed", "--reason", "x"], env=live_runner["env"])
    assert recorded.code == 5 and "shiplog deploy" in recorded.stderr, recorded.describe()


def test_unlock_refuses_while_the_runner_lives_naming_its_pid(live_runner, shiplog):
    unlocked = shiplog.run(["unlock", "--env", "hostile", "--reason", "looks stuck"], env=live_runner["env"])
    assert unlocked.code == 5 and f"pid {live_runner['proc'].pid}" in unlocked.stderr, unlocked.describe()


def test_unlock_force_still_refuses_a_live_runner_on_this_machine(live_runner, shiplog):
    forced = shiplog.run(["unlock", "--env", "hostile", "--reason", "looks stuck", "--force"], env=live_runner["env"])
    assert forced.code == 5, forced.describe()


def test_once_the_runner_is_killed_unlock_ends_the_deployment_as_abandoned(live_runner, shiplog):
    """SIGKILL to the runner: no step is left, and `unlock` ends the deployment as abandoned."""
    proc = live_runner["proc"]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = lingering(live_runner["tag"])
    freed = shiplog.run(["unlock", "--env", "hostile", "--reason", "runner killed"], env=live_runner["env"])
    history = shiplog.run(["history", "--env", "hostile", "--json"], env=live_runner["env"])
    statuses = [json.loads(line).get("status") for line in history.stdout.splitlines() if line.strip()]
    assert freed.code == 0 and statuses == ["abandoned"] and not left, f"{freed.describe()}; statuses {statuses}; left {left}"
