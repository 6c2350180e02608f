"""Scenario 3, disk-full: appends and artifacts under a file-size limit (`ulimit -f`; Shiplog
ignores SIGXFSZ, so the write fails with EFBIG), then a real ENOSPC on a small tmpfs mounted for
the run (skipped, with the reason, when `mount` is not permitted). docs/FAULTS.md says what
each check protects."""

import json
import os
import shutil

import pytest

from processes import crash_problem, run_process
from staging import ID_LINE, SERVICES, deployment_timeline, events_of, random_sha, step_run_problems

SCENARIO = "disk-full"

NO_SPACE_WORDS = ("no space", "disk full", "too large", "cannot write", "file size")


def says_no_space(res):
    return any(word in res.stderr.lower() for word in NO_SPACE_WORDS)


# --------------------------------------------------------------------------------------------
# (a) the ledger's own files under a file-size limit


@pytest.fixture(scope="module")
def limited(faults, shiplog, workdir):
    """A 120 KB event appended under a 32–64 KiB limit, then append-loop until a 400–1,500 KiB
    limit stops it, then one append without the limit; with what the ledger held at each step."""
    rng = faults.rng(SCENARIO + ":limit")
    db = shiplog.init(os.path.join(workdir, "a", "ledger.db"))
    shiplog.run(["debug", "append-loop", "--db", db, "--stream", "before", "--count", 30])
    s = {"db": db, "before": events_of(shiplog, db)}
    big = json.dumps({"blob": "".join(rng.choice("abcdefghijklmnop") for _ in range(120_000))})
    s["event_limit"] = rng.choice([32, 48, 64])
    s["big"] = shiplog.run(["events", "append", "--db", db, "--stream", "big", "--type", "Big", "--data", big],
                           limit_kb=s["event_limit"])
    s["after_big"] = events_of(shiplog, db)
    s["verify_after_big"] = shiplog.run(["verify", "--db", db])
    s["loop_limit"], s["payload"] = rng.randint(400, 1500), rng.choice([8_000, 16_000, 30_000])
    s["loop"] = shiplog.run(["debug", "append-loop", "--db", db, "--stream", "fill", "--count", 100_000,
                             "--payload-bytes", s["payload"]], limit_kb=s["loop_limit"], timeout=faults.timeout * 2)
    s["acknowledged"] = [line.split() for line in s["loop"].stdout.splitlines() if line.strip()]
    s["after_loop"] = events_of(shiplog, db)
    s["verify_after_loop"] = shiplog.run(["verify", "--db", db])
    s["again"] = shiplog.run(["events", "append", "--db", db, "--stream", "after", "--type", "T", "--data", '{"ok":true}'])
    s["verify_again"] = shiplog.run(["verify", "--db", db])
    return s


def test_event_under_file_size_limit_exits_73_not_sigxfsz(limited):
    """A 120 KB event under `ulimit -f` 32–64: exit 73 with a no-space error, not death by SIGXFSZ."""
    res = limited["big"]
    assert res.code == 73 and says_no_space(res), f"ulimit -f {limited['event_limit']}: {res.describe()}"


def test_refused_append_leaves_the_ledger_as_it_was(limited):
    verify = limited["verify_after_big"]
    assert verify.code == 0 and limited["after_big"] == limited["before"], \
        f"verify {verify.code}, {len(limited['after_big'])} events where {len(limited['before'])} were"


def test_append_loop_under_limit_stops_with_73(limited):
    loop = limited["loop"]
    assert loop.code == 73 and says_no_space(loop), (
        f"append-loop of {limited['payload']}-byte events under `ulimit -f {limited['loop_limit']}`, "
        f"{len(limited['acknowledged'])} appends: {loop.describe()}")


def test_acknowledged_appends_kept_nothing_else_ledger_verifies(limited):
    """Every acknowledged append is there, nothing unacknowledged was kept, earlier events unchanged."""
    after, acknowledged = limited["after_loop"], limited["acknowledged"]
    fill = [e for e in after if e["stream"] == "fill"]
    by_position = {e["position"]: e["event_id"] for e in after}
    lost = [p for p, i in acknowledged if by_position.get(int(p)) != i]
    verify = limited["verify_after_loop"]
    assert verify.code == 0 and not lost and len(fill) == len(acknowledged) and after[:len(limited["before"])] == limited["before"], \
        f"verify {verify.code}; {len(lost)} lost; {len(fill)} stored for {len(acknowledged)} acknowledged"


def test_without_the_limit_the_ledger_accepts_appends_again(limited):
    assert limited["again"].code == 0 and limited["verify_again"].code == 0, \
        f"append: {limited['again'].describe()}; verify {limited['verify_again'].code}"


# --------------------------------------------------------------------------------------------
# (b) artifact storage under a file-size limit


@pytest.fixture(scope="module")
def artifact_limit(faults, shiplog, workdir):
    """`record phase --log` of a 2 MiB log under a 256–1,024 KiB limit, then again without it."""
    rng = faults.rng(SCENARIO + ":artifact")
    db = shiplog.init(os.path.join(workdir, "b", "ledger.db"))
    artifacts_dir = os.path.join(workdir, "b", "artifacts")
    deployment_id = shiplog.run(["record", "begin", "--db", db, "--env", "staging", "--sha", random_sha(rng),
                                 "--services", "api"]).stdout.strip()
    big_log = os.path.join(workdir, "b", "migrate.log")
    with open(big_log, "wb") as f:
        f.write(os.urandom(1 << 21))
    s = {"limit": rng.choice([256, 512, 1024])}
    phase = ["record", "phase", deployment_id, "migrate", "--db", db, "--status", "succeeded", "--log", big_log]
    s["limited"] = shiplog.run(phase, limit_kb=s["limit"])
    s["stored_after_limit"] = [e for e in deployment_timeline(shiplog, db, deployment_id)["timeline"] if e["type"] == "ArtifactStored"]
    s["files_after_limit"] = sorted(os.listdir(artifacts_dir)) if os.path.isdir(artifacts_dir) else []
    s["verify_after_limit"] = shiplog.run(["verify", "--db", db])
    s["retry"] = shiplog.run(phase)
    s["stored_after_retry"] = [e for e in deployment_timeline(shiplog, db, deployment_id)["timeline"] if e["type"] == "ArtifactStored"]
    return s


def test_record_phase_log_under_file_size_limit_exits_73(artifact_limit):
    res = artifact_limit["limited"]
    assert res.code == 73 and says_no_space(res), f"2 MiB log under `ulimit -f {artifact_limit['limit']}`: {res.describe()}"


def test_log_not_written_leaves_no_artifact_event_and_no_partial_file(artifact_limit):
    stored, files, verify = artifact_limit["stored_after_limit"], artifact_limit["files_after_limit"], artifact_limit["verify_after_limit"]
    assert not stored and not files and verify.code == 0, f"{len(stored)} ArtifactStored, files {files}, verify {verify.code}"


def test_retrying_record_phase_once_space_is_back_keeps_the_log_once(artifact_limit):
    """The error says to free space and retry: the retry must keep the log, once."""
    retry = artifact_limit["retry"]
    assert retry.code == 0 and len(artifact_limit["stored_after_retry"]) == 1, \
        f"{retry.describe()}; {len(artifact_limit['stored_after_retry'])} ArtifactStored"


# --------------------------------------------------------------------------------------------
# (c) a real ENOSPC on a 3 MiB tmpfs


@pytest.fixture(scope="module")
def tmpfs(workdir):
    """A 3 MiB tmpfs mounted for the scenario and unmounted after it; skipped when it cannot be."""
    mount = os.path.join(workdir, "tmpfs")
    os.makedirs(mount)
    if os.geteuid() != 0:
        pytest.skip("the tmpfs ENOSPC checks need root (mount -t tmpfs): not root")
    if not shutil.which("mount"):
        pytest.skip("the tmpfs ENOSPC checks need the mount command")
    m = run_process(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mount], timeout=20)
    if m.code != 0:
        pytest.skip(f"mount -t tmpfs refused: {m.stderr.strip()[:120]}")
    yield mount
    run_process(["umount", "-l", mount], timeout=20)


def fill_disk(path, leave_bytes):
    """Writes a filler file on the file system of `path` until about `leave_bytes` are free."""
    filler = os.path.join(path, "filler")
    st = os.statvfs(path)
    size = max(0, st.f_bavail * st.f_frsize - leave_bytes)
    with open(filler, "ab") as f:
        try:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
        except OSError:
            pass
    return filler


@pytest.fixture(scope="module")
def ledger_fills_tmpfs(faults, shiplog, tmpfs):
    """append-loop until the tmpfs is full, then `record begin` on the full disk; removed after."""
    rng = faults.rng(SCENARIO + ":c1")
    db = shiplog.init(os.path.join(tmpfs, "c1", "ledger.db"))
    s = {"loop": shiplog.run(["debug", "append-loop", "--db", db, "--stream", "fill", "--count", 100_000,
                              "--payload-bytes", 16_000], timeout=faults.timeout * 2)}
    s["acknowledged"] = [line.split() for line in s["loop"].stdout.splitlines() if line.strip()]
    s["begin"] = shiplog.run(["record", "begin", "--db", db, "--env", "staging", "--sha", random_sha(rng)])
    s["verify"] = shiplog.run(["verify", "--db", db])
    s["after"] = events_of(shiplog, db) if s["verify"].code == 0 else []
    shutil.rmtree(os.path.join(tmpfs, "c1"), ignore_errors=True)
    return s


def test_tmpfs_append_loop_fills_it_and_stops_with_73(ledger_fills_tmpfs):
    loop = ledger_fills_tmpfs["loop"]
    assert loop.code == 73 and says_no_space(loop), f"{len(ledger_fills_tmpfs['acknowledged'])} appends; {loop.describe()}"


def test_tmpfs_full_record_begin_succeeds_or_exits_73(ledger_fills_tmpfs):
    res = ledger_fills_tmpfs["begin"]
    assert res.code in (0, 73) and (res.code == 0 or says_no_space(res)), res.describe()


def test_tmpfs_full_ledger_verifies_and_holds_exactly_the_acknowledged_appends(ledger_fills_tmpfs):
    after, acknowledged, verify = ledger_fills_tmpfs["after"], ledger_fills_tmpfs["acknowledged"], ledger_fills_tmpfs["verify"]
    by_position = {e["position"]: e["event_id"] for e in after}
    lost = [p for p, i in acknowledged if by_position.get(int(p)) != i]
    fill = sum(1 for e in after if e["stream"] == "fill")
    assert verify.code == 0 and not lost and fill == len(acknowledged), \
        f"verify {verify.describe()}; {len(lost)} lost; {fill} stored for {len(acknowledged)}"


@pytest.fixture(scope="module")
def artifacts_on_full_tmpfs(faults, shiplog, workdir, tmpfs):
    """Artifacts on the tmpfs, ledger elsewhere: `record phase --log` with 64 KiB free, `record
    finish` with none free, then `record finish` again once space is back."""
    rng = faults.rng(SCENARIO + ":c2")
    db = shiplog.init(os.path.join(workdir, "c2", "ledger.db"))
    artifacts = os.path.join(tmpfs, "c2-artifacts")
    os.makedirs(artifacts)
    deployment_id = shiplog.run(["record", "begin", "--db", db, "--env", "staging", "--sha", random_sha(rng),
                                 "--services", "api"]).stdout.strip()
    log = os.path.join(workdir, "c2", "deploy.log")
    with open(log, "wb") as f:
        f.write(os.urandom(1 << 20))
    filler = fill_disk(tmpfs, 64 * 1024)
    s = {"phase": shiplog.run(["record", "phase", deployment_id, "deploy", "--db", db, "--status", "succeeded", "--log", log,
                               "--artifacts-dir", artifacts])}
    fill_disk(tmpfs, 0)
    finish = ["record", "finish", deployment_id, "--db", db, "--status", "succeeded", "--artifacts-dir", artifacts]
    s["finish"] = shiplog.run(finish)
    os.unlink(filler)
    s["retry"] = shiplog.run(finish)
    timeline = deployment_timeline(shiplog, db, deployment_id)
    s["types"] = [e["type"] for e in timeline["timeline"]]
    s["names"] = [e["data"]["name"] for e in timeline["timeline"] if e["type"] == "ArtifactStored"]
    s["expected_names"] = [f"deployment-record-{deployment_id}"]
    s["temps"] = [n for n in os.listdir(artifacts) if n.startswith(".")]
    s["verify"] = shiplog.run(["verify", "--db", db])
    return s


def test_tmpfs_64_kib_free_record_phase_log_exits_73(artifacts_on_full_tmpfs):
    res = artifacts_on_full_tmpfs["phase"]
    assert res.code == 73 and says_no_space(res), f"`record phase --log` of 1 MiB: {res.describe()}"


def test_tmpfs_full_record_finish_cannot_keep_the_record_exits_73(artifacts_on_full_tmpfs):
    res = artifacts_on_full_tmpfs["finish"]
    assert res.code == 73 and says_no_space(res), res.describe()


def test_space_back_record_finish_keeps_the_record_once(artifacts_on_full_tmpfs):
    """The retried `record finish` keeps the record once, the outcome stays recorded once, no
    partial files are left, the ledger verifies."""
    s = artifacts_on_full_tmpfs
    succeeded = s["types"].count("DeploymentSucceeded")
    assert s["retry"].code == 0 and succeeded == 1 and s["names"] == s["expected_names"] and not s["temps"] \
        and s["verify"].code == 0, (f"retry {s['retry'].describe()}; {succeeded} DeploymentSucceeded; artifacts {s['names']}; "
                                    f"temp files {s['temps']}; verify {s['verify'].code}")


def count_events(shiplog, db, deployment_id):
    res = shiplog.run(["events", "list", "--db", db, "--stream", f"deployment-{deployment_id}"])
    return len(res.stdout.splitlines()) if res.code == 0 else "?"


def deploy_on_full_disk(faults, shiplog, staging, workdir, mount, name, where, leave, rng):
    """Runs a deploy with `leave` bytes free on the tmpfs holding its logs ("logs") or its
    ledger, artifacts and logs ("all"); frees the space; resumes (or deploys again, if
    nothing was recorded). Returns how the first run ended, and the problems found."""
    problems = []
    work = os.path.join(mount, name)
    os.makedirs(work)
    db = os.path.join(work if where == "all" else os.path.join(workdir, "c3-" + name), "ledger.db")
    env = staging(os.path.join(workdir, "c3"), f"full-{name}", db)
    environ = env.env(extra={"DEPLOYMENT_LOG_DIR": os.path.join(work, "logs")})
    try:
        shiplog.run(["init", "--db", db])
        filler = fill_disk(mount, leave)
        sha = random_sha(rng)
        first = shiplog.run(["deploy", "--config", env.pipelines["rerun"], "--sha", sha], env=environ, cwd=env.dir)
        found = ID_LINE.findall(first.stdout)
        ending = f"{leave // 1024} KiB free: exit {first.code}" + (
            f" after {count_events(shiplog, db, found[0])} events" if found and first.code else "")
        if first.code not in (0, 73) or (first.code == 73 and not says_no_space(first)) or crash_problem(first):
            problems.append(f"deploy with {leave // 1024} KiB free: {first.describe()}")
        os.unlink(filler)
        if first.code != 0:
            # Space is back: the deployment resumes if it was recorded, else a new deploy runs.
            args = ["resume", found[0]] if found else ["deploy", "--sha", sha]
            again = shiplog.run(args + ["--config", env.pipelines["rerun"]], env=environ, cwd=env.dir)
            if again.code != 0:
                problems.append(f"{args[0]} after freeing space: {again.describe()}")
            found = found or ID_LINE.findall(again.stdout)
        if found:
            timeline = deployment_timeline(shiplog, db, found[0])
            if timeline["record"]["status"] != "success":
                problems.append(f"{found[0]} ended {timeline['record']['status']}")
            problems += step_run_problems(timeline, env.counters(found[0]), SERVICES)
        verify = shiplog.run(["verify", "--db", db])
        if verify.code != 0:
            problems.append(f"verify: {verify.describe()}")
        return ending, problems
    finally:
        env.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def full_disk_deploy(faults, shiplog, staging, workdir, tmpfs, ledger_fills_tmpfs, artifacts_on_full_tmpfs):
    """deploy_on_full_disk, bound to this scenario's tmpfs (after the ledger and artifact checks)."""
    rng = faults.rng(SCENARIO + ":c3")

    def run(name, where, leave):
        return deploy_on_full_disk(faults, shiplog, staging, workdir, tmpfs, name, where, leave, rng)

    return run


def test_step_logs_on_full_tmpfs_deploy_exits_73_then_resumes(faults, full_disk_deploy):
    """Step logs on a full tmpfs, ledger elsewhere: exit 73 with a no-space error; once space is
    back `resume` finishes, no step ran twice, the ledger verifies."""
    ending, problems = full_disk_deploy("logs", "logs", 0)
    faults.note(SCENARIO, f"step logs on a full tmpfs: {ending}")
    assert not problems, f"{ending}: " + "; ".join(problems[:4])


def test_ledger_and_logs_on_tmpfs_with_8_kib_free_deploy_exits_73_then_resumes(faults, full_disk_deploy):
    ending, problems = full_disk_deploy("tight", "all", 8 * 1024)
    faults.note(SCENARIO, f"ledger, artifacts and logs on a tmpfs: {ending}")
    assert not problems, f"{ending}: " + "; ".join(problems[:4])


def test_deploys_with_random_free_space_succeed_or_exit_73_then_resume(faults, full_disk_deploy):
    """3 (quick) or 10 deploys with 16–1,600 KiB free, so the disk fills at any point of a
    deployment, or not at all: success or exit 73 with a no-space error; once space is back
    `resume` finishes, no step ran twice, the ledger verifies."""
    rng = faults.rng(SCENARIO + ":c3-free")
    endings, problems = [], []
    for n in range(faults.size(3, 10)):
        ending, found = full_disk_deploy(f"r{n}", "all", rng.randint(16, 1600) * 1024)
        endings.append(ending)
        problems += found
    faults.note(SCENARIO, "deploys on a tmpfs with 16–1,600 KiB free: " + "; ".join(endings))
    assert not problems, "; ".join(problems[:4])
