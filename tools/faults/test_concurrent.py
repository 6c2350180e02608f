"""Scenario 2, concurrent: deploys, append-loop writers (one killed midway) and racing `record
begin`, all started together on one ledger; then new ledgers first opened by several processes
at once. docs/FAULTS.md says what each check protects."""

import os

import pytest

from hashchain import chain_problems
from processes import open_gate, tail, wait_or_kill
from staging import ID_LINE, SERVICES, deployment_timeline, events_of, history, random_sha, step_run_problems

SCENARIO = "concurrent"


def shape(faults):
    """(deploys, shared writers, events per writer, racers for one environment)."""
    return (3 if faults.quick else 6), (3 if faults.quick else 6), faults.size(200, 1000), (4 if faults.quick else 8)


def pytest_generate_tests(metafunc):
    if "deploy_env" in metafunc.fixturenames:
        deploys = shape(metafunc.config.faults)[0]
        metafunc.parametrize("deploy_env", [f"conc{k}" for k in range(deploys)])


@pytest.fixture(scope="module")
def crowd(faults, shiplog, new_ledger, staging, workdir):
    """Everything started at once through one gate, and waited for: the SIGKILLed writer after
    0.3–1.5 s, the others to their end."""
    rng = faults.rng(SCENARIO)
    deploys, writers, count, racers = shape(faults)
    db = new_ledger("ledger")
    envs = [staging(workdir, f"conc{k}", db) for k in range(deploys)]
    out = os.path.join(workdir, "out")
    os.makedirs(out)
    # A generous busy timeout: the scenario checks what contention does to the ledger, not how
    # long a writer waits on a loaded machine (the default 5 s is checked by the test suite).
    patience = {"SHIPLOG_BUSY_TIMEOUT_MS": "60000"}
    plain = dict(os.environ, SHIPLOG_DB=db, **patience)
    gate = os.path.join(workdir, "gates", "go")
    os.makedirs(os.path.dirname(gate))
    procs = []

    def spawn(kind, name, args, env):
        proc = shiplog.spawn(args, env, workdir, os.path.join(out, name + ".out"), os.path.join(out, name + ".err"), gate=gate)
        procs.append((kind, name, proc))

    for env in envs:
        spawn("deploy", env.name, ["deploy", "--config", env.pipelines["rerun"], "--sha", random_sha(rng)], env.env(extra=patience))
    for w in range(writers):
        spawn("writer", f"writer{w}", ["debug", "append-loop", "--db", db, "--stream", "load", "--count", count, "--mode", "shared"], plain)
    spawn("any", "any", ["debug", "append-loop", "--db", db, "--stream", "load-any", "--count", count, "--mode", "any"], plain)
    spawn("victim", "victim", ["debug", "append-loop", "--db", db, "--stream", "load", "--count", 1_000_000, "--mode", "shared"], plain)
    for r in range(racers):
        spawn("racer", f"racer{r}", ["record", "begin", "--db", db, "--env", "race", "--sha", random_sha(rng),
                                      "--services", "api-gateway"], plain)
    faults.note(SCENARIO, f"{deploys} deploys to {deploys} environments, {writers} append-loop writers × {count} events on one "
                          f"stream (expected versions), 1 writer with no version check, 1 writer SIGKILLed midway, "
                          f"{racers} `record begin` racing for one environment — all at once, one ledger")
    open_gate(gate, [p for _, _, p in procs])
    victim = next(p for kind, _, p in procs if kind == "victim")
    victim_code, victim_killed = wait_or_kill(victim, rng.uniform(0.3, 1.5), faults.timeout)
    codes = {}
    for kind, name, proc in procs:
        codes[name] = victim_code if proc is victim else wait_or_kill(proc, None, faults.timeout * 4)[0]
    events = events_of(shiplog, db)
    return {"db": db, "envs": {env.name: env for env in envs}, "out": out, "procs": [(kind, name) for kind, name, _ in procs],
            "codes": codes, "victim_killed": victim_killed, "count": count, "events": events}


def printed(crowd, name):
    with open(os.path.join(crowd["out"], name + ".out")) as f:
        return [line.split() for line in f if line.strip()]


def acknowledged(crowd):
    """Every `POSITION EVENT_ID` the writers on stream load printed (the killed one included)."""
    return [line for kind, name in crowd["procs"] if kind in ("writer", "victim") for line in printed(crowd, name)]


def test_every_acknowledged_append_is_at_its_position(crowd):
    by_position = {e["position"]: e for e in crowd["events"]}
    problems = []
    for kind, name in crowd["procs"]:
        if kind not in ("writer", "any", "victim"):
            continue
        lines = printed(crowd, name)
        if kind != "victim":
            if crowd["codes"][name] != 0:
                problems.append(f"{name} exit {crowd['codes'][name]}: {tail(os.path.join(crowd['out'], name + '.err'))}")
            if len(lines) != crowd["count"]:
                problems.append(f"{name} printed {len(lines)} acknowledgements, expected {crowd['count']}")
        for position, event_id in lines:
            e = by_position.get(int(position))
            if not e or e["event_id"] != event_id:
                problems.append(f"{name}: acknowledged {position} {event_id} is not in the ledger")
            elif e["stream"] != ("load-any" if kind == "any" else "load"):
                problems.append(f"{name}: acknowledged {position} landed on {e['stream']}")
    assert not problems, "; ".join(problems[:5])


def test_shared_stream_holds_what_was_acknowledged(crowd):
    """The SIGKILLed writer may have committed one append it never printed; nothing else is extra."""
    load = [e for e in crowd["events"] if e["stream"] == "load"]
    extra = len(load) - len(acknowledged(crowd))
    assert extra in ((0, 1) if crowd["victim_killed"] else (0,)), \
        f"stream load holds {len(load)} events for {len(acknowledged(crowd))} acknowledged appends"


def test_shared_stream_versions_gapless(crowd):
    versions = [e["version"] for e in crowd["events"] if e["stream"] == "load"]
    assert versions == list(range(1, len(versions) + 1)), f"versions {versions[:10]}…"


def test_event_ids_unique(crowd):
    ids = [e["event_id"] for e in crowd["events"]]
    assert len(set(ids)) == len(ids), f"{len(ids) - len(set(ids))} duplicate ids"


def test_unchecked_stream_holds_exactly_its_count(crowd):
    held = sum(1 for e in crowd["events"] if e["stream"] == "load-any")
    assert held == crowd["count"], f"stream load-any holds {held}, expected {crowd['count']}"


def test_concurrent_deploy_succeeds_and_every_step_ran_once(crowd, deploy_env, shiplog):
    env, out = crowd["envs"][deploy_env], crowd["out"]
    code = crowd["codes"][deploy_env]
    assert code == 0, f"{deploy_env} exit {code}: {tail(os.path.join(out, deploy_env + '.err'))}"
    with open(os.path.join(out, deploy_env + ".out"), encoding="utf-8", errors="replace") as f:
        found = ID_LINE.findall(f.read())
    assert found, f"{deploy_env}: no deployment id printed"
    timeline = deployment_timeline(shiplog, crowd["db"], found[0])
    runs = env.counters(found[0])
    problems = [] if timeline["record"]["status"] == "success" else [f"{found[0]} ended {timeline['record']['status']}"]
    if any(runs[p] != ["1"] for p in ("preflight", "migrate", "build", "image", "deploy", "smoke")):
        problems.append(f"{found[0]}: steps ran {runs}")
    problems += step_run_problems(timeline, runs, SERVICES)
    assert not problems, "; ".join(problems[:5])


def test_racers_for_one_environment_one_wins_others_refused(crowd, shiplog):
    """One `record begin` gets the environment; every other exits 5 naming the active deployment."""
    racers = [name for kind, name in crowd["procs"] if kind == "racer"]
    winners = [name for name in racers if crowd["codes"][name] == 0]
    problems = [] if len(winners) == 1 else [f"{len(winners)} racers got the environment"]
    for name in racers:
        if name in winners:
            continue
        err = tail(os.path.join(crowd["out"], name + ".err"))
        if crowd["codes"][name] != 5 or "active deployment" not in err:
            problems.append(f"{name}: exit {crowd['codes'][name]}: {err}")
    if len(history(shiplog, crowd["db"], "--env", "race")) != 1:
        problems.append("`history --env race` does not show exactly one deployment")
    assert not problems, "; ".join(problems)


def test_chain_recomputed_positions_and_versions_gapless(crowd):
    problems = chain_problems(crowd["events"])
    assert not problems, f"{len(crowd['events'])} events: " + "; ".join(problems[:5])


def test_verify_exits_0(crowd, shiplog):
    verify = shiplog.run(["verify", "--db", crowd["db"]])
    assert verify.code == 0, verify.describe()


def test_new_ledgers_first_opened_by_three_processes_at_once(faults, shiplog, workdir):
    """A new ledger made by three `init`s started together (CI jobs of a fresh setup: each
    creates the file and migrates it, or waits for the one that does), then its first three
    commands, started together: every one records its deployment."""
    rng = faults.rng(SCENARIO + ":fresh")
    rounds = faults.size(20, 100)
    out = os.path.join(workdir, "fresh-out")
    os.makedirs(out, exist_ok=True)
    plain = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLOG_")}
    problems, failed = [], 0
    for n in range(rounds):
        fresh = os.path.join(workdir, "fresh", str(n), "ledger.db")
        gate = os.path.join(workdir, "gates", f"fresh{n}")
        os.makedirs(os.path.dirname(gate), exist_ok=True)

        def together(what, commands):
            """Starts the three commands at once; returns how many failed, noting the first few."""
            procs = [shiplog.spawn(args, plain, workdir, os.path.join(out, f"{n}-{what}{k}.out"),
                                   os.path.join(out, f"{n}-{what}{k}.err"), gate=f"{gate}-{what}")
                     for k, args in enumerate(commands)]
            open_gate(f"{gate}-{what}", procs)
            failures = 0
            for k, proc in enumerate(procs):
                code, _ = wait_or_kill(proc, None, faults.timeout)
                if code != 0:
                    failures += 1
                    if len(problems) < 3:
                        problems.append(f"round {n}: {what} exit {code}: {tail(os.path.join(out, f'{n}-{what}{k}.err'), 200)}")
            return failures

        init_failed = together("init", [["init", "--db", fresh]] * 3)
        failed_here = together("begin", [["record", "begin", "--db", fresh, "--env", f"first{k}", "--sha", random_sha(rng)]
                                         for k in range(3)])
        failed += failed_here + init_failed
        verify = shiplog.run(["verify", "--db", fresh])
        recorded = history(shiplog, fresh)
        if verify.code != 0 or len(recorded) != 3 - failed_here:
            problems.append(f"round {n}: verify {verify.code}, {len(recorded)} deployments")
    assert failed == 0 and not problems, f"{failed} of {rounds * 6} failed; " + "; ".join(problems)
