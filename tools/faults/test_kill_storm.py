"""Scenario 1, kill-storm: runners killed with SIGKILL at random moments, then resumed (and
sometimes killed again) until their deployments end; several environments share one ledger.
docs/FAULTS.md says what each check protects."""

import json
import os
import random
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hashchain import chain_problems
from phases import PHASE_EVENTS, TERMINAL_EVENTS
from processes import lingering, processes_tagged, tail, wait_or_kill
from staging import ID_LINE, SERVICES, artifact_problems, deployment_timeline, events_of, random_sha, step_run_problems

SCENARIO = "kill-storm"


def shape(faults):
    """(environments, deployments per environment, extra kills of `resume` at most)."""
    return (2 if faults.quick else 4), faults.size(3, 10), (3 if faults.quick else 5)


def pytest_generate_tests(metafunc):
    if "deployment" in metafunc.fixturenames:
        envs, per_env, _ = shape(metafunc.config.faults)
        metafunc.parametrize("deployment", [(k, n) for k in range(envs) for n in range(per_env)],
                             ids=[f"storm{k}-{n}" for k in range(envs) for n in range(per_env)])


def drive(faults, env, plan):
    """Deploys, killing the runner at plan["kill_at"], then resumes until the deployment ends,
    killing some resumes too. Returns (deployment id, last exit code, notes)."""
    sh, local = faults.sh, random.Random(plan["seed"])
    tag = f"{faults.tag}-{env.name}-{plan['n']}"
    out = os.path.join(env.dir, "out", f"{plan['n']}")
    config = env.pipelines[plan["policy"]]
    environ = env.env(tag)
    notes = {"kills": 0, "resumes": 0, "refused": 0, "unrecorded": 0, "problems": [], "lingering": []}
    sha = random_sha(local, "bad" if plan["bad"] else "")
    deployment_id, code, kill_at = None, None, plan["kill_at"]
    for _ in range(10):
        proc = sh.spawn(["deploy", "--config", config, "--sha", sha], environ, env.dir, out + ".deploy.out", out + ".deploy.err")
        code, killed = wait_or_kill(proc, kill_at, faults.timeout)
        if code is None:
            notes["problems"].append(f"deploy hung (killed after {faults.timeout} s)")
        if killed:
            notes["kills"] += 1
            left = lingering(tag)
            if left:
                notes["lingering"].append(left)
        with open(out + ".deploy.out", encoding="utf-8", errors="replace") as f:
            found = ID_LINE.findall(f.read())
        if found:
            deployment_id = found[-1]
        else:
            status = sh.run(["status", "--env", env.name, "--json"], env=environ)
            active = [d["deployment_id"] for d in json.loads(status.stdout)["deployments"]] if status.code == 0 else []
            deployment_id = active[0] if active else None
        if deployment_id or not killed:
            break
        notes["unrecorded"] += 1
        kill_at = local.uniform(0.0, 1.5)  # killed before anything was recorded: deploy again
    if not deployment_id:
        notes["problems"].append(f"no deployment recorded (deploy {code})")
        return None, code, notes
    rekills = list(plan["rekills"])
    rounds = 0
    while code not in (0, 1, 2, 6):
        rounds += 1
        if rounds > 40:
            notes["problems"].append(f"still not finished after {rounds} resumes (last exit {code})")
            break
        if code is not None and code not in (5, -signal.SIGKILL):
            notes["problems"].append(f"unexpected exit {code}: {tail(out + ('.deploy.err' if rounds == 1 else '.resume.err'))}")
            if code in (70, 134, 139) or code < 0:
                break
        if code == 5:
            notes["refused"] += 1
            time.sleep(0.2)
        kill_after = rekills.pop(0) if rekills else None
        proc = sh.spawn(["resume", deployment_id, "--config", config], environ, env.dir, out + ".resume.out", out + ".resume.err")
        code, killed = wait_or_kill(proc, kill_after, faults.timeout)
        notes["resumes"] += 1
        if code is None:
            notes["problems"].append(f"resume hung (killed after {faults.timeout} s)")
        if killed:
            notes["kills"] += 1
            code = -signal.SIGKILL
            left = lingering(tag)
            if left:
                notes["lingering"].append(left)
    return deployment_id, code, notes


@pytest.fixture(scope="module")
def storm(faults, shiplog, new_ledger, staging, workdir):
    """Every deployment driven to its end: each environment's one after another (a new deploy is
    refused while one is unfinished), the environments side by side on one ledger."""
    rng = faults.rng(SCENARIO)
    env_count, per_env, max_rekills = shape(faults)
    db = new_ledger("ledger")  # a new ledger opened by several processes at once is the concurrent scenario's
    envs = [staging(workdir, f"storm{k}", db) for k in range(env_count)]
    plans = {}
    for k, env in enumerate(envs):
        for n in range(per_env):
            plans[(k, n)] = {
                "env": env, "n": n, "bad": rng.random() < 0.3, "policy": "fail" if rng.random() < 0.2 else "rerun",
                "kill_at": rng.uniform(0.0, 1.5), "rekills": [rng.uniform(0.0, 1.2) for _ in range(rng.randint(0, max_rekills))],
                "seed": rng.randrange(1 << 30),
            }
    results = {}
    lock = threading.Lock()

    def worker(k):
        for n in range(per_env):
            outcome = drive(faults, envs[k], plans[(k, n)])
            with lock:
                results[(k, n)] = outcome

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=env_count) as pool:
        list(pool.map(worker, range(env_count)))
    elapsed = time.monotonic() - started

    records = {}
    for line in shiplog.run(["history", "--db", db, "--json"]).stdout.splitlines():
        if line.strip():
            r = json.loads(line)
            records[r["deployment_id"]] = r
    timelines = {d: deployment_timeline(shiplog, db, d) for d, _, _ in results.values() if d in records}
    totals = {key: sum(notes[key] for _, _, notes in results.values()) for key in ("kills", "resumes", "refused", "unrecorded")}
    reruns = never_ran = 0
    for key, (deployment_id, _, _) in results.items():
        if deployment_id in timelines:
            for phase, lines in envs[key[0]].counters(deployment_id).items():
                reruns += max(0, len(lines) - 1)
                started_attempts = sum(1 for e in timelines[deployment_id]["timeline"] if e["type"] == PHASE_EVENTS[phase][0])
                never_ran += max(0, started_attempts - len(lines))
    faults.note(SCENARIO, f"{len(results)} deployments in {env_count} environments, one ledger: {totals['kills']} SIGKILLs "
                          f"({totals['unrecorded']} before the deployment was recorded), {totals['resumes']} resumes "
                          f"({totals['refused']} refused as driven elsewhere); {reruns} step commands run again after an "
                          f"interruption, {never_ran} started attempts killed before their command ran; {elapsed:.1f} s")
    return {"db": db, "envs": envs, "plans": plans, "results": results, "records": records, "timelines": timelines}


def test_phase_table_names_every_phase_the_binary_records(shiplog, workdir):
    """The step events the checks count come from docs/EVENTS.md; its steps must be exactly the
    phases `shiplog record phase` accepts, in the same order."""
    res = shiplog.run(["record", "phase", "1-0", "no-such-phase", "--status", "succeeded",
                       "--db", os.path.join(workdir, "none", "ledger.db")])
    accepted = re.search(r"phase must be one of ([a-z, ]+); got", res.stderr)
    assert accepted, f"`record phase` did not list its phases: {res.describe()}"
    assert list(PHASE_EVENTS) == accepted.group(1).split(", ")


def test_deployment_ends_and_no_step_ran_twice(storm, deployment, shiplog, faults):
    """Terminal, its last exit code matching its record, ended as expected (a bad version rolled
    back exactly when it had a target; only an `on_interrupt: fail` step fails a good one); each
    step's command ran once per started attempt; one terminal event, one notification outcome,
    artifacts once and intact; no step outlived its killed runner; resuming the finished
    deployment repeats its exit code and does nothing."""
    plan, (deployment_id, code, notes) = storm["plans"][deployment], storm["results"][deployment]
    env, db = plan["env"], storm["db"]
    problems = list(notes["problems"])
    if notes["lingering"]:
        problems.append(f"step processes outlived their killed runner: {notes['lingering'][0]}")
    record = storm["records"].get(deployment_id) if deployment_id else None
    status = record["status"] if record else None
    if deployment_id and not record:
        problems.append("not in `shiplog history`")
    if record:
        timeline = storm["timelines"][deployment_id]
        expected_code = {"success": 0, "rolled_back": 1, "failed": 2}.get(status)
        if status not in ("success", "failed", "rolled_back"):
            problems.append(f"status {status}, not terminal")
        elif code != expected_code:
            problems.append(f"last exit {code} but status {status}")
        types = [e["type"] for e in timeline["timeline"]]
        interrupted_fail = any(e["type"] == "MigrationFailed" and "interrupted" in (e["data"].get("reason") or "")
                               for e in timeline["timeline"])
        if interrupted_fail and plan["policy"] != "fail":
            problems.append("a step failed as interrupted although its pipeline says on_interrupt: rerun")
        if interrupted_fail:
            expected = "failed"
        elif plan["bad"]:
            expected = "rolled_back" if record.get("rollback_target") else "failed"
        else:
            expected = "success"
        if status != expected:
            problems.append(f"ended {status}, expected {expected} ({record.get('failure_reason')})")
        if sum(types.count(t) for t in TERMINAL_EVENTS) != 1:
            problems.append(f"{sum(types.count(t) for t in TERMINAL_EVENTS)} terminal events")
        if types.count("NotificationSent") + types.count("NotificationFailed") != 1:
            problems.append("not exactly one notification outcome")
        problems += step_run_problems(timeline, env.counters(deployment_id), SERVICES)
        problems += artifact_problems(timeline, os.path.join(os.path.dirname(db), "artifacts"), deployment_id)
        # Resuming a finished deployment runs nothing and repeats its exit code.
        before = (env.counters(deployment_id), len(timeline["timeline"]))
        again = shiplog.run(["resume", deployment_id, "--config", env.pipelines[plan["policy"]]], env=env.env(), cwd=env.dir)
        after = deployment_timeline(shiplog, db, deployment_id)
        if again.code != expected_code:
            problems.append(f"resuming the finished deployment exited {again.code}, expected {expected_code}: {again.first_error_line()}")
        if (env.counters(deployment_id), len(after["timeline"])) != before:
            problems.append("resuming the finished deployment ran a step or recorded events")
    label = (f"{deployment_id or env.name + '#' + str(plan['n'])} ({'bad' if plan['bad'] else 'good'}, migrate {plan['policy']}, "
             f"{notes['kills']} kills, {notes['resumes']} resumes): {status or 'not recorded'}, exit {code}")
    assert not problems, f"{label}: " + "; ".join(problems)


def test_chain_recomputed_positions_and_versions_gapless(storm, shiplog):
    events = events_of(shiplog, storm["db"])
    problems = chain_problems(events)
    assert not problems, f"{len(events)} events: " + "; ".join(problems[:5])


def test_verify_exits_0(storm, shiplog):
    verify = shiplog.run(["verify", "--db", storm["db"]])
    assert verify.code == 0, verify.describe()


def test_every_environment_taken_and_released_once_per_deployment(storm, shiplog):
    """Each environment stream alternates lock and release; `status` shows nothing deploying."""
    events = events_of(shiplog, storm["db"])
    problems = []
    for env in storm["envs"]:
        held = None
        for e in (e for e in events if e["stream"] == f"environment-{env.name}"):
            data = json.loads(e["data"])
            if e["type"] == "EnvironmentLocked":
                if held:
                    problems.append(f"{env.name} locked by {data['deployment_id']} while {held} held it")
                held = data["deployment_id"]
            elif e["type"] in ("EnvironmentReleased", "EnvironmentUnlocked"):
                if held != data["deployment_id"]:
                    problems.append(f"{env.name} released by {data['deployment_id']} while {held} held it")
                held = None
        if held:
            problems.append(f"{env.name} still held by {held}")
    status = shiplog.run(["status", "--db", storm["db"], "--json"])
    if json.loads(status.stdout)["deployments"]:
        problems.append(f"`status` still shows: {status.stdout.strip()[:200]}")
    assert not problems, "; ".join(problems[:5])


def test_no_step_or_supervisor_process_left(storm, faults):
    left = processes_tagged(faults.tag)
    assert not left, ", ".join(left[:5])
