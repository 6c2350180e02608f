"""A throwaway PostgreSQL cluster for the `postgres` scenario: `initdb` into a temporary
directory, `pg_ctl start` on a free port with its Unix socket in that directory and no TCP
listener, run as the `postgres` user when the suite runs as root (PostgreSQL refuses root).

    cluster = PostgresCluster.start(base)     # raises Unavailable (with the reason) if it cannot
    url = cluster.create_database("name")     # postgresql:///name?host=…&port=…&user=postgres
    cluster.crash()                           # pg_ctl stop -m immediate: every session is cut off
    cluster.restart()                         # the same port and socket, crash recovery first
    cluster.terminate_backends("name")        # pg_terminate_backend for every session of a database
    cluster.stop()                            # pg_ctl stop -m fast, then removes its directory

conftest.py holds the session fixture (`postgres`) that starts it once and stops it at the
end, even after a failure or an interrupt.
"""

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

PROGRAMS = ("initdb", "pg_ctl", "pg_isready", "psql")


class Unavailable(Exception):
    """Why no cluster could be started: the scenario's checks are skipped with this reason."""


def binary_directory():
    """The newest /usr/lib/postgresql/<version>/bin holding the server programs (Debian's
    layout), else the directory of an `initdb` on PATH; None if neither exists."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda d: [int(p) if p.isdigit() else 0 for p in d.split("/")[-2].split(".")], reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(os.path.dirname(os.path.realpath(on_path)))
    for directory in candidates:
        if all(os.access(os.path.join(directory, p), os.X_OK) for p in PROGRAMS):
            return directory
    return None


def install_server():
    """`apt-get install -y -qq postgresql`, once, as root; returns what went wrong, or None."""
    if os.geteuid() != 0:
        return "not root, so the postgresql package cannot be installed"
    if not shutil.which("apt-get"):
        return "no apt-get to install the postgresql package with"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        res = subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    except subprocess.TimeoutExpired:
        return "apt-get install postgresql did not finish within 10 minutes"
    if res.returncode != 0:
        last = res.stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return f"apt-get install postgresql exited {res.returncode}: {last[0][:200]}"
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    def __init__(self, binaries, directory, user):
        self.binaries, self.directory, self.user = binaries, directory, user
        self.data = os.path.join(directory, "data")
        self.log = os.path.join(directory, "server.log")
        self.port = None
        self.stopped = False
        self.watcher = None

    @classmethod
    def start(cls, parent=None):
        """Finds (or installs) the server programs, then initializes and starts a cluster in a
        new directory under `parent` (default: the temporary directory, or /tmp when that path is
        too long for a socket)."""
        binaries = binary_directory()
        if binaries is None:
            problem = install_server()
            binaries = binary_directory()
            if binaries is None:
                raise Unavailable(f"PostgreSQL's server programs (initdb, pg_ctl) are not installed, "
                                  f"and {problem or 'installing postgresql did not provide them'}")
        user = None
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root, and there is no postgres user to run PostgreSQL as") from None
        if parent is None:
            parent = tempfile.gettempdir()
            if len(parent) > 40:  # a socket path must stay under 107 bytes
                parent = "/tmp"
        directory = tempfile.mkdtemp(prefix="shiplog-faults-pg-", dir=parent)
        cluster = cls(binaries, directory, user)
        try:
            if user:
                os.chown(directory, user.pw_uid, user.pw_gid)
            cluster.run("initdb", "-D", cluster.data, "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync", "-A", "trust")
            for attempt in range(5):  # a port found free may be taken before the server binds it
                cluster.port = free_port()
                try:
                    cluster.restart()
                    break
                except RuntimeError:
                    if attempt == 4 or "could not bind" not in cluster.log_tail() and "already in use" not in cluster.log_tail():
                        raise
            cluster.watch()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def watch(self):
        """A process that stops the server and removes its directory once this process ends,
        however it ends (killed outright included): it waits for end-of-file on a pipe only this
        process holds (children of the suite do not inherit it)."""
        stop = " ".join(shlex.quote(a) for a in self.command("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w"))
        script = f"cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf {shlex.quote(self.directory)}"
        self.watcher = subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)

    # ----------------------------------------------------------------------------------------
    # Programs

    def command(self, program, *args):
        path = os.path.join(self.binaries, program)
        return (["runuser", "-u", "postgres", "--", path] if self.user else [path]) + [str(a) for a in args]

    def run(self, program, *args, timeout=120, check=True):
        """Runs a PostgreSQL program in the cluster's directory; raises RuntimeError on failure."""
        try:
            res = subprocess.run(self.command(program, *args), cwd=self.directory, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{program} {args[0] if args else ''} did not finish within {timeout} s") from None
        if check and res.returncode != 0:
            raise RuntimeError(f"{program} {args[0] if args else ''} exited {res.returncode}: "
                               f"{(res.stderr or res.stdout).decode('utf-8', 'replace').strip()[-400:]}")
        return res

    def log_tail(self, lines=10):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except OSError:
            return ""

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def psql(self, sql, database="postgres"):
        """Runs one statement as the superuser over the socket; returns its unaligned output."""
        res = self.run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.directory, "-p", self.port,
                       "-U", "postgres", "-d", database, "-c", sql, timeout=60)
        return res.stdout.decode("utf-8", "replace").strip()

    # ----------------------------------------------------------------------------------------
    # What the scenario does with it

    def create_database(self, name):
        """A new, empty database; returns its URL through the Unix socket."""
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        return self.url(name)

    def url(self, name):
        return f"postgresql:///{name}?host={urllib.parse.quote(self.directory, safe='/')}&port={self.port}&user=postgres"

    def crash(self):
        """`pg_ctl stop -m immediate`: every server process quits at once, with no shutdown
        checkpoint; the next start runs crash recovery. Every session is lost."""
        self.run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", "-t", "60")

    def restart(self):
        """Starts the server (stopping it first if it runs) on the same port and socket, and waits
        until it accepts connections. fsync=off: this server's data need not survive a power cut;
        an immediate stop loses nothing that reached the kernel."""
        if self.running():
            self.run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "60", check=False)
        options = f"-k {self.directory} -p {self.port} -c listen_addresses='' -c fsync=off -c max_connections=200"
        try:
            self.run("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", options)
        except RuntimeError as e:
            raise RuntimeError(f"{e}; server log ends with:\n{self.log_tail()}") from None
        deadline = time.monotonic() + 30
        while self.run("pg_isready", "-q", "-h", self.directory, "-p", self.port, "-U", "postgres", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"pg_isready: the server does not accept connections; its log ends with:\n{self.log_tail()}")
            time.sleep(0.1)

    def terminate_backends(self, database):
        """Ends every session connected to `database`, as an administrator or a failover would;
        returns how many were ended."""
        ended = self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          f"WHERE datname = '{database}' AND pid <> pg_backend_pid()")
        return sum(1 for line in ended.splitlines() if line.strip() == "t")

    def stop(self):
        """`pg_ctl stop -m fast` (immediate if that fails), then removes the directory. Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        if self.running():
            if self.run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "60", check=False).returncode != 0:
                self.run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", "-t", "60", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.watcher:
            self.watcher.stdin.close()  # it finds nothing left to do
            try:
                self.watcher.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.watcher.kill()
                self.watcher.wait()
