"""Child processes: the shiplog binary with a timeout, gated starts, SIGKILL at a moment,
processes found by a tag in their environment, the loopback test server, and what counts as
a crash or an unclear error."""

import atexit
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTSERVER = os.path.join(ROOT, "tools", "testserver.py")

# Exit codes a bad input may end with (README.md, "Exit codes"): anything else is a failure.
ALLOWED_CODES = {0, 3, 4, 5, 64, 65, 73, 74, 75, 78}
# What a crash leaves on stderr: Swift runtime traps, backtraces, the C library's aborts.
CRASH_MARKERS = ("Fatal error", "Stack dump", "Current stack trace", "Segmentation fault", "Illegal instruction",
                 "Precondition failed", "Assertion failed", "Crash at", "💣", "SIGSEGV", "SIGILL", "SIGTRAP",
                 "SIGABRT", "Aborted (core dumped)", "*** Program crashed")
# Messages that say nothing useful about what went wrong.
VAGUE_MARKERS = ("The operation could not be completed", "Error Domain=", "The data couldn’t be read",
                 "Swift.DecodingError", "NSCocoaErrorDomain")


class Result:
    """One finished command: exit code (negative: killed by that signal), output, timing."""

    def __init__(self, argv, code, out, err, timed_out, elapsed):
        self.argv, self.code, self.out, self.err = argv, code, out, err
        self.timed_out, self.elapsed = timed_out, elapsed

    @property
    def stdout(self):
        return self.out.decode("utf-8", "replace")

    @property
    def stderr(self):
        return self.err.decode("utf-8", "replace")

    def first_error_line(self):
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[0] if lines else ""

    def describe(self):
        what = "timed out" if self.timed_out else (f"killed by signal {-self.code}" if self.code < 0 else f"exit {self.code}")
        return f"{what}; stderr: {self.first_error_line()[:300]!r}"


# Every child still running when the suite ends (an interrupted run, a failed check that left
# one behind) is killed with its process group.
LIVE = set()
LIVE_LOCK = threading.Lock()


def track(proc):
    with LIVE_LOCK:
        LIVE.add(proc)
    return proc


def untrack(proc):
    with LIVE_LOCK:
        LIVE.discard(proc)


@atexit.register
def kill_leftovers():
    with LIVE_LOCK:
        procs = list(LIVE)
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass


def run_process(argv, env=None, cwd=None, timeout=60):
    started = time.monotonic()
    proc = track(subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True))
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = proc.communicate()
    finally:
        untrack(proc)
    return Result(argv, proc.returncode, out, err, timed_out, time.monotonic() - started)


# Waits for the gate file, then becomes the command: processes started one after another
# begin within a fraction of a millisecond of each other, which makes races likely.
GATE_WAITER = ("import os, sys, time\nopen('%s.ready.%d' % (sys.argv[1], os.getpid()), 'w').close()\n"
               "while not os.path.exists(sys.argv[1]): time.sleep(0.0002)\nos.execv(sys.argv[2], sys.argv[2:])")


def open_gate(gate, procs):
    """Lets every process waiting on `gate` go at once, when all are waiting."""
    directory, name = os.path.split(gate)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = [f for f in os.listdir(directory) if f.startswith(name + ".ready.")]
        if len(ready) >= len(procs) or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.005)
    with open(gate, "w"):
        pass


class Shiplog:
    """Runs the binary: with a timeout, optionally under a file-size limit (ulimit -f, in KiB)."""

    def __init__(self, binary, timeout):
        self.binary = binary
        self.timeout = timeout

    def argv(self, args, limit_kb=None):
        argv = [self.binary] + [a if isinstance(a, (bytes, str)) else str(a) for a in args]
        if limit_kb is not None:
            argv = ["bash", "-c", 'ulimit -f "$1"; shift; exec "$@"', "faults", str(limit_kb)] + argv
        return argv

    def run(self, args, env=None, cwd=None, timeout=None, limit_kb=None):
        return run_process(self.argv(args, limit_kb), env=env, cwd=cwd, timeout=timeout or self.timeout)

    def init(self, db, env=None):
        """Creates the ledger `db` (only `shiplog init` creates one) and returns its path."""
        res = self.run(["init", "--db", db], env=env)
        if res.code != 0:
            raise RuntimeError(f"shiplog init --db {db}: {res.describe()}")
        return db

    def spawn(self, args, env, cwd, out_path, err_path, gate=None):
        """Starts shiplog in the background; with `gate`, it execs only once that file exists (see open_gate)."""
        argv = self.argv(args)
        if gate:
            argv = [sys.executable, "-c", GATE_WAITER, gate] + argv
        with open(out_path, "ab") as out, open(err_path, "ab") as err:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        return track(proc)


def wait_or_kill(proc, kill_after, timeout):
    """Waits for `proc`; with kill_after, sends SIGKILL to that one process after so many seconds.
    Returns (exit code, whether the kill landed before it exited)."""
    killed = False
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed = True
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        untrack(proc)
        return None, killed
    untrack(proc)
    if killed and proc.returncode != -signal.SIGKILL:
        killed = False  # it had exited on its own just before the signal
    return proc.returncode, killed


def processes_tagged(tag):
    """Live processes whose environment carries FAULTS_TAG=tag, or tag-… (a runner's steps and supervisors)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            values = [e[len(b"FAULTS_TAG="):].decode("utf-8", "replace") for e in environ if e.startswith(b"FAULTS_TAG=")]
            if any(v == tag or v.startswith(tag + "-") for v in values):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
                found.append(f"{pid}:{cmdline[:80]}")
        except OSError:
            continue
    return found


def lingering(tag, grace=3.0):
    """Processes tagged `tag` still alive after up to `grace` seconds."""
    deadline = time.monotonic() + grace
    while True:
        left = processes_tagged(tag)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def tail(path, n=300):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data[-n:].decode("utf-8", "replace").strip()
    except OSError:
        return ""


class TestServer:
    """tools/testserver.py on 127.0.0.1 answering /api/health and /auth/health from a state file."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, directory, state_file):
        port_file = os.path.join(directory, "port")
        self.proc = track(subprocess.Popen(
            [sys.executable, TESTSERVER, "--port", "0", "--port-file", port_file, "--state-file", state_file,
             "--exit-with-parent"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 20
        while not (os.path.exists(port_file) and os.path.getsize(port_file) > 0):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("tools/testserver.py did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read().strip())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        untrack(self.proc)


def crash_problem(res):
    """Why a run counts as a crash or hang, or None."""
    if res.timed_out:
        return "hung (timed out and was killed)"
    if res.code is None:
        return "did not finish"
    if res.code < 0:
        return f"died of signal {-res.code}"
    if res.code in (70, 134, 139):
        return f"exit {res.code} (internal error)"
    for marker in CRASH_MARKERS:
        if marker in res.stderr:
            return f"crash output on stderr ({marker!r})"
    return None


def input_problem(res):
    """For a bad input: crash, hang, unexpected exit code, or an unclear error; None if fine."""
    crash = crash_problem(res)
    if crash:
        return crash
    if res.code not in ALLOWED_CODES:
        return f"exit {res.code} is not one of {sorted(ALLOWED_CODES)}"
    if res.code != 0:
        first = res.first_error_line()
        if not first:
            return f"exit {res.code} with nothing on stderr"
        if not (first.startswith("shiplog: ") or first.startswith("Error: ")):
            return f"exit {res.code}, but stderr does not start with an error line: {first[:200]!r}"
        if len(first) < 20:
            return f"exit {res.code} with an uninformative error: {first!r}"
        for marker in VAGUE_MARKERS:
            if marker in first:
                return f"exit {res.code} with a vague error: {first[:200]!r}"
    return None
