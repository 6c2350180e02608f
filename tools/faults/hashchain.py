"""The ledger's hash chain, computed independently of Shiplog (docs/HASH-CHAIN.md).

The one place the fault suite spells an event's canonical bytes: `chain_problems` checks a
ledger's events with it, `make_chain` writes import files whose chain is valid.
"""

import hashlib
import json
import struct

GENESIS = bytes(32)  # `prev` of the event at position 1


def u64(value):
    """`u64(x)`: 8 bytes, big-endian."""
    return struct.pack(">Q", value)


def text(value):
    """`str(x)`: the UTF-8 byte length as a big-endian u32, then those bytes."""
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


# The fields of an event in the order they are hashed, each with its encoding.
FIELDS = (("position", u64), ("event_id", text), ("stream", text), ("version", u64), ("type", text),
          ("schema", u64), ("data", text), ("metadata", text), ("recorded_at", text))


def canonical_bytes(event):
    """The bytes hashed for `event` (a dict with every field of FIELDS), after the previous hash."""
    return b"".join(encode(event[name]) for name, encode in FIELDS)


def event_hash(prev, event):
    """hash(n) = SHA-256(prev || canonical bytes), as 64 lowercase hex digits."""
    return hashlib.sha256(prev + canonical_bytes(event)).hexdigest()


def chain_problems(events):
    """Recomputes the chain of `events` (as `shiplog events list --json` prints them) and checks
    that positions are 1…n and every stream's versions gapless. Returns what is wrong."""
    problems = []
    prev = GENESIS
    versions = {}
    for n, e in enumerate(events, start=1):
        if e["position"] != n:
            problems.append(f"position {e['position']} where {n} was expected")
            break
        expected_version = versions.get(e["stream"], 0) + 1
        if e["version"] != expected_version:
            problems.append(f"{e['stream']} at version {e['version']}, expected {expected_version} (position {n})")
        versions[e["stream"]] = e["version"]
        digest = event_hash(prev, e)
        if digest != e["hash"]:
            problems.append(f"hash mismatch at position {n}")
            break
        prev = bytes.fromhex(digest)
    return problems


def fake_uuid(n):
    return "01900000-0000-7000-8000-%012x" % n


def make_chain(rows):
    """Export lines (`shiplog export --events`) for `rows`, with positions, versions and hashes
    computed: a file whose chain is valid, whatever the rows hold. Each row is a dict with
    stream, type and data, and optionally event_id, version, schema, metadata, recorded_at."""
    lines, prev, versions = [], GENESIS, {}
    for n, row in enumerate(rows, start=1):
        versions[row["stream"]] = versions.get(row["stream"], 0) + 1
        e = {"position": n, "event_id": row.get("event_id") or fake_uuid(n), "stream": row["stream"],
             "version": row.get("version", versions[row["stream"]]), "type": row["type"], "schema": row.get("schema", 1),
             "data": row["data"], "metadata": row.get("metadata", "{}"),
             "recorded_at": row.get("recorded_at", "2026-01-01T00:00:%02d.000Z" % (n % 60))}
        e["hash"] = event_hash(prev, e)
        prev = bytes.fromhex(e["hash"])
        lines.append(json.dumps(e, separators=(",", ":"), ensure_ascii=False))
    return lines
