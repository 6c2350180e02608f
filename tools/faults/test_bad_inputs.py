"""Scenario 4, bad-inputs: inputs nobody should have written — mutated and hand-made pipeline
files, mutated and re-chained import files, damaged copies of a ledger, invalid UTF-8, oversized
payloads. Every run must end with an allowed exit code and a clear error, never a crash or a
hang; counts per category are one test each. docs/FAULTS.md says what each check protects."""

import hashlib
import json
import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from hashchain import make_chain
from processes import ROOT, crash_problem, input_problem
from staging import deployment_timeline, events_of, random_sha

SCENARIO = "bad-inputs"
STAGING_PIPELINE = os.path.join(ROOT, "tools", "staging", "shiplog.yml")


# --------------------------------------------------------------------------------------------
# Fixtures and checks


@pytest.fixture(scope="module")
def pool():
    workers = max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as executor:
        yield executor


@pytest.fixture(scope="module")
def corpus(faults, shiplog, workdir):
    """A ledger of a few hundred events (append-loop events, recorded deployments with logs kept
    as artifacts, one marked bad) and its export. Every mutation is made on a copy or an input
    file: the last test checks the corpus is unchanged."""
    rng = faults.rng(SCENARIO + ":corpus")
    db = os.path.join(workdir, "corpus", "ledger.db")
    build_corpus(faults, db, rng, deployments=4 if faults.quick else 8, loop=250 if faults.quick else 400)
    export = os.path.join(workdir, "corpus", "events.ndjson")
    res = shiplog.run(["export", "--events", "--db", db, "--output", export])
    if res.code != 0:
        raise RuntimeError(f"corpus export: {res.describe()}")
    with open(export, "rb") as f:
        original = f.read()
    ids = [json.loads(r)["deployment_id"] for r in shiplog.run(["history", "--db", db, "--json"]).stdout.splitlines() if r.strip()]
    faults.note(SCENARIO, f"corpus: {len(original.splitlines())} events, {len(ids)} deployments with artifacts, "
                          f"{os.path.getsize(db) // 1024} KiB ledger; {max(2, os.cpu_count() or 2)} runs at a time")
    return {"db": db, "export": original, "lines": original.decode().splitlines(), "ids": ids}


def removing(directory):
    """The inputs are large (20 MB files, hundreds of ledger copies): those that exposed a
    problem were copied aside, and the random seed makes the rest again."""
    shutil.rmtree(directory, ignore_errors=True)


def test_pipeline_files(faults, pool, workdir):
    """Random mutations of tools/staging/shiplog.yml, hand-made hostile files, a missing file and
    a directory, through `shiplog validate`: no crash, no hang, clear errors."""
    try:
        cat = pipeline_category(faults, pool, faults.rng(SCENARIO + ":pipelines"), workdir, 60 * faults.size(1, 10))
    finally:
        removing(os.path.join(workdir, "pipelines"))
    assert not cat.problems, cat.summary()


@pytest.fixture(scope="module")
def imports(faults, pool, workdir, corpus):
    try:
        return import_category(faults, pool, faults.rng(SCENARIO + ":imports"), workdir, corpus["export"],
                               40 * faults.size(1, 10))
    finally:
        removing(os.path.join(workdir, "imports"))


def test_import_files(imports):
    """Mutated exports, hand-made files and re-chained files through `shiplog import`: exit 0 or
    65, never a crash; what is imported verifies and reads back as a prefix of the export (or
    exactly as written, when re-chained); a refused import leaves no event behind."""
    accepted, cat = imports
    assert not cat.problems, cat.summary()


def test_import_refuses_events_that_events_append_refuses(imports):
    """With a valid chain: an empty stream name, an empty type, an event id that is not a UUID,
    a recorded_at that is not a time."""
    accepted, cat = imports
    assert not accepted, f"imported with a valid chain: {', '.join(accepted)}"


def test_ledger_files(faults, pool, workdir, corpus):
    """Damaged copies of the corpus ledger through every reader and `events append`; a copy that
    still verifies must list exactly the original events."""
    try:
        cat = ledger_category(faults, pool, faults.rng(SCENARIO + ":ledgers"), workdir, corpus["db"], corpus["ids"],
                              corpus["lines"], 12 * faults.size(1, 10))
    finally:
        removing(os.path.join(workdir, "ledgers"))
    assert not cat.problems, cat.summary()


@pytest.fixture(scope="module")
def utf8(faults, workdir, corpus):
    return utf8_category(faults, workdir, corpus["db"], faults.rng(SCENARIO + ":utf8"))


def test_invalid_utf8(utf8):
    """7 invalid sequences in 10 arguments, a log file (kept byte for byte), an import line."""
    cat, path_problem, altered = utf8
    assert not cat.problems, cat.summary()


def test_invalid_utf8_in_db_path_names_that_very_file_or_is_refused(utf8):
    cat, path_problem, altered = utf8
    assert path_problem is None, path_problem


def test_invalid_utf8_in_an_argument_is_refused_not_recorded_altered(utf8):
    cat, path_problem, altered = utf8
    assert not altered, f"accepted and stored with U+FFFD in place of the bytes given: {', '.join(altered)}"


def test_oversized_payloads(faults, workdir):
    """Arguments of 128 KiB, deep and wide JSON, huge numbers, a 20 MiB log, imports with a 20 MB line."""
    try:
        cat = oversized_category(faults, workdir, faults.rng(SCENARIO + ":oversized"))
    finally:
        removing(os.path.join(workdir, "oversized"))
    assert not cat.problems, cat.summary()


def test_corpus_ledger_still_verifies_and_exports_the_same_events(shiplog, corpus):
    verify = shiplog.run(["verify", "--db", corpus["db"]])
    now = shiplog.run(["export", "--events", "--db", corpus["db"]]).out
    assert verify.code == 0 and now == corpus["export"], \
        f"verify {verify.code}, export {'same' if now == corpus['export'] else 'different'}"


# --------------------------------------------------------------------------------------------
# The inputs, by category


class Category:
    """Counts the inputs of one kind of bad input and what became of them."""

    def __init__(self, faults, name):
        self.faults, self.name = faults, name
        self.tried = 0
        self.codes = {}
        self.problems = []
        self.lock = threading.Lock()

    def record(self, res, label, problem=None, keep=None):
        problem = problem or input_problem(res)
        if self.faults.verbose:
            self.faults.note(SCENARIO, f"   {self.name} | {label} | exit {res.code} | {res.first_error_line()[:160]}")
        with self.lock:
            self.tried += 1
            key = "timeout" if res.timed_out else res.code
            self.codes[key] = self.codes.get(key, 0) + 1
            if problem:
                saved = self.faults.keep_input(self.name, keep) if keep is not None else None
                self.problems.append(f"{label}: {problem}" + (f" (input kept: {saved})" if saved else ""))
        return problem is None

    def fail(self, label, problem, keep=None):
        with self.lock:
            saved = self.faults.keep_input(self.name, keep) if keep is not None else None
            self.problems.append(f"{label}: {problem}" + (f" (input kept: {saved})" if saved else ""))

    def finish(self, what):
        """Notes what was tried and how each run ended; returns the category for the test to check."""
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(self.codes.items(), key=lambda kv: str(kv[0])))
        self.faults.note(SCENARIO, f"{self.name}: {self.tried} runs ({what}); exits {codes}")
        return self

    def summary(self):
        return f"{len(self.problems)} problem(s) in {self.tried} runs: " + " | ".join(self.problems[:4])


def mutate_bytes(rng, data, kinds):
    """One random mutation of a byte string, and a short description."""
    kind = rng.choice(kinds)
    d = bytearray(data)
    lines = data.split(b"\n")
    if kind == "flip":
        n = rng.randint(1, 4)
        for _ in range(n):
            if d:
                p = rng.randrange(len(d))
                d[p] ^= 1 << rng.randrange(8)
        return bytes(d), f"{n} bit flip(s)"
    if kind == "byte":
        p = rng.randrange(len(d))
        d[p] = rng.randrange(256)
        return bytes(d), f"byte {p} set"
    if kind == "truncate":
        p = rng.randrange(len(d) + 1)
        return bytes(d[:p]), f"truncated at {p}"
    if kind == "truncate-line":
        k = rng.randrange(len(lines))
        return b"\n".join(lines[:k]) + (b"\n" if k else b""), f"cut after line {k}"
    if kind == "delete-line":
        k = rng.randrange(len(lines))
        del lines[k]
        return b"\n".join(lines), f"line {k + 1} deleted"
    if kind == "duplicate-line":
        k = rng.randrange(len(lines))
        lines.insert(k, lines[k])
        return b"\n".join(lines), f"line {k + 1} duplicated"
    if kind == "swap-lines":
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[a], lines[b] = lines[b], lines[a]
        return b"\n".join(lines), f"lines {a + 1} and {b + 1} swapped"
    if kind == "insert":
        p = rng.randrange(len(d) + 1)
        junk = rng.choice([b"\xff\xfe", b"\xc3", b"\x00", b"{", b"}", b"]", b":", b"\"", b"- ", b"\t", b"&a ", b"*a", b"!!binary ",
                           b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\r", b"\\u0000", b"\\ud800", b"%YAML 9.9\n", b"---\n", b"...\n"])
        return bytes(d[:p]) + junk + bytes(d[p:]), f"{junk!r} inserted at {p}"
    if kind == "indent":
        k = rng.randrange(len(lines))
        lines[k] = b" " * rng.randint(1, 4) + lines[k]
        return b"\n".join(lines), f"line {k + 1} indented"
    raise ValueError(kind)


def hostile_pipelines():
    """Hand-made pipeline files that have broken parsers elsewhere."""
    valid = open(STAGING_PIPELINE, "rb").read()
    laughs = b"environment: s\nservices: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    laughs += b"secrets: &a1 [" + b", ".join([b"*a0"] * 10) + b"]\n"
    laughs += b"preflight: &a2 [" + b", ".join([b"*a1"] * 10) + b"]\n"
    laughs += b"health: { checks: [" + b", ".join([b"*a2"] * 10) + b"] }\ndeploy: { run: x }\n"
    return [
        ("empty file", b""),
        ("only a comment", b"# nothing\n"),
        ("NUL bytes", valid.replace(b"staging", b"stag\0ing", 1)),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + valid),
        ("UTF-16", valid.decode().encode("utf-16")),
        ("CRLF line endings", valid.replace(b"\n", b"\r\n")),
        ("invalid UTF-8 in a value", valid.replace(b"environment: staging", b"environment: stag\xff\xfeing")),
        ("invalid UTF-8 in a comment", valid.replace(b"# The staging", b"# The \xc3\x28 staging")),
        ("deep nesting", b"environment: s\nservices: " + b"[" * 50_000 + b"]" * 50_000 + b"\ndeploy: { run: x }\n"),
        ("deep mapping nesting", b"environment: s\nservices: [a]\ndeploy: " + b"{a: " * 20_000 + b"x" + b"}" * 20_000 + b"\n"),
        ("alias expansion", laughs),
        ("recursive alias", b"environment: s\nservices: &a [*a]\ndeploy: { run: x }\n"),
        ("20 MB comment", b"environment: s\nservices: [a]\ndeploy: { run: x }\n#" + b"x" * 20_000_000 + b"\n"),
        ("20 MB command", b"environment: s\nservices: [a]\ndeploy: { run: '" + b"x" * 20_000_000 + b"' }\n"),
        ("100,000 services", b"environment: s\nservices: [" + b", ".join(b"s%d" % i for i in range(100_000)) + b"]\ndeploy: { run: x }\n"),
        ("a YAML tag", b"environment: !!binary c3RhZ2luZw==\nservices: [a]\ndeploy: { run: x }\n"),
        ("two documents", valid + b"\n---\n" + valid),
        ("a sequence at the top", b"- environment: s\n"),
        ("huge numbers", b"environment: s\nservices: [a]\ndeploy: { run: x, timeout: 99999999999999999999999s }\n"
                         b"health: { retries: 99999999999999999999, interval: 1e308s, stabilize: -0s }\n"),
        ("NaN duration", b"environment: s\nservices: [a]\ndeploy: { run: x }\nhealth: { interval: .nan, stabilize: .inf }\n"),
        ("duplicate keys", b"environment: s\nenvironment: t\nservices: [a]\ndeploy: { run: x }\n"),
    ]




def build_corpus(faults, db, rng, deployments, loop):
    sh = faults.sh
    sh.init(db)
    sh.run(["debug", "append-loop", "--db", db, "--stream", "corpus", "--count", loop, "--payload-bytes", 400])
    logdir = os.path.dirname(db)
    log = os.path.join(logdir, "step.log")
    with open(log, "w") as f:
        f.write("step output\n" * 50)
    for n in range(deployments):
        begin = sh.run(["record", "begin", "--db", db, "--env", f"env{n % 3}", "--sha", random_sha(rng),
                        "--services", "api-gateway,auth-service"])
        deployment_id = begin.stdout.strip()
        for phase in ("preflight", "migrate", "build", "deploy"):
            sh.run(["record", "phase", deployment_id, phase, "--db", db, "--status", "succeeded", "--log", log])
        for check in ("api_gateway", "auth_service"):
            sh.run(["record", "health", deployment_id, check, "--db", db, "--status", "healthy", "--attempts", rng.randint(1, 3)])
        ending = rng.choice(["succeeded", "succeeded", "failed"])
        sh.run(["record", "finish", deployment_id, "--db", db, "--status", ending])
        if n == 1:
            sh.run(["mark-bad", deployment_id, "--db", db, "--reason", "faults corpus"])


def pipeline_category(faults, pool, rng, base, count):
    cat = Category(faults, "pipeline files")
    src = open(STAGING_PIPELINE, "rb").read()
    work = os.path.join(base, "pipelines")
    os.makedirs(work)
    env = dict(os.environ, STAGING_PORT="8080")
    kinds = ["flip", "byte", "truncate", "delete-line", "duplicate-line", "swap-lines", "insert", "indent"]
    inputs = [(f"mutation {n} ({desc})", data) for n, (data, desc) in
              enumerate(mutate_bytes(rng, src, kinds) for _ in range(count))]
    inputs += [(f"hostile: {name}", data) for name, data in hostile_pipelines()]

    def one(item):
        n, (label, data) = item
        path = os.path.join(work, f"p{n}.yml")
        with open(path, "wb") as f:
            f.write(data)
        res = faults.sh.run(["validate", "--config", path], env=env)
        cat.record(res, label, keep=(path, data))

    list(pool.map(one, enumerate(inputs)))
    for path, label in ((os.path.join(work, "missing.yml"), "a missing file"), (work, "a directory")):
        res = faults.sh.run(["validate", "--config", path], env=env)
        cat.record(res, label)
        if res.code == 0:
            cat.fail(label, "accepted")
    return cat.finish(f"{count} random mutations of tools/staging/shiplog.yml and {len(inputs) - count + 2} hand-made files, "
               "through `shiplog validate`")


def import_category(faults, pool, rng, base, original, count):
    cat = Category(faults, "import files")
    work = os.path.join(base, "imports")
    os.makedirs(work)
    original_lines = original.decode().splitlines()
    kinds = ["flip", "byte", "truncate", "truncate-line", "delete-line", "duplicate-line", "swap-lines", "insert"]
    inputs = [(f"mutation {n} ({desc})", data) for n, (data, desc) in
              enumerate(mutate_bytes(rng, original, kinds) for _ in range(count))]
    inputs += [("empty file", b""), ("CRLF line endings", original.replace(b"\n", b"\r\n")),
               ("blank lines between events", original.replace(b"\n", b"\n\n   \n")),
               ("not JSON at all", b"hello\n"), ("a JSON array", b"[" + b",".join(original.splitlines()) + b"]\n")]
    inputs += case_changed_imports(original_lines)
    inputs += rechained_imports(rng, original_lines, faults.size(8, 40))

    def one(item):
        n, (label, data, *owner) = item
        path = os.path.join(work, f"i{n}.ndjson")
        target = os.path.join(work, f"t{n}", "ledger.db")
        with open(path, "wb") as f:
            f.write(data)
        faults.sh.init(target)
        res = faults.sh.run(["import", path, "--db", target])
        # The file is readable and the target new: whatever is wrong is the file's content (exit 65).
        wrong_code = None if res.code in (0, 65) or crash_problem(res) else \
            f"refused with exit {res.code}, but a bad import file is exit 65: {res.first_error_line()[:200]!r}"
        ok = cat.record(res, label, problem=wrong_code, keep=(path, data))
        if not ok:
            return
        if res.code == 0:
            # Accepted: what was imported must be a prefix of the original export, unless the
            # input was re-chained on purpose (then it must read back as written and verify).
            back = faults.sh.run(["export", "--events", "--db", target])
            lines = back.stdout.splitlines()
            verify = faults.sh.run(["verify", "--db", target])
            if verify.code != 0:
                cat.fail(label, f"imported, but the result does not verify: {verify.describe()}", keep=(path, data))
            elif label.startswith("re-chained"):
                expected = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
                if [json.loads(line) for line in lines] != expected:
                    cat.fail(label, "imported events differ from the file", keep=(path, data))
                else:
                    reads = [["history", "--json"], ["events", "list", "--json"], ["export", "--format", "json"],
                             ["last-stable", "--env", "env0"], ["artifacts", "list"], ["status"], ["rebuild"]]
                    if owner and owner[0]:
                        reads += [["show", owner[0]], ["show", owner[0], "--json"], ["history", "--as-of", "50"]]
                    for args in reads:
                        r = faults.sh.run(args + ["--db", target])
                        cat.record(r, f"{label}, then {' '.join(args)}", keep=(path, data))
            elif lines != original_lines[:len(lines)]:
                cat.fail(label, f"an altered file was imported ({len(lines)} events, not a prefix of the export)",
                         keep=(path, data))
        else:
            # Refused: nothing at all was imported.
            listed = faults.sh.run(["events", "list", "--db", target, "--json"])
            if listed.code == 0 and listed.stdout.strip():
                cat.fail(label, f"refused with exit {res.code}, yet events were imported", keep=(path, data))
        shutil.rmtree(os.path.dirname(target), ignore_errors=True)

    list(pool.map(one, enumerate(inputs)))
    # Into a ledger that already holds events.
    full = faults.sh.init(os.path.join(work, "full", "ledger.db"))
    faults.sh.run(["events", "append", "--db", full, "--stream", "x", "--type", "T", "--data", "{}"])
    path = os.path.join(work, "original.ndjson")
    with open(path, "wb") as f:
        f.write(original)
    res = faults.sh.run(["import", path, "--db", full])
    cat.record(res, "import into a non-empty ledger", problem=None if res.code == 5 else f"exit {res.code}, expected 5")
    # Events `events append` refuses, with a valid chain: the import should refuse them too.
    accepted = []
    for name, change in (("an empty stream name", {"stream": ""}), ("an empty type", {"type": ""}),
                         ("an event id that is not a UUID", {"event_id": "not-a-uuid"}),
                         ("recorded_at that is not a time", {"recorded_at": "yesterday"})):
        rows = [dict(json.loads(line)) for line in original_lines]
        rows[0].update(change)
        for r in rows:
            r.pop("version", None)
        path = os.path.join(work, "refusable.ndjson")
        with open(path, "w") as f:
            f.write("\n".join(make_chain(rows)) + "\n")
        target = faults.sh.init(os.path.join(work, "refusable", name.replace(" ", "-"), "ledger.db"))
        res = faults.sh.run(["import", path, "--db", target])
        cat.record(res, f"re-chained: {name}", problem=None if res.code in (0, 65) else f"exit {res.code}, expected 65")
        if res.code == 0:
            accepted.append(name)
            for args in (["history", "--json"], ["events", "list", "--json"], ["export", "--events"], ["rebuild"],
                         ["history", "--as-of", "2026-01-01T00:00:30Z"], ["history", "--as-of", "3"], ["verify"]):
                cat.record(faults.sh.run(args + ["--db", target]), f"re-chained: {name}, then {' '.join(args)}")
    return accepted, cat.finish(f"{count} random mutations of a {len(original_lines)}-event export, hand-made files, and "
               "re-chained files with a valid hash chain but wrong contents, through `shiplog import`")


def case_changed_imports(original_lines):
    """Hex digits and UUIDs in capitals: the same value to a lenient reader, different bytes to the chain."""
    out = []
    for field, label in (("hash", "the last event's hash in capitals"), ("event_id", "an event id in capitals")):
        lines = list(original_lines)
        k = len(lines) - 1 if field == "hash" else len(lines) // 2
        e = json.loads(lines[k])
        e[field] = e[field].upper()
        lines[k] = json.dumps(e, separators=(",", ":"), ensure_ascii=False)
        out.append((label, ("\n".join(lines) + "\n").encode("utf-8")))
    return out


def rechained_imports(rng, original_lines, count):
    """Exports whose hash chain is valid but whose events are not what Shiplog writes:
    import must refuse them or take them, and every reader must then cope."""
    events = [json.loads(line) for line in original_lines]
    deployment_events = [e for e in events if e["stream"].startswith("deployment-")]
    out = []
    mutations = [
        ("unknown event type on a deployment stream", lambda e: dict(e, type="DeploymentTeleported")),
        ("data not an object", lambda e: dict(e, data="[1,2,3]")),
        ("data not JSON", lambda e: dict(e, data="{not json")),
        ("required field missing", lambda e: dict(e, data="{}")),
        ("field of the wrong type", lambda e: dict(e, data=re.sub(r'":"[^"]*"', '":12345', e["data"], count=1))),
        ("schema from the future", lambda e: dict(e, schema=99)),
        ("schema 0", lambda e: dict(e, schema=0)),
        ("recorded_at not a time", lambda e: dict(e, recorded_at="yesterday")),
        ("recorded_at in the year 9999", lambda e: dict(e, recorded_at="9999-12-31T23:59:59.999Z")),
        ("empty stream name", lambda e: dict(e, stream="")),
        ("empty type", lambda e: dict(e, type="")),
        ("event id not a UUID", lambda e: dict(e, event_id="not-a-uuid")),
        ("metadata not an object", lambda e: dict(e, metadata="7")),
        ("huge string in data", lambda e: dict(e, data=json.dumps(dict(json.loads(e["data"]), pad="x" * 2_000_000)))),
        ("deeply nested data", lambda e: dict(e, data='{"a":' + "[" * 5000 + "]" * 5000 + "}")),
        ("control characters in data", lambda e: dict(e, data='{"a":"\\u0000\\u001b[31m"}')),
        ("lone surrogate escape in data", lambda e: dict(e, data='{"a":"\\ud800"}')),
        ("version gap", lambda e: dict(e, version=e["version"] + 5)),
        ("deployment stream of another id", lambda e: dict(e, stream=e["stream"] + "x")),
        ("negative attempt", lambda e: dict(e, data=re.sub(r'"attempt":\d+', '"attempt":-3', e["data"]))),
    ]
    # One fixed case, so every run has it: a ServiceDeployed event that names no service.
    rows = [dict(e) for e in events]
    fixed = next((r for r in rows if r["type"] == "ServiceDeployed"), None)
    if fixed:
        fixed["data"] = "{}"
        for r in rows:
            r.pop("version", None)
        out.append((f"re-chained: ServiceDeployed without its service at position {fixed['position']}",
                    ("\n".join(make_chain(rows)) + "\n").encode("utf-8"), fixed["stream"][len("deployment-"):]))
    for n in range(count):
        name, mutate = mutations[n % len(mutations)]
        rows = [dict(e) for e in events]
        pool = deployment_events if rng.random() < 0.8 and deployment_events else events
        victim = rng.choice(pool)
        k = victim["position"] - 1
        rows[k] = mutate(rows[k])
        keep_version = name == "version gap"
        for r in rows:
            if not keep_version:
                r.pop("version", None)
        try:
            lines = make_chain(rows)
        except (TypeError, ValueError):
            continue
        owner = victim["stream"][len("deployment-"):] if victim["stream"].startswith("deployment-") else None
        out.append((f"re-chained: {name} at position {k + 1}", ("\n".join(lines) + "\n").encode("utf-8"), owner))
    return out


def ledger_category(faults, pool, rng, base, db, ids, original_lines, count):
    cat = Category(faults, "ledger files")
    work = os.path.join(base, "ledgers")
    os.makedirs(work)
    original = open(db, "rb").read()
    page = 4096
    pages = max(1, len(original) // page)

    def corrupt(n):
        d = bytearray(original)
        kind = rng.choice(["truncate", "truncate-page", "random-page", "zero-page", "flip", "header", "swap-pages", "append",
                           "empty", "text"])
        if kind == "truncate":
            p = rng.randrange(len(d))
            return bytes(d[:p]), f"truncated at byte {p}"
        if kind == "truncate-page":
            p = rng.randrange(pages) * page
            return bytes(d[:p]), f"truncated to {p // page} pages"
        if kind == "random-page":
            k = rng.randrange(pages)
            d[k * page:(k + 1) * page] = bytes(rng.randrange(256) for _ in range(page))
            return bytes(d), f"page {k + 1} overwritten with random bytes"
        if kind == "zero-page":
            k = rng.randrange(pages)
            d[k * page:(k + 1) * page] = bytes(page)
            return bytes(d), f"page {k + 1} zeroed"
        if kind == "flip":
            flips = rng.randint(1, 8)
            for _ in range(flips):
                p = rng.randrange(len(d))
                d[p] ^= 1 << rng.randrange(8)
            return bytes(d), f"{flips} bit flip(s)"
        if kind == "header":
            p = rng.randrange(100)
            d[p] = rng.randrange(256)
            return bytes(d), f"header byte {p} changed"
        if kind == "swap-pages":
            a, b = rng.randrange(pages), rng.randrange(pages)
            pa, pb = d[a * page:(a + 1) * page], d[b * page:(b + 1) * page]
            d[a * page:(a + 1) * page], d[b * page:(b + 1) * page] = pb, pa
            return bytes(d), f"pages {a + 1} and {b + 1} swapped"
        if kind == "append":
            return bytes(d) + os.urandom(rng.randint(1, 3 * page)), "garbage appended"
        if kind == "empty":
            return b"", "empty file"
        return b"this is not a ledger\n" * 100, "a text file"

    cases = [(n,) + corrupt(n) for n in range(count)]
    show_id = ids[0] if ids else "0-0"
    commands = [["verify"], ["history", "--json"], ["events", "list", "--json"], ["show", show_id],
                ["last-stable", "--env", "env0"], ["export", "--events"], ["status"], ["artifacts", "list"]]

    def one(case):
        n, data, desc = case
        copy = os.path.join(work, f"l{n}", "ledger.db")
        os.makedirs(os.path.dirname(copy))
        with open(copy, "wb") as f:
            f.write(data)
        results = {}
        for args in commands:
            res = faults.sh.run(args + ["--db", copy])
            results[args[0] + (" " + args[1] if args[0] == "events" else "")] = res
            cat.record(res, f"{desc}: {' '.join(args)}", keep=(copy, data))
        verify, listed = results["verify"], results["events list"]
        if verify.code == 0:
            # The chain verified: the damage missed every event, so every event must read back as before.
            if listed.code != 0 or listed.stdout.splitlines() != original_lines:
                cat.fail(f"{desc}", f"verify exits 0, but `events list` gives {listed.describe() if listed.code else 'different events'}",
                         keep=(copy, data))
        # A write to a damaged copy is refused cleanly or succeeds, never crashes.
        res = faults.sh.run(["events", "append", "--db", copy, "--stream", "after-damage", "--type", "T", "--data", "{}"])
        cat.record(res, f"{desc}: events append", keep=(copy, data))
        shutil.rmtree(os.path.dirname(copy), ignore_errors=True)

    list(pool.map(one, cases))
    return cat.finish(f"{count} damaged copies of the corpus ledger × {len(commands) + 1} commands")


def utf8_category(faults, base, db, rng):
    cat = Category(faults, "invalid UTF-8")
    sh = faults.sh
    work = os.path.join(base, "utf8")
    os.makedirs(work)
    copy = os.path.join(work, "ledger.db")
    shutil.copy(db, copy)
    bad = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe2\x82", b"\x80"]
    altered = []
    for seq in bad:
        cases = [
            ("--data", ["events", "append", "--db", copy, "--stream", "u", "--type", "T", "--data", b'{"a":"x' + seq + b'y"}']),
            ("--stream", ["events", "append", "--db", copy, "--stream", b"u" + seq, "--type", "T", "--data", "{}"]),
            ("--type", ["events", "append", "--db", copy, "--stream", "u", "--type", b"T" + seq, "--data", "{}"]),
            ("--metadata", ["events", "append", "--db", copy, "--stream", "u", "--type", "T", "--data", "{}",
                            "--metadata", b'{"m":"' + seq + b'"}']),
            ("--env", ["record", "begin", "--db", copy, "--env", b"e" + seq, "--sha", random_sha(rng)]),
            ("--ref", ["record", "begin", "--db", copy, "--env", "utf8", "--sha", random_sha(rng), "--ref", b"refs/heads/" + seq]),
            ("--sha", ["record", "begin", "--db", copy, "--env", "utf8b", "--sha", b"abcdef1" + seq]),
            ("--services", ["record", "begin", "--db", copy, "--env", "utf8c", "--sha", random_sha(rng), "--services", b"a" + seq]),
            ("show ID", ["show", b"1-" + seq, "--db", copy]),
            ("history --env", ["history", "--env", b"e" + seq, "--db", copy]),
        ]
        for option, args in cases:
            res = sh.run(args)
            label = f"{option} with {seq!r}"
            cat.record(res, label)
            if res.code == 0 and option in ("--data", "--stream", "--type", "--metadata", "--env", "--ref", "--services"):
                altered.append(option)
        unlocked = sh.run(["history", "--db", copy, "--json", "--status", "running"])
        for line in unlocked.stdout.splitlines():
            if line.strip():
                r = json.loads(line)
                sh.run(["unlock", "--db", copy, "--env", r["environment"], "--reason", "utf8 case"])
    # Files: a log with invalid UTF-8 is kept byte for byte; an import line with it is refused.
    begin = sh.run(["record", "begin", "--db", copy, "--env", "utf8-files", "--sha", random_sha(rng)])
    deployment_id = begin.stdout.strip()
    log = os.path.join(work, "bad.log")
    content = b"".join(b"line " + seq + b"\n" for seq in bad) + os.urandom(4096)
    with open(log, "wb") as f:
        f.write(content)
    res = sh.run(["record", "phase", deployment_id, "migrate", "--db", copy, "--status", "succeeded", "--log", log])
    cat.record(res, "a log file with invalid UTF-8")
    if res.code == 0:
        digest = hashlib.sha256(content).hexdigest()
        kept = os.path.join(os.path.dirname(copy), "artifacts", digest)
        if not os.path.exists(kept) or open(kept, "rb").read() != content:
            cat.fail("a log file with invalid UTF-8", "not kept byte for byte")
    line = b'{"position":1,"event_id":"01900000-0000-7000-8000-000000000001","stream":"s\xff","version":1,"type":"T","schema":1,' \
           b'"data":"{}","metadata":"{}","recorded_at":"2026-01-01T00:00:00.000Z","hash":"' + b"0" * 64 + b'"}\n'
    path = os.path.join(work, "bad.ndjson")
    with open(path, "wb") as f:
        f.write(line)
    res = sh.run(["import", path, "--db", sh.init(os.path.join(work, "imported", "ledger.db"))])
    cat.record(res, "an import line with invalid UTF-8", problem=None if res.code == 65 else f"exit {res.code}, expected 65")
    # A --db path with invalid UTF-8 must name that very file.
    raw_dir = os.path.join(work, "paths").encode()
    os.makedirs(raw_dir)
    res = sh.run(["init", "--db", raw_dir + b"/l\xff.db"])
    cat.record(res, "--db path with invalid UTF-8")
    created = os.listdir(raw_dir)
    path_ok = res.code != 0 or created == [b"l\xff.db"] or b"l\xff.db" in created
    verify = sh.run(["verify", "--db", copy])
    cat.record(verify, "verify after the UTF-8 cases", problem=None if verify.code == 0 else f"verify {verify.describe()}")
    path_problem = None if path_ok else \
        f"exit {res.code}, but the ledger was created as {[c.decode('utf-8', 'backslashreplace') for c in created]}"
    return cat.finish(f"{len(bad)} invalid sequences in 10 arguments, a log file, an import line and a --db path"), \
        path_problem, sorted(set(altered))


def oversized_category(faults, base, rng):
    cat = Category(faults, "oversized payloads")
    sh = faults.sh
    work = os.path.join(base, "oversized")
    os.makedirs(work)
    db = os.path.join(work, "ledger.db")
    sh.run(["init", "--db", db])
    # The largest --data the kernel lets through one argument (MAX_ARG_STRLEN is 128 KiB).
    blob = "".join(rng.choice("abcdefghij") for _ in range(128 * 1024 - 64))
    data = json.dumps({"blob": blob})
    res = sh.run(["events", "append", "--db", db, "--stream", "big", "--type", "Big", "--data", data])
    cat.record(res, "--data of 128 KiB")
    if res.code == 0:
        back = events_of(sh, db, "big")
        if not back or back[-1]["data"] != data:
            cat.fail("--data of 128 KiB", "did not read back identical")
    for label, args in [
        ("stream name of 128 KiB", ["events", "append", "--db", db, "--stream", "s" * (128 * 1024 - 64), "--type", "T", "--data", "{}"]),
        ("type of 128 KiB", ["events", "append", "--db", db, "--stream", "t", "--type", "T" * (128 * 1024 - 64), "--data", "{}"]),
        ("--reason of 128 KiB", ["mark-bad", "0-0", "--db", db, "--reason", "r" * (128 * 1024 - 64)]),
        ("8,000 keys in --data", ["events", "append", "--db", db, "--stream", "k", "--type", "T",
                                  "--data", json.dumps({f"{i:x}": i for i in range(8_000)}, separators=(",", ":"))]),
        ("--data nested 60,000 deep", ["events", "append", "--db", db, "--stream", "n", "--type", "T",
                                       "--data", '{"a":' + "[" * 60_000 + "]" * 60_000 + "}"]),
        ("history --limit 2^62", ["history", "--db", db, "--limit", str(1 << 62)]),
        ("--from beyond the end", ["events", "list", "--db", db, "--from", str((1 << 63) - 1)]),
        ("--from overflowing Int64", ["events", "list", "--db", db, "--from", "9" * 30]),
    ]:
        cat.record(sh.run(args), label)
    # 20 MB payloads cannot travel in one argument; they come in files: a log, an import, a pipeline.
    begin = sh.run(["record", "begin", "--db", db, "--env", "big", "--sha", random_sha(rng)])
    deployment_id = begin.stdout.strip()
    log = os.path.join(work, "big.log")
    with open(log, "wb") as f:
        f.write(os.urandom(20 * 1024 * 1024))
    res = sh.run(["record", "phase", deployment_id, "build", "--db", db, "--status", "succeeded", "--log", log])
    cat.record(res, "a 20 MiB log")
    if res.code == 0:
        shown = deployment_timeline(sh, db, deployment_id)
        sizes = [e["data"]["size"] for e in shown["timeline"] if e["type"] == "ArtifactStored"]
        if sizes != [20 * 1024 * 1024]:
            cat.fail("a 20 MiB log", f"stored sizes {sizes}")
    # Imports with one 20 MB line: a valid event (its hash chain computed here), and garbage.
    lines = make_chain([{"stream": "big", "type": "Big", "data": json.dumps({"blob": "z" * 20_000_000})}] +
                       [{"stream": "big", "type": "Small", "data": "{}"}])
    valid = os.path.join(work, "big.ndjson")
    with open(valid, "w") as f:
        f.write("\n".join(lines) + "\n")
    garbage = os.path.join(work, "garbage.ndjson")
    with open(garbage, "wb") as f:
        f.write(b'{"position":1,"data":"' + b"x" * 20_000_000 + b"\n")
    target = sh.init(os.path.join(work, "imported", "ledger.db"))
    sh.init(target + "-garbage")
    with ThreadPoolExecutor(max_workers=2) as pool:
        imported, refused = pool.map(lambda args: sh.run(args), [["import", valid, "--db", target],
                                                                  ["import", garbage, "--db", target + "-garbage"]])
    cat.record(refused, "an import whose one line is 20 MB of garbage")
    cat.record(imported, "an import with a valid 20 MB event")
    if imported.code == 0:
        for args in (["verify"], ["events", "list", "--json"]):
            cat.record(sh.run(args + ["--db", target]), f"20 MB event, then {' '.join(args)}")
        back = sh.run(["export", "--events", "--db", target])
        cat.record(back, "20 MB event, then export --events")
        if back.stdout.splitlines() != lines:
            cat.fail("an import with a 20 MB event", "export differs from the imported file")
    verify = sh.run(["verify", "--db", db])
    cat.record(verify, "verify at the end", problem=None if verify.code == 0 else verify.describe())
    return cat.finish("arguments of 128 KiB (the kernel's limit for one), an 8,000-key and a 60,000-deep JSON object, "
               "huge numbers, a 20 MiB log, imports with a 20 MB line")


