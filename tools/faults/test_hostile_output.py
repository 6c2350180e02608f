"""Scenario 6, hostile-output: secrets and hostile text (terminal control sequences, forged
lines, HTML and Markdown) typed into every free-text field of recorded and run deployments.
No secret reaches any output, file or the ledger; nothing typed acts on a terminal, breaks
JSON, or forges a $GITHUB_OUTPUT entry or job-summary markup. docs/FAULTS.md says what each
check protects."""

import json
import os
import re

import pytest

from processes import ALLOWED_CODES, crash_problem
from staging import random_sha

SCENARIO = "hostile-output"

# The characters that act on a terminal instead of printing: C0, DEL, C1, the Unicode line and
# paragraph separators, and the bidirectional formatting characters.
ACTIVE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Hostile pieces of text: terminal control sequences, forged lines (an output entry, a GitHub
# workflow command, Shiplog's own error prefix), HTML and Markdown for the job summary.
HOSTILE_PIECES = ["\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\rshiplog: all good", "\x07", "\x9b31m", "\x7f", "\u202etxet",
                  "\ndeployment-id=forged\n", "\n::set-output name=deployment-id::forged\n", "\n## forged heading\n",
                  "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "| x | y |", "```", "~~~",
                  "[link](http://evil.example)", "![i](http://evil.example/i.png)", "**bold**", "$x$", "\t", "\u2028"]


@pytest.fixture(scope="module")
def hostile(faults, shiplog, workdir):
    """Recorded and run deployments with hostile fields, then every reader and errors that echo
    a hostile argument; returns every run with what the checks compare it to."""
    rng = faults.rng(SCENARIO)
    base = workdir
    sh = shiplog
    db = sh.init(os.path.join(base, "ledger.db"))

    def word(n):
        return "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(n))

    # Random secrets: named by SHIPLOG_SECRETS, a staging-workflow secret with surrounding
    # whitespace, and the pipeline's own secret. Their random cores must never appear anywhere.
    cores = {"FAULTS_TOKEN": "tok" + word(16), "STAGING_KEY": "key" + word(16), "STAGING_DATABASE_URL": "pw" + word(16)}
    secrets = {"FAULTS_TOKEN": cores["FAULTS_TOKEN"], "STAGING_KEY": "  " + cores["STAGING_KEY"] + "\n",
               "STAGING_DATABASE_URL": f"postgresql://deploy:{cores['STAGING_DATABASE_URL']}@127.0.0.1/staging"}
    typed_forms = [secrets["FAULTS_TOKEN"], secrets["STAGING_KEY"], secrets["STAGING_KEY"].strip(), secrets["STAGING_DATABASE_URL"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPLOG_", "GITHUB_", "HEALTH_CHECK_", "STAGING_"))}
    env.update(secrets, SHIPLOG_SECRETS="FAULTS_TOKEN", SHIPLOG_DB=db, USER="faults")

    def hostile(secret=True):
        parts = [rng.choice(HOSTILE_PIECES) for _ in range(rng.randint(1, 4))]
        if secret:
            parts.insert(rng.randint(0, len(parts)), rng.choice(typed_forms))
        return "fix " + "".join(parts)

    def redacted(text, names):
        """What Shiplog records for `text`: each secret form (value, lines, trimmed) replaced, longest first."""
        forms = []
        for name in names:
            value = secrets[name]
            candidates = [value] + (value.splitlines() if "\n" in value else [])
            candidates += [c.strip() for c in candidates if c.strip() != c]
            forms += [(c, name) for c in candidates if len(c.strip()) >= 4 and c not in [f for f, _ in forms]]
        forms.sort(key=lambda form: -len(form[0].encode()))
        out, i = [], 0
        while i < len(text):
            for form, name in forms:
                if text.startswith(form, i):
                    out.append(f"[redacted:{name}]")
                    i += len(form)
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    runs = []  # (kind, label, Result): kind "human" or "json"

    def run(kind, label, args, extra=None):
        res = sh.run(args, env=dict(env, **(extra or {})), cwd=base)
        runs.append((kind, label, res))
        return res

    # Recorded deployments: every free-text field hostile, most holding a secret.
    typed = {}  # deployment id -> (ref, triggered by)
    environments = set()
    for n in range(faults.size(6, 20)):
        name = f"hostile{n % 3}"
        environments.add(name)
        ref, by = hostile(), hostile()
        res = run("human", "record begin", ["record", "begin", "--env", name, "--sha", random_sha(rng), "--ref", ref,
                                            "--triggered-by", by, "--services", "api-gateway"])
        deployment = res.stdout.strip()
        if res.code != 0 or not re.fullmatch(r"\d+-[0-9a-f]{12}", deployment):
            continue
        typed[deployment] = (ref, by)
        path = rng.randrange(4)
        if path == 0:
            run("human", "record phase", ["record", "phase", deployment, "deploy", "--status", "succeeded"])
            run("human", "record health", ["record", "health", deployment, "api_gateway", "--status", "unhealthy",
                                           "--reason", hostile()])
            run("human", "record finish", ["record", "finish", deployment, "--status", "failed", "--reason", hostile()])
        elif path == 1:
            run("human", "record phase", ["record", "phase", deployment, "migrate", "--status", "failed", "--reason", hostile()])
            run("json", "record finish --json", ["record", "finish", deployment, "--status", "failed", "--json"])
        elif path == 2:
            run("human", "unlock", ["unlock", "--env", name, "--reason", hostile(), "--by", hostile()])
        else:
            run("human", "record phase", ["record", "phase", deployment, "deploy", "--status", "succeeded"])
            run("human", "record finish", ["record", "finish", deployment, "--status", "succeeded"])
        if path != 2 and rng.random() < 0.5:
            run("human", "mark-bad", ["mark-bad", deployment, "--reason", hostile(), "--by", hostile()])

    # Run deployments: the step prints the secrets and control sequences; --ref and
    # --triggered-by hostile; the GitHub Actions output file and job summary written.
    pipeline = os.path.join(base, "shiplog.yml")
    with open(pipeline, "w") as f:
        f.write("environment: hostile-run\nservices: [api]\nsecrets: [STAGING_DATABASE_URL]\n"
                "deploy: { run: 'echo \"db $STAGING_DATABASE_URL key $STAGING_KEY tok $FAULTS_TOKEN\"; "
                "printf \"\\033]0;pwned\\007\\r\\n::set-output name=x::y\\n\"' }\n"
                "health: { stabilize: 0s, checks: [ { name: api, run: 'echo \"checking $FAULTS_TOKEN\"' } ] }\n"
                "artifacts: { dir: logs }\n")
    outputs, summary = os.path.join(base, "github-output"), os.path.join(base, "step-summary.md")
    ran = []
    for _ in range(faults.size(2, 6)):
        ref, by = hostile(), hostile()
        before = open(outputs).read() if os.path.exists(outputs) else ""
        res = run("human", "deploy", ["deploy", "--config", pipeline, "--sha", random_sha(rng), "--ref", ref,
                                      "--triggered-by", by, "--verbose"],
                  extra={"GITHUB_OUTPUT": outputs, "GITHUB_STEP_SUMMARY": summary})
        after = open(outputs).read() if os.path.exists(outputs) else ""
        new_ids = re.findall(r"^deployment-id=(\d+-[0-9a-f]{12})$", after[len(before):], re.M)
        if res.code == 0 and len(new_ids) == 1:
            typed[new_ids[0]] = (ref, by)
            ran.append(new_ids[0])

    # Everything a person or a program reads back.
    for deployment in typed:
        run("human", "show", ["show", deployment])
        run("json", "show --json", ["show", deployment, "--json"])
    for name in sorted(environments) + ["hostile-run"]:
        run("human", "last-stable --explain", ["last-stable", "--env", name, "--explain"])
        run("json", "last-stable --explain --json", ["last-stable", "--env", name, "--explain", "--json"])
        run("human", "status", ["status", "--env", name])
    run("human", "history", ["history"])
    run("human", "events list", ["events", "list"])
    run("human", "artifacts list", ["artifacts", "list"])
    history = run("json", "history --json", ["history", "--json"])
    run("json", "events list --json", ["events", "list", "--json"])
    run("json", "export --events", ["export", "--events"])
    run("json", "export --format json", ["export", "--format", "json"])
    # Errors that echo what was typed, from Shiplog and from the argument parser.
    run("human", "show UNKNOWN", ["show", "1-" + hostile()])
    run("human", "history --status HOSTILE", ["history", "--status", hostile()])
    run("human", "record begin --sha HOSTILE", ["record", "begin", "--env", "hostile0", "--sha", hostile()])
    faults.note(SCENARIO, f"{len(runs)} commands, {len(typed)} deployments ({len(ran)} run)")
    return {"runs": runs, "cores": cores, "base": base, "pipeline": pipeline, "typed": typed, "ran": ran, "history": history,
            "outputs": outputs, "summary": summary, "redacted": redacted, "db": db}


def test_no_command_crashes_or_ends_with_an_unexpected_exit(hostile):
    crashes = [f"{label}: {crash_problem(res) or f'exit {res.code}'}" for _, label, res in hostile["runs"]
               if crash_problem(res) or res.code not in ALLOWED_CODES]
    assert not crashes, f"{len(crashes)} of {len(hostile['runs'])}: " + " | ".join(crashes[:4])


def test_no_secret_in_any_output_or_file(faults, hostile):
    """Not in any stdout or stderr, nor in any file under the scenario's directory read as raw
    bytes: the SQLite file and its WAL, step logs, artifacts, the output file and the job summary."""
    leaks = []
    for _, label, res in hostile["runs"]:
        for core in hostile["cores"].values():
            if core.encode() in res.out or core.encode() in res.err:
                leaks.append(f"{label} printed {core[:3]}…")
    files = 0
    for directory, _, names in os.walk(hostile["base"]):
        for file_name in names:
            path = os.path.join(directory, file_name)
            if path == hostile["pipeline"]:
                continue
            files += 1
            with open(path, "rb") as f:
                data = f.read()
            leaks += [f"{os.path.relpath(path, hostile['base'])} holds {core[:3]}…" for core in hostile["cores"].values()
                      if core.encode() in data]
    faults.note(SCENARIO, f"{files} files searched for the secrets")
    assert not leaks and files > 3, f"{files} files; " + " | ".join(sorted(set(leaks))[:5])


def test_terminal_output_shows_control_characters_as_escapes(hostile):
    """Human-readable output holds no character that acts on a terminal (tabs only in the
    tab-separated formats)."""
    active = []
    for kind, label, res in hostile["runs"]:
        if kind != "human":
            continue
        tabs = label in ("last-stable --explain", "events list")
        for stream, text in (("stdout", res.stdout), ("stderr", res.stderr)):
            found = {hex(ord(c)) for c in ACTIVE_CHARS.findall(text) if c != "\n" and not (tabs and c == "\t")}
            if found:
                active.append(f"{label} {stream}: {', '.join(sorted(found))}")
    assert not active, " | ".join(active[:4])


def test_json_output_is_escaped_and_parses(hostile):
    bad_json = []
    for kind, label, res in hostile["runs"]:
        if kind != "json" or res.code != 0:
            continue
        found = {hex(ord(c)) for c in ACTIVE_CHARS.findall(res.stdout) if c != "\n"}
        if found:
            bad_json.append(f"{label}: raw {', '.join(sorted(found))}")
        try:
            if label == "export --format json":
                json.loads(res.stdout)
            else:
                [json.loads(line) for line in res.stdout.split("\n") if line.strip()]
        except ValueError as error:
            bad_json.append(f"{label}: {error}")
    assert not bad_json, " | ".join(bad_json[:4])


def test_refs_and_triggered_by_read_back_as_typed_with_secrets_redacted(hostile):
    """Every ref and triggered-by reads back from `history --json` exactly as typed, with only
    the secrets replaced by [redacted:NAME] (computed here by an independent redactor)."""
    names = ["STAGING_DATABASE_URL", "STAGING_KEY", "FAULTS_TOKEN"]
    redacted = hostile["redacted"]
    records = {r["deployment_id"]: r for r in (json.loads(line) for line in hostile["history"].stdout.split("\n") if line.strip())}
    altered = []
    for deployment, (ref, by) in hostile["typed"].items():
        r = records.get(deployment)
        if r is None:
            altered.append(f"{deployment} missing from history")
        elif r["git_ref"] != redacted(ref, names) or r["triggered_by"] != redacted(by, names):
            altered.append(f"{deployment}: ref {r['git_ref']!r}, expected {redacted(ref, names)!r}")
    assert not altered and hostile["typed"], f"{len(hostile['typed'])} typed: " + " | ".join(altered[:3])


def test_github_output_holds_one_deployment_id_per_deploy_nothing_forged(hostile):
    outputs, ran = hostile["outputs"], hostile["ran"]
    entries, index = [], 0
    lines = open(outputs).read().split("\n")[:-1] if os.path.exists(outputs) else []
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1) if delimiter in lines[index + 1:] else len(lines)
            entries.append((name, "\n".join(lines[index + 1:end])))
            index = end + 1
        else:
            entries.append(tuple(line.split("=", 1)) if "=" in line else ("?", line))
            index += 1
    # Each deploy writes its deployment-id first, then what the action documents, nothing else.
    assert [v for n, v in entries if n == "deployment-id"] == ran and ran, f"{len(ran)} deploys; entries {entries[:4]}"
    known = {"deployment-id", "status", "reason", "rollback-target", "rolled-back-to"}
    assert all(n in known for n, _ in entries), f"unexpected outputs: {[n for n, _ in entries if n not in known][:4]}"
    statuses = {"success", "failed", "rolled_back", "abandoned", "running"}
    assert all(v in statuses for n, v in entries if n == "status"), f"statuses: {[v for n, v in entries if n == 'status'][:4]}"


def test_job_summary_renders_every_field_as_text(hostile):
    """Per deployment one heading, table rows of exactly two cells with no markup, and a record
    code block no field can close."""
    problems = []
    summary = hostile["summary"]
    text = open(summary).read() if os.path.exists(summary) else ""
    for section in text.split("### Deployment ")[1:]:
        body = section.split("\n")
        fence_at = next((i for i, line in enumerate(body) if line.startswith("```")), None)
        if fence_at is None:
            problems.append("no code block")
            continue
        table, block = body[1:fence_at], body[fence_at:]
        for row in table:
            if row and (not row.startswith("|") or row.count("|") != 3):
                problems.append(f"row {row[:60]!r}")
            if re.search(r"<[a-z/!]|\]\(|\*\*|`|~~|\$x\$", row):
                problems.append(f"markup in {row[:60]!r}")
        fence = block[0].rstrip("json")
        closing = [i for i, line in enumerate(block) if i > 0 and line.startswith("`")]
        if closing[:1] != [2] or block[2] != fence:
            problems.append("the record's code block is not one line between equal fences")
        if any(line.startswith("#") for line in body[1:]):
            problems.append("a forged heading")
    found = {hex(ord(c)) for c in ACTIVE_CHARS.findall(text) if c != "\n"}
    if found:
        problems.append("control characters " + ", ".join(sorted(found)))
    assert not problems and text.count("### Deployment ") == len(hostile["ran"]), \
        f"{text.count('### Deployment ')} sections for {len(hostile['ran'])} deploys; " + " | ".join(problems[:4])


def test_ledger_verifies(hostile, shiplog):
    verify = shiplog.run(["verify", "--db", hostile["db"]])
    assert verify.code == 0, verify.describe()
