"""A local staging environment for the runner (a state directory, a health server, pipeline
files, per-step counters) and what a deployment's events must show about its steps."""

import hashlib
import json
import os
import re

from phases import PHASE_EVENTS

SERVICES = ["api-gateway", "auth-service"]

# The pipeline the kill storm, the concurrent deploys and the full-disk deploys run: every
# command step appends its $SHIPLOG_ATTEMPT to a per-deployment, per-step file, so the suite can
# count the runs of each step; a version starting with "bad" breaks the environment's health
# endpoints.
PIPELINE = r"""environment: @ENV@
services: [api-gateway, auth-service]
secrets: [STAGING_DATABASE_URL]
preflight:
  - { name: tests, run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.preflight"; sleep 0.05' }
migrate: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.migrate"; sleep 0.1; echo "migrating with $STAGING_DATABASE_URL"', on_interrupt: @MIGRATE@ }
build: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.build"; sleep 0.2; echo built' }
image: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.image"; sleep 0.1; echo pushed' }
deploy: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.deploy"; echo "$SHIPLOG_VERSION" > "$STATE/current"; case "$SHIPLOG_VERSION" in bad*) echo broken > "$STATE/health";; *) echo ok > "$STATE/health";; esac; sleep 0.05' }
health:
  stabilize: 30s
  retries: 3
  interval: 10s
  timeout: 2s
  checks:
    - { name: api_gateway, url: "http://127.0.0.1:${STAGING_PORT}/api/health" }
    - { name: auth_service, url: "http://127.0.0.1:${STAGING_PORT}/auth/health" }
    - { name: database, run: 'test -f "$STATE/current"' }
  smoke: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.smoke"; sleep 0.05' }
rollback: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/$SHIPLOG_DEPLOYMENT_ID.rollback"; echo "$SHIPLOG_ROLLBACK_VERSION" > "$STATE/current"; echo ok > "$STATE/health"; sleep 0.05' }
notify: { slack_webhook_env: SLACK_WEBHOOK }
artifacts: { dir: logs, retention: 365d }
"""

# The deployment id `shiplog deploy` and `resume` print as they start.
ID_LINE = re.compile(r"^[▶↻] (\d+-[0-9a-f]+):", re.M)


class Environment:
    """One environment: a state directory, a health server (`server`, started by the caller),
    pipeline files for `on_interrupt: rerun` and `fail`, and step counters."""

    def __init__(self, directory, name, db, start_server):
        self.name, self.db, self.dir = name, db, directory
        for sub in ("state", "runs", "out"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.state = os.path.join(self.dir, "state")
        self.runs = os.path.join(self.dir, "runs")
        with open(os.path.join(self.state, "health"), "w") as f:
            f.write("ok\n")
        self.server = start_server(self.dir, os.path.join(self.state, "health"))
        self.pipelines = {}
        for policy in ("rerun", "fail"):
            path = os.path.join(self.dir, f"shiplog-{policy}.yml")
            with open(path, "w") as f:
                f.write(PIPELINE.replace("@ENV@", name).replace("@MIGRATE@", policy))
            self.pipelines[policy] = path

    def env(self, tag=None, extra=None):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("SHIPLOG_") or k.startswith("HEALTH_CHECK_") or k == "DEPLOYMENT_LOG_DIR"]:
            del env[key]
        env.update({
            "STATE": self.state, "RUNS": self.runs, "STAGING_PORT": str(self.server.port),
            "STAGING_DATABASE_URL": "postgresql://deploy:faults-db-secret@127.0.0.1:5432/staging",
            "SLACK_WEBHOOK": f"http://127.0.0.1:{self.server.port}/hook",
            "SHIPLOG_HEALTH_STABILIZE": "0.3", "HEALTH_CHECK_INTERVAL": "0.2", "HEALTH_CHECK_RETRIES": "3",
            "SHIPLOG_DB": self.db, "USER": "faults",
        })
        if tag:
            env["FAULTS_TAG"] = tag
        env.update(extra or {})
        return env

    def counter(self, deployment_id, phase):
        path = os.path.join(self.runs, f"{deployment_id}.{phase}")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]

    def counters(self, deployment_id):
        return {phase: self.counter(deployment_id, phase) for phase in PHASE_EVENTS}

    def stop(self):
        self.server.stop()


# --------------------------------------------------------------------------------------------
# Reading a ledger


def events_of(sh, db, stream=None):
    args = ["events", "list", "--db", db, "--json"] + (["--stream", stream] if stream else [])
    res = sh.run(args)
    if res.code != 0:
        raise RuntimeError(f"events list failed: {res.describe()}")
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def deployment_timeline(sh, db, deployment_id):
    res = sh.run(["show", deployment_id, "--db", db, "--json"])
    if res.code != 0:
        raise RuntimeError(f"show {deployment_id}: {res.describe()}")
    return json.loads(res.stdout)


def history(sh, db, *args):
    res = sh.run(["history", "--db", db, "--json", *args])
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def random_sha(rng, prefix=""):
    return (prefix + "".join(rng.choice("0123456789abcdef") for _ in range(40)))[:40]


# --------------------------------------------------------------------------------------------
# What a deployment's events must show


def step_run_problems(timeline, counters, services):
    """No completed step's command ran twice: per phase, every line in its counter file is an
    attempt the ledger started, lines are distinct and in order, at most one outcome was
    recorded, and an outcome recorded after a run belongs to the last attempt, which ran once."""
    problems = []
    events = timeline["timeline"]
    for phase, (started_type, succeeded_type, failed_type) in PHASE_EVENTS.items():
        starts = [e["data"].get("attempt") for e in events if e["type"] == started_type]
        lines = [int(x) if x.isdigit() else x for x in counters.get(phase, [])]
        if starts != list(range(1, len(starts) + 1)):
            problems.append(f"{phase}: started attempts {starts} are not 1…n")
        if phase == "deploy":
            deployed = [e["data"].get("service") for e in events if e["type"] == succeeded_type]
            if deployed and sorted(deployed) != sorted(services):
                problems.append(f"deploy: ServiceDeployed for {deployed}, expected each of {services} once")
            failures = [e for e in events if e["type"] == failed_type]
            outcomes = (1 if deployed else 0) + len(failures)
            interrupted = any("interrupted" in (e["data"].get("reason") or "") for e in failures)
        else:
            outcome_events = [e for e in events if e["type"] in (succeeded_type, failed_type)]
            outcomes = len(outcome_events)
            interrupted = any("interrupted" in (e["data"].get("reason") or "") for e in outcome_events)
        if outcomes > 1:
            problems.append(f"{phase}: {outcomes} outcome events")
        if len(set(lines)) != len(lines) or lines != sorted(lines, key=lambda v: (not isinstance(v, int), v)):
            problems.append(f"{phase}: attempts {lines} ran more than once or out of order")
        unknown = [line for line in lines if line not in starts]
        if unknown:
            problems.append(f"{phase}: command ran as attempt(s) {unknown} that the ledger never started (started: {starts})")
        if outcomes == 1 and not interrupted and starts:
            if not lines or lines[-1] != starts[-1]:
                problems.append(f"{phase}: outcome recorded for attempt {starts[-1]}, but its command ran as {lines}")
        if outcomes == 1 and interrupted and len(lines) > len(starts):
            problems.append(f"{phase}: failed as interrupted, yet ran {lines}")
    return problems


def artifact_problems(timeline, artifacts_dir, deployment_id):
    problems = []
    stored = [e["data"] for e in timeline["timeline"] if e["type"] == "ArtifactStored"]
    names = [a["name"] for a in stored]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"artifacts stored twice: {duplicates}")
    if names.count(f"deployment-record-{deployment_id}") != 1:
        problems.append("the deployment record artifact was not stored exactly once")
    for a in stored:
        path = os.path.join(artifacts_dir, a["sha256"])
        if not os.path.exists(path):
            problems.append(f"{a['name']}: file {a['sha256'][:12]}… missing")
        elif os.path.getsize(path) != a["size"] or sha256_file(path) != a["sha256"]:
            problems.append(f"{a['name']}: file content does not match its event")
    return problems
