"""Scenario 8, postgres: the shared ledger on a real PostgreSQL server (a throwaway cluster, the
`postgres` fixture) crashed under appends and under a deployment, its sessions killed by an
administrator, and eight runners from eight directories racing for four environments.
docs/FAULTS.md says what each check protects."""

import os
import time
import uuid
from collections import Counter

import pytest

from hashchain import chain_problems
from processes import Result, crash_problem, lingering, open_gate, tail, wait_or_kill
from staging import deployment_timeline, events_of, history, random_sha, step_run_problems

SCENARIO = "postgres"

# What a lost connection must say (EventStoreError, `.connectionLost`).
LOST = "connection to the server was lost"


def shape(faults):
    """(append-loop crashes, deployment crashes, killed sessions, events per runner's append-loop)."""
    return faults.size(2, 5), faults.size(2, 4), faults.size(2, 4), faults.size(40, 200)


@pytest.fixture(scope="module")
def plain():
    """The environment of every command here: no SHIPLOG_ variable of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLOG_")}
    env.update(USER="faults", GITHUB_OUTPUT="", GITHUB_STEP_SUMMARY="")
    return env


@pytest.fixture(scope="module")
def pg_ledger(postgres, shiplog, plain):
    """Makes a new database and initializes it: pg_ledger("name") -> its URL."""

    def make(name):
        url = postgres.create_database(name)
        res = shiplog.run(["init", "--db", url], env=plain)
        if res.code != 0:
            raise RuntimeError(f"shiplog init --db {url}: {res.describe()}")
        return url

    return make


def printed(path):
    """The `POSITION EVENT_ID` lines an append-loop printed."""
    with open(path) as f:
        return [(int(p), i) for p, i in (line.split() for line in f if line.strip())]


def wait_for_acknowledgements(proc, out_path, timeout):
    """Waits until the append-loop has printed a line (it is connected and appending)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(out_path) and os.path.getsize(out_path) > 0:
            return True
        time.sleep(0.01)
    return False


def lost_connection_problem(code, err, codes=(74, 75)):
    """Why an error is not the clear lost-connection error the store promises, or None."""
    first = next((line for line in err.splitlines() if line.strip()), "")
    crash = crash_problem(Result([], code, b"", err.encode(), code is None, 0.0))
    if crash:
        return crash
    if code not in codes:
        return f"exit {code}, expected {' or '.join(map(str, codes))}: {first[:200]!r}"
    if not first.startswith("shiplog: ") or LOST not in first:
        return f"exit {code}, but the error does not say the connection was lost: {first[:200]!r}"
    return None


def tally(values):
    """`74 (×3), 75 (×1)`: each value, and how many times it occurs."""
    counts = Counter(values)
    return ", ".join(f"{v} (×{n})" for v, n in sorted(counts.items(), key=lambda kv: str(kv[0])))


def in_flight(r):
    """How many events of stream load a round's ledger holds beyond the acknowledged ones."""
    return sum(1 for e in r["events"] if e["stream"] == "load") - len(r["acked"])


def acknowledged_problems(acked, events, stream):
    """Every acknowledged line is in the ledger at that position, with that id, on `stream`."""
    by_position = {e["position"]: e for e in events}
    problems = []
    for position, event_id in acked:
        e = by_position.get(position)
        if not e or e["event_id"] != event_id or e["stream"] != stream:
            problems.append(f"acknowledged {position} {event_id} is not in the ledger on {stream}")
    return problems


# --------------------------------------------------------------------------------------------
# 1. The server stopped (pg_ctl stop -m immediate) in the middle of appends


@pytest.fixture(scope="module")
def crashed_appends(faults, postgres, pg_ledger, shiplog, workdir, plain):
    """Rounds of: a new ledger, one `debug append-loop --mode shared`, the server crashed
    0–1 s after its first acknowledgement, the server restarted."""
    rng = faults.rng(SCENARIO + ":crash-appends")
    rounds = []
    for n in range(shape(faults)[0]):
        url = pg_ledger(f"crash_appends_{n}")
        out, err = os.path.join(workdir, f"crash-appends-{n}.out"), os.path.join(workdir, f"crash-appends-{n}.err")
        proc = shiplog.spawn(["debug", "append-loop", "--db", url, "--stream", "load", "--count", 1_000_000, "--mode", "shared"],
                             plain, workdir, out, err)
        started = wait_for_acknowledgements(proc, out, faults.timeout)
        code, delay = crash_under(postgres, proc, rng.uniform(0.0, 1.0), faults.timeout)
        rounds.append({"n": n, "url": url, "code": code, "err": tail(err, 2000), "started": started, "delay": delay,
                       "acked": printed(out), "events": events_of(shiplog, url)})
    faults.note(SCENARIO, f"server crashed under an append-loop {len(rounds)}×, 0.0–1.0 s after its first append: "
                          f"{sum(len(r['acked']) for r in rounds)} acknowledged, exits {tally(r['code'] for r in rounds)}; "
                          f"the append in flight committed unacknowledged in {sum(1 for r in rounds if in_flight(r))}")
    return rounds


def test_crash_ends_the_append_loop_with_a_lost_connection(crashed_appends):
    """Exit 74 or 75, within the timeout, one `shiplog: …` line saying the connection was lost."""
    problems = [f"round {r['n']}: " + (lost_connection_problem(r["code"], r["err"]) or "") for r in crashed_appends
                if not r["started"] or lost_connection_problem(r["code"], r["err"])]
    assert not problems, "; ".join(problems)


def test_crash_keeps_every_acknowledged_append_at_its_position(crashed_appends):
    problems = [f"round {r['n']}: {p}" for r in crashed_appends for p in acknowledged_problems(r["acked"], r["events"], "load")]
    assert not problems, "; ".join(problems[:5])


def test_crash_keeps_nothing_unacknowledged_but_the_append_in_flight(crashed_appends):
    """The append under way when the server died may have committed unacknowledged: one event
    at most, right after the last acknowledged one."""
    problems = []
    for r in crashed_appends:
        load = [e for e in r["events"] if e["stream"] == "load"]
        extra = load[len(r["acked"]):]
        if len(extra) > 1 or (extra and extra[0]["position"] != (r["acked"][-1][0] if r["acked"] else 0) + 1):
            problems.append(f"round {r['n']}: {len(load)} events for {len(r['acked'])} acknowledged appends")
    assert not problems, "; ".join(problems)


def test_crash_leaves_positions_gapless_and_the_chain_intact(crashed_appends):
    problems = [f"round {r['n']}: {p}" for r in crashed_appends for p in chain_problems(r["events"])]
    assert not problems, "; ".join(problems[:5])


def test_crash_then_verify_exits_0(crashed_appends, shiplog, plain):
    failed = [f"round {r['n']}: {v.describe()}" for r in crashed_appends
              for v in [shiplog.run(["verify", "--db", r["url"]], env=plain)] if v.code != 0]
    assert not failed, "; ".join(failed)


# --------------------------------------------------------------------------------------------
# 2. The server stopped while a deployment's step runs



def crash_under(postgres, proc, delay, timeout):
    """Waits `delay` seconds, stops the server as a crash would, waits for `proc`, and starts the
    server again whatever happened; returns (proc's exit code, delay)."""
    time.sleep(delay)
    try:
        postgres.crash()
        code, _ = wait_or_kill(proc, None, timeout)
    finally:
        postgres.restart()
    return code, delay

PIPELINE = """environment: @ENV@
services: [api]
deploy: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.deploy"; touch "$RUNS/deploying"; sleep @SLEEP@' }
health:
  stabilize: 0s
  retries: 1
  interval: 1s
  timeout: 2s
  checks:
    - { name: alive, run: 'true' }
rollback: { run: 'true' }
artifacts: { dir: logs, retention: 365d }
"""


def runner_dir(workdir, name, environment, sleep):
    """A working directory of its own with a pipeline for `environment` whose deploy step counts
    its runs in runs/, touches runs/deploying, then sleeps `sleep` seconds."""
    directory = os.path.join(workdir, name)
    os.makedirs(os.path.join(directory, "runs"), exist_ok=True)
    config = os.path.join(directory, "shiplog.yml")
    with open(config, "w") as f:
        f.write(PIPELINE.replace("@ENV@", environment).replace("@SLEEP@", str(sleep)))
    return directory, config


def step_counters(directory, deployment_id):
    path = os.path.join(directory, "runs", f"{deployment_id}.deploy")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {"deploy": [line.strip() for line in f if line.strip()]}


@pytest.fixture(scope="module")
def crashed_deploys(faults, postgres, pg_ledger, shiplog, workdir, plain):
    """Rounds of: `shiplog deploy`, the server crashed 0–0.6 s into its 1 s deploy step, the
    server restarted, `shiplog resume ID`."""
    rng = faults.rng(SCENARIO + ":crash-deploys")
    rounds = []
    for n in range(shape(faults)[1]):
        url = pg_ledger(f"crash_deploy_{n}")
        directory, config = runner_dir(workdir, f"crash-deploy-{n}", f"pgcrash{n}", 1)
        tag = f"{faults.tag}-pg-deploy{n}"
        env = dict(plain, RUNS=os.path.join(directory, "runs"), FAULTS_TAG=tag)
        out, err = os.path.join(directory, "deploy.out"), os.path.join(directory, "deploy.err")
        proc = shiplog.spawn(["deploy", "--config", config, "--sha", random_sha(rng), "--db", url], env, directory, out, err)
        marker = os.path.join(directory, "runs", "deploying")
        deadline = time.monotonic() + faults.timeout
        while not os.path.exists(marker) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        reached = os.path.exists(marker)
        code, delay = crash_under(postgres, proc, rng.uniform(0.0, 0.6), faults.timeout)
        left = lingering(tag, grace=0.5)  # the step sleeps longer: a step left running is still there
        records = history(shiplog, url)
        deployment_id = records[0]["deployment_id"] if records else None
        resumed = shiplog.run(["resume", deployment_id, "--db", url], env=env, cwd=directory) if deployment_id else None
        timeline = deployment_timeline(shiplog, url, deployment_id) if deployment_id else None
        rounds.append({"n": n, "url": url, "reached": reached, "code": code, "err": tail(err, 2000), "left": left,
                       "id": deployment_id, "resumed": resumed, "timeline": timeline,
                       "runs": step_counters(directory, deployment_id) if deployment_id else {}})
    faults.note(SCENARIO, f"server crashed during a deploy step {len(rounds)}×: deploy exits {tally(r['code'] for r in rounds)}, "
                          f"resume exits {tally(r['resumed'].code if r['resumed'] else None for r in rounds)}, runs of the "
                          f"deploy step per deployment {tally(len(r['runs'].get('deploy', [])) for r in rounds)}")
    return rounds


def test_crash_mid_deployment_ends_the_runner_with_a_lost_connection(crashed_deploys):
    problems = []
    for r in crashed_deploys:
        if not r["reached"]:
            problems.append(f"round {r['n']}: the deploy step never started (exit {r['code']}: {r['err'][:200]!r})")
        elif lost_connection_problem(r["code"], r["err"]):
            problems.append(f"round {r['n']}: {lost_connection_problem(r['code'], r['err'])}")
    assert not problems, "; ".join(problems)


def test_crash_mid_deployment_leaves_no_step_running(crashed_deploys):
    """The runner that lost its ledger leaves no step or supervisor process behind."""
    left = [f"round {r['n']}: {r['left']}" for r in crashed_deploys if r["left"]]
    assert not left, "; ".join(left)


def test_resume_after_the_crash_finishes_the_deployment(crashed_deploys):
    problems = []
    for r in crashed_deploys:
        if not r["id"]:
            problems.append(f"round {r['n']}: `history --json` shows no deployment after the restart")
        elif r["resumed"].code != 0:
            problems.append(f"round {r['n']}: resume {r['id']}: {r['resumed'].describe()}")
        elif r["timeline"]["record"]["status"] != "success":
            problems.append(f"round {r['n']}: {r['id']} ended {r['timeline']['record']['status']}")
    assert not problems, "; ".join(problems)


def test_deploy_step_ran_at_most_twice_and_recorded_one_outcome(crashed_deploys):
    problems = []
    for r in crashed_deploys:
        if not r["timeline"]:
            continue
        runs = r["runs"].get("deploy", [])
        if not 1 <= len(runs) <= 2:
            problems.append(f"round {r['n']}: the deploy step ran {runs}")
        problems += [f"round {r['n']}: {p}" for p in step_run_problems(r["timeline"], r["runs"], ["api"])]
    assert not problems, "; ".join(problems)


def test_crash_mid_deployment_then_verify_exits_0(crashed_deploys, shiplog, plain):
    problems = [f"round {r['n']}: {p}" for r in crashed_deploys for p in chain_problems(events_of(shiplog, r["url"]))]
    problems += [f"round {r['n']}: verify {v.describe()}" for r in crashed_deploys
                 for v in [shiplog.run(["verify", "--db", r["url"]], env=plain)] if v.code != 0]
    assert not problems, "; ".join(problems[:5])


# --------------------------------------------------------------------------------------------
# 3. Sessions ended with pg_terminate_backend, then an append retried with the same id


@pytest.fixture(scope="module")
def terminated(faults, postgres, pg_ledger, shiplog, workdir, plain):
    """Rounds of: a new ledger, an append-loop whose session is terminated 0–1 s after its first
    acknowledgement, then one `events append --id` run twice."""
    rng = faults.rng(SCENARIO + ":terminate")
    rounds = []
    for n in range(shape(faults)[2]):
        name = f"terminate_{n}"
        url = pg_ledger(name)
        out, err = os.path.join(workdir, f"terminate-{n}.out"), os.path.join(workdir, f"terminate-{n}.err")
        proc = shiplog.spawn(["debug", "append-loop", "--db", url, "--stream", "load", "--count", 1_000_000, "--mode", "shared"],
                             plain, workdir, out, err)
        started = wait_for_acknowledgements(proc, out, faults.timeout)
        delay = rng.uniform(0.0, 1.0)
        time.sleep(delay)
        ended = postgres.terminate_backends(name)
        code, _ = wait_or_kill(proc, None, faults.timeout)
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        append = ["events", "append", "--db", url, "--stream", "s", "--type", "T", "--data", "{}", "--id", event_id,
                  "--expected-version", "any"]
        tries = [shiplog.run(append, env=plain) for _ in range(2)]
        rounds.append({"n": n, "url": url, "code": code, "err": tail(err, 2000), "started": started, "ended": ended,
                       "acked": printed(out), "id": event_id, "tries": tries, "events": events_of(shiplog, url)})
    faults.note(SCENARIO, f"append-loop sessions terminated {len(rounds)}×: {sum(len(r['acked']) for r in rounds)} "
                          f"acknowledged, exits {tally(r['code'] for r in rounds)}; then 2 × `events append --id` each")
    return rounds


def test_terminated_session_ends_the_append_loop_with_74(terminated):
    problems = [f"round {r['n']}: " + (lost_connection_problem(r["code"], r["err"], (74,)) or f"{r['ended']} sessions ended")
                for r in terminated if not r["started"] or r["ended"] < 1 or lost_connection_problem(r["code"], r["err"], (74,))]
    assert not problems, "; ".join(problems)


def test_terminated_session_keeps_what_was_acknowledged(terminated):
    problems = []
    for r in terminated:
        problems += [f"round {r['n']}: {p}" for p in acknowledged_problems(r["acked"], r["events"], "load")]
        load = [e for e in r["events"] if e["stream"] == "load"]
        if len(load) - len(r["acked"]) not in (0, 1):
            problems.append(f"round {r['n']}: {len(load)} events for {len(r['acked'])} acknowledged appends")
    assert not problems, "; ".join(problems[:5])


def test_append_retried_with_the_same_id_lands_once(terminated):
    """The first exits 0 with a position; the second exits 0 with that position or says it was
    already recorded; the ledger holds the id once."""
    problems = []
    for r in terminated:
        first, second = r["tries"]
        landed = [e for e in r["events"] if e["event_id"] == r["id"]]
        if first.code != 0 or second.code != 0:
            problems.append(f"round {r['n']}: {first.describe()} then {second.describe()}")
        elif second.stdout.strip() != first.stdout.strip() and "already recorded" not in second.stderr:
            problems.append(f"round {r['n']}: first {first.stdout.strip()!r}, retry {second.stdout.strip()!r} {second.stderr.strip()!r}")
        if len(landed) != 1:
            problems.append(f"round {r['n']}: the id is in the ledger {len(landed)} times")
        elif str(landed[0]["position"]) != first.stdout.strip():
            problems.append(f"round {r['n']}: printed {first.stdout.strip()!r}, recorded at {landed[0]['position']}")
    assert not problems, "; ".join(problems)


def test_terminated_sessions_then_chain_and_verify(terminated, shiplog, plain):
    problems = [f"round {r['n']}: {p}" for r in terminated for p in chain_problems(r["events"])]
    problems += [f"round {r['n']}: verify {v.describe()}" for r in terminated
                 for v in [shiplog.run(["verify", "--db", r["url"]], env=plain)] if v.code != 0]
    assert not problems, "; ".join(problems[:5])


def test_lost_connection_error_gives_no_file_advice(crashed_appends, crashed_deploys, terminated):
    """A server URL has no directory: the advice must be about the server (KNOWN, suite.py)."""
    errors = [(f"append-loop crash {r['n']}", r["err"]) for r in crashed_appends]
    errors += [(f"deploy crash {r['n']}", r["err"]) for r in crashed_deploys]
    errors += [(f"terminated session {r['n']}", r["err"]) for r in terminated]
    wrong = [f"{what}: …{err.strip()[-110:]!r}" for what, err in errors if "directory exists" in err]
    assert not wrong, f"{len(wrong)} of {len(errors)}: " + "; ".join(wrong[:2])


# --------------------------------------------------------------------------------------------
# 4. Eight runners from eight directories, two per environment, one shared stream


@pytest.fixture(scope="module")
def runners(faults, pg_ledger, shiplog, workdir, plain):
    """8 `shiplog deploy` (two for each of 4 environments) and 8 append-loops on one stream,
    each pair from a working directory of its own, all started through one gate."""
    rng = faults.rng(SCENARIO + ":runners")
    count = shape(faults)[3]
    url = pg_ledger("runners")
    gate = os.path.join(workdir, "gates", "runners")
    os.makedirs(os.path.dirname(gate), exist_ok=True)
    procs = []
    for i in range(8):
        directory, config = runner_dir(workdir, f"runner{i}", f"pgenv{i % 4}", 0.5)
        env = dict(plain, RUNS=os.path.join(directory, "runs"))
        procs.append(("deploy", i, directory, shiplog.spawn(
            ["deploy", "--config", config, "--sha", random_sha(rng), "--db", url], env, directory,
            os.path.join(directory, "deploy.out"), os.path.join(directory, "deploy.err"), gate=gate)))
        procs.append(("loop", i, directory, shiplog.spawn(
            ["debug", "append-loop", "--db", url, "--stream", "shared-load", "--count", count, "--mode", "shared"], plain,
            directory, os.path.join(directory, "loop.out"), os.path.join(directory, "loop.err"), gate=gate)))
    open_gate(gate, [p for *_, p in procs])
    codes = {(kind, i): wait_or_kill(proc, None, faults.timeout * 4)[0] for kind, i, _, proc in procs}
    events = events_of(shiplog, url)
    faults.note(SCENARIO, f"8 runners from 8 directories, 2 per environment × 4, each with an append-loop of {count} "
                          f"on one stream: deploy exits {tally(c for (k, _), c in codes.items() if k == 'deploy')}, "
                          f"{len(events)} events")
    return {"url": url, "count": count, "codes": codes, "dirs": {i: d for _, i, d, _ in procs}, "events": events}


@pytest.mark.parametrize("environment", [f"pgenv{k}" for k in range(4)])
def test_one_deployment_holds_an_environment_at_a_time(runners, environment, shiplog):
    """One runner gets the environment; the other is refused (5) naming the active deployment,
    or deploys after the first one ended. On the ledger: the environment stream alternates lock
    and release once per deployment, and each runner not refused recorded one `success`."""
    mine = [i for i in range(8) if i % 4 == int(environment[-1])]
    refused = [i for i in mine if runners["codes"][("deploy", i)] == 5]
    problems = [] if len(refused) < len(mine) else ["every runner was refused: " + " | ".join(
        tail(os.path.join(runners["dirs"][i], "deploy.err"), 200) for i in mine)]
    for i in refused:
        err = tail(os.path.join(runners["dirs"][i], "deploy.err"), 400)
        if "active deployment" not in err:
            problems.append(f"runner{i} refused without naming the active deployment: {err!r}")
    ran = len(mine) - len(refused)
    lock_events = [e["type"] for e in runners["events"] if e["stream"] == f"environment-{environment}"]
    if lock_events != ["EnvironmentLocked", "EnvironmentReleased"] * ran:
        problems.append(f"environment stream {lock_events} for {ran} deployments")
    records = history(shiplog, runners["url"], "--env", environment)
    if sorted(r["status"] for r in records) != ["success"] * ran:
        problems.append(f"history {[r['status'] for r in records]} for {ran} runners not refused")
    assert not problems, "; ".join(problems)


def test_every_runner_not_refused_exits_0(runners):
    """Every deployment here succeeds: a runner not refused ends with exit 0 (KNOWN, suite.py)."""
    problems = [f"runner{i} exit {code}: {tail(os.path.join(runners['dirs'][i], 'deploy.err'), 300)}"
                for (kind, i), code in sorted(runners["codes"].items()) if kind == "deploy" and code not in (0, 5)]
    assert not problems, "; ".join(problems)


def test_every_runner_append_loop_acknowledged_its_count(runners):
    problems = []
    for i in range(8):
        code = runners["codes"][("loop", i)]
        acked = printed(os.path.join(runners["dirs"][i], "loop.out"))
        if code != 0 or len(acked) != runners["count"]:
            problems.append(f"runner{i}: exit {code}, {len(acked)} acknowledged: {tail(os.path.join(runners['dirs'][i], 'loop.err'), 200)}")
        problems += [f"runner{i}: {p}" for p in acknowledged_problems(acked, runners["events"], "shared-load")]
    assert not problems, "; ".join(problems[:5])


def test_shared_stream_holds_exactly_every_append_with_versions_1_to_n(runners):
    versions = [e["version"] for e in runners["events"] if e["stream"] == "shared-load"]
    assert versions == list(range(1, 8 * runners["count"] + 1)), \
        f"{len(versions)} events (expected {8 * runners['count']}), versions {versions[:10]}…"


def test_runners_chain_recomputed_and_verify_exits_0(runners, shiplog, plain):
    problems = chain_problems(runners["events"])
    ids = [e["event_id"] for e in runners["events"]]
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} duplicate event ids")
    verify = shiplog.run(["verify", "--db", runners["url"]], env=plain)
    if verify.code != 0:
        problems.append(f"verify {verify.describe()}")
    assert not problems, f"{len(runners['events'])} events: " + "; ".join(problems[:5])
