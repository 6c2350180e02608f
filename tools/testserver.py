#!/usr/bin/env python3
"""A small HTTP server on 127.0.0.1 for Shiplog's tests and demos (Python 3 standard library only).

One server answers every test, by path:

  GET  /health              200 {"status":"ok"}
  ANY  /status/NNN          answers with status NNN
  GET  /slow/MS             sleeps MS milliseconds, then 200
  GET  /flaky/KEY/N         503 for the first N requests with this KEY, then 200
  GET  /redirect/N          302 chain of N hops ending at /health
  GET  /redirect-to?url=U   302 to U, whatever its scheme
  GET  /big-header/N        200 with one header line of N bytes (N ≤ 10,000,000)
  GET  /many-headers/N      200 with N header lines of 1,000 bytes each (N ≤ 10,000)
  POST /hook                records the body, 200 (415 unless Content-Type is application/json)
  GET  /hook/received       JSON array of the bodies recorded so far (as strings)
  POST /hook/fail/N[/KEY]   500 for the first N requests (per N and KEY), then records and 200
                            (415 unless Content-Type is application/json)
  GET  /api/health          with --state-file: 503 when the file says "broken", else 200
  GET  /auth/health         same as /api/health

Usage:
  python3 tools/testserver.py --port 0 --port-file FILE [--state-file FILE] [--exit-with-parent]
                              [--verbose]

With --port 0 the system picks a free port; it is written to --port-file once the server
accepts connections (written to a temporary name and renamed, so a reader never sees half
of it). SIGTERM and SIGINT stop the server cleanly, as does the parent's exit with
--exit-with-parent.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_SLOW_MS = 120_000
MAX_REDIRECTS = 50


class State:
    """Counters and recorded bodies, shared by all request threads."""

    def __init__(self, state_file):
        self.lock = threading.Lock()
        self.flaky = {}
        self.hook_failures = {}
        self.received = []
        self.state_file = state_file

    def next_count(self, table, key):
        with self.lock:
            table[key] = table.get(key, 0) + 1
            return table[key]

    def record(self, body):
        with self.lock:
            self.received.append(body)

    def bodies(self):
        with self.lock:
            return list(self.received)

    def staging_broken(self):
        if self.state_file is None:
            return False
        try:
            with open(self.state_file, encoding="utf-8") as handle:
                return handle.read().strip() == "broken"
        except FileNotFoundError:
            return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shiplog-testserver"

    def version_string(self):
        return self.server_version

    # --- plumbing -----------------------------------------------------------------------

    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        if self.server.verbose:
            sys.stderr.write("testserver: %s - %s\n" % (self.address_string(), format % args))

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def reply(self, status, payload=None, headers=None):
        body = b""
        if payload is not None and status not in (204, 304):
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def is_json(self):
        content_type = self.headers.get("Content-Type") or ""
        return content_type.split(";")[0].strip().lower() == "application/json"

    def redirect(self, location):
        self.reply(302, {"location": location}, {"Location": location})

    @staticmethod
    def parse_int(text, lowest, highest):
        try:
            value = int(text)
        except ValueError:
            return None
        return value if lowest <= value <= highest else None

    # --- routes -------------------------------------------------------------------------

    def do_GET(self):
        self.route(body=None)

    def do_HEAD(self):
        self.route(body=None)

    def do_POST(self):
        self.route(body=self.read_body())

    def do_PUT(self):
        self.route(body=self.read_body())

    def route(self, body):
        state = self.server.state
        url = urlsplit(self.path)
        parts = [part for part in url.path.split("/") if part]
        method = self.command

        if parts == ["health"]:
            return self.reply(200, {"status": "ok"})

        if len(parts) == 2 and parts[0] == "status":
            status = self.parse_int(parts[1], 200, 599)
            if status is None:
                return self.reply(400, {"error": "status must be 200..599"})
            return self.reply(status, {"status": status})

        if len(parts) == 2 and parts[0] == "slow":
            delay = self.parse_int(parts[1], 0, MAX_SLOW_MS)
            if delay is None:
                return self.reply(400, {"error": "delay must be 0..%d ms" % MAX_SLOW_MS})
            time.sleep(delay / 1000.0)
            return self.reply(200, {"status": "ok", "delayed_ms": delay})

        if len(parts) == 3 and parts[0] == "flaky":
            failures = self.parse_int(parts[2], 0, 1_000_000)
            if failures is None:
                return self.reply(400, {"error": "failure count must be a number"})
            count = state.next_count(state.flaky, parts[1])
            if count <= failures:
                return self.reply(503, {"status": "unavailable", "request": count})
            return self.reply(200, {"status": "ok", "request": count})

        if len(parts) == 2 and parts[0] == "redirect":
            hops = self.parse_int(parts[1], 0, MAX_REDIRECTS)
            if hops is None:
                return self.reply(400, {"error": "hops must be 0..%d" % MAX_REDIRECTS})
            return self.redirect("/redirect/%d" % (hops - 1) if hops > 1 else "/health")

        if len(parts) == 2 and parts[0] == "big-header":
            size = self.parse_int(parts[1], 0, 10_000_000)
            if size is None:
                return self.reply(400, {"error": "size must be 0..10000000 bytes"})
            return self.reply(200, {"status": "ok"}, {"X-Padding": "a" * size})

        if len(parts) == 2 and parts[0] == "many-headers":
            count = self.parse_int(parts[1], 0, 10_000)
            if count is None:
                return self.reply(400, {"error": "count must be 0..10000"})
            return self.reply(200, {"status": "ok"}, {"X-Padding-%d" % i: "a" * 1000 for i in range(count)})

        if parts == ["redirect-to"]:
            targets = parse_qs(url.query).get("url")
            if not targets:
                return self.reply(400, {"error": "missing url parameter"})
            return self.redirect(targets[0])

        if parts[:1] == ["hook"] and method in ("POST", "PUT") and not self.is_json():
            return self.reply(415, {"error": "Content-Type must be application/json"})

        if parts == ["hook"] and method in ("POST", "PUT"):
            state.record(body.decode("utf-8", errors="replace"))
            return self.reply(200, {"status": "received"})

        if parts == ["hook", "received"] and method in ("GET", "HEAD"):
            return self.reply(200, state.bodies())

        if len(parts) in (3, 4) and parts[:2] == ["hook", "fail"] and method in ("POST", "PUT"):
            failures = self.parse_int(parts[2], 0, 1_000_000)
            if failures is None:
                return self.reply(400, {"error": "failure count must be a number"})
            key = "/".join(parts[2:])
            count = state.next_count(state.hook_failures, key)
            if count <= failures:
                return self.reply(500, {"status": "failing", "request": count})
            state.record(body.decode("utf-8", errors="replace"))
            return self.reply(200, {"status": "received", "request": count})

        if parts in (["api", "health"], ["auth", "health"]):
            if state.staging_broken():
                return self.reply(503, {"status": "broken"})
            return self.reply(200, {"status": "ok"})

        return self.reply(404, {"error": "no route for %s %s" % (method, url.path)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, verbose):
        self.state = state
        self.verbose = verbose
        super().__init__(address, Handler)

    def handle_error(self, request, client_address):
        # A client that hangs up mid-answer (a probe timing out) is normal here.
        if self.verbose:
            super().handle_error(request, client_address)


def write_port_file(path, port):
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("%d\n" % port)
    os.replace(temporary, path)


def watch_parent(server):
    """Stops the server once the process that started it is gone, so no test leaves it behind."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()

    threading.Thread(target=watch, daemon=True).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description="HTTP server for Shiplog tests and demos.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--port-file", help="file to write the chosen port to once listening")
    parser.add_argument("--state-file", help="file whose content 'broken' makes /api/health and /auth/health fail")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when the parent process exits (for test harnesses)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    server = Server((args.host, args.port), State(args.state_file), args.verbose)
    port = server.server_address[1]

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A parent that spawned this from a thread with signals blocked passes that mask on
    # (Foundation's Process does); SIGTERM would then stay pending for ever.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    if args.exit_with_parent:
        watch_parent(server)

    if args.port_file:
        write_port_file(args.port_file, port)
    if args.verbose:
        sys.stderr.write("testserver: listening on http://%s:%d\n" % (args.host, port))

    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
