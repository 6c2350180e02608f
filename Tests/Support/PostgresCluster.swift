import Foundation
import PostgresClient

/// A throwaway PostgreSQL cluster, shared by every test of one test process.
///
///     let url = try PostgresCluster.shared.makeDatabase()   // a fresh, empty database
///     let connection = try PGConnection(url: url)
///
/// Started on first use: `initdb` into a new directory under `<tmp>/shiplog-pg/`, then
/// `pg_ctl start` on a free port, listening on a Unix socket in that directory and on
/// 127.0.0.1 (password authentication, SCRAM). When the process runs as root, the server runs
/// as the `postgres` user (`runuser`), since PostgreSQL refuses to run as root.
///
/// It is stopped three ways, so no server outlives its tests: at normal exit (`atexit`); by a
/// watcher process that waits for this process's end (end-of-file on a pipe only this process
/// holds), for a test process killed outright; and, failing both, by the next test process,
/// which stops every cluster under `<tmp>/shiplog-pg/` whose owning process is gone.
///
/// With `SHIPLOG_TEST_POSTGRES=<url>` the tests use that server instead: databases are created
/// (and dropped at exit) on it, and nothing is started or stopped.
public final class PostgresCluster: @unchecked Sendable {
    /// The cluster of this test process, started on first use.
    public static let shared = PostgresCluster()

    /// A cluster of its own, for a test that crashes or restarts the server (`kill9()`,
    /// `restart()`): doing that to `shared` would cut off every other test running at the time.
    /// Started on first use and stopped at exit like `shared`.
    public static func dedicated() -> PostgresCluster {
        PostgresCluster()
    }

    /// Every cluster started by this process, stopped at exit.
    nonisolated(unsafe) private static var started: [PostgresCluster] = []
    private static let startedLock = NSLock()
    private static let stopAllAtExit: Void = {
        atexit {
            let clusters = PostgresCluster.startedLock.withLock { PostgresCluster.started }
            for cluster in clusters { cluster.stop() }
        }
    }()

    /// True when `SHIPLOG_TEST_POSTGRES` names an existing server: tests that stop, crash or
    /// restart the server, or need its superuser password, only run against the throwaway one.
    public static var usesExistingServer: Bool {
        !(ProcessInfo.processInfo.environment["SHIPLOG_TEST_POSTGRES"] ?? "").isEmpty
    }

    /// The password of the `postgres` superuser over TCP (the Unix socket needs none).
    public let superuserPassword: String

    private let lock = NSLock()
    private var server: Result<Server, Error>?
    private var databases: [String] = []
    private var stopped = false

    /// Where the server is and how this process reaches it.
    private struct Server {
        /// `URL` of an existing server, or nil for the throwaway cluster.
        var existing: String?
        var directory = ""
        var binaries = ""
        var port = 0
        var watcher: Process?
        var watcherInput: Pipe?
        var data: String { directory + "/data" }
        var log: String { directory + "/server.log" }
    }

    private init() {
        var bytes = [UInt8](repeating: 0, count: 18)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        superuserPassword =
            "pw-"
            + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "A").replacingOccurrences(of: "/", with: "B")
    }

    // MARK: - Databases

    /// Creates an empty database with a name no other test uses; returns its URL (through the
    /// Unix socket for the throwaway cluster: `postgresql:///<name>?host=<dir>&port=<n>&user=postgres`).
    public func makeDatabase() throws -> String {
        try createDatabase().url
    }

    /// Creates an empty database with a name no other test uses; returns its name and URL.
    public func createDatabase() throws -> (name: String, url: String) {
        let server = try running()
        let name: String = lock.withLock {
            let name = "shiplog_test_\(getpid())_\(databases.count + 1)_\(UInt32.random(in: 0...UInt32.max))"
            databases.append(name)
            return name
        }
        // template0 is never connected to, so databases can be created from it concurrently.
        try withAdminConnection(server) { try $0.execute("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8'") }
        return (name, url(server, database: name))
    }

    /// The URL of `database` over TCP on 127.0.0.1 as `postgres` with `password`.
    /// Only for the throwaway cluster (an existing server's passwords are not known here).
    public func tcpURL(database: String, password: String) throws -> String {
        let server = try running()
        guard server.existing == nil else { throw ClusterError("tcpURL needs the throwaway cluster, not SHIPLOG_TEST_POSTGRES") }
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        return "postgresql://postgres:\(encoded)@127.0.0.1:\(server.port)/\(database)"
    }

    /// Ends every session connected to `database` (`pg_terminate_backend`), as an administrator
    /// or a failover would; those sessions' next call fails with `.connectionLost`.
    @discardableResult
    public func terminateBackends(database: String) throws -> Int {
        let server = try running()
        return try withAdminConnection(server) { admin in
            let result = try admin.query(
                """
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = $1 AND pid <> pg_backend_pid()
                """, [database])
            return Int(try result.int64(0, 0) ?? 0)
        }
    }

    // MARK: - Faults (throwaway cluster only)

    /// Stops the server as abruptly as a crash: `pg_ctl stop -m immediate` makes every server
    /// process quit at once, without a shutdown checkpoint, so the next start runs crash recovery.
    /// Every connection is lost. `restart()` brings the server back on the same port.
    /// Use a `dedicated()` cluster for this.
    public func kill9() throws {
        let server = try running()
        guard server.existing == nil else { throw ClusterError("kill9 needs the throwaway cluster, not SHIPLOG_TEST_POSTGRES") }
        try Self.pgCtl(server, ["stop", "-D", server.data, "-m", "immediate", "-w", "-t", "60"])
    }

    /// Starts the server again on the same port and socket (stopping it first if it runs), and
    /// waits until it accepts connections.
    public func restart() throws {
        let server = try running()
        guard server.existing == nil else { throw ClusterError("restart needs the throwaway cluster, not SHIPLOG_TEST_POSTGRES") }
        if FileManager.default.fileExists(atPath: server.data + "/postmaster.pid") {
            try Self.pgCtl(server, ["stop", "-D", server.data, "-m", "fast", "-w", "-t", "60"])
        }
        try Self.startServer(server)
    }

    /// Stops the throwaway cluster and removes its files, or drops the databases made on an
    /// existing server. Later calls fail. Runs by itself at exit.
    public func stop() {
        let (server, databases): (Server?, [String]) = lock.withLock {
            if stopped { return (nil, []) }
            stopped = true
            return ((try? self.server?.get()), self.databases)
        }
        guard let server else { return }
        if server.existing != nil {
            try? withAdminConnection(server) { admin in
                for name in databases { try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
            }
            return
        }
        try? Self.pgCtl(server, ["stop", "-D", server.data, "-m", "fast", "-w", "-t", "60"])
        // The watcher sees end-of-file when this process exits and finds nothing left to do.
        try? FileManager.default.removeItem(atPath: server.directory)
    }

    // MARK: - Starting

    private func running() throws -> Server {
        try lock.withLock {
            if stopped { throw ClusterError("the PostgreSQL test cluster was stopped") }
            if server == nil {
                server = Result { try Self.start(password: superuserPassword) }
                Self.stopAllAtExit
                Self.startedLock.withLock { Self.started.append(self) }
            }
            return try server!.get()
        }
    }

    private static func start(password: String) throws -> Server {
        if let existing = ProcessInfo.processInfo.environment["SHIPLOG_TEST_POSTGRES"], !existing.isEmpty {
            return Server(existing: existing)
        }
        if getuid() == 0 && serverUser == nil {
            throw ClusterError("PostgreSQL does not run as root and there is no postgres user to run it as: create one (the postgresql package does), or set SHIPLOG_TEST_POSTGRES to a server's URL")
        }
        var server = Server()
        server.binaries = try binaryDirectory()
        let root = try clusterRoot()
        stopAbandonedClusters(in: root, binaries: server.binaries)

        var template = Array("\(root)/c-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw ClusterError("cannot create a directory in \(root): \(String(cString: strerror(errno)))")
        }
        server.directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // Written first, so a process that finds this directory knows whose it is.
        try ownerRecord(getpid()).write(toFile: server.directory + "/owner", atomically: true, encoding: .utf8)
        let passwordFile = server.directory + "/superuser-password"
        guard FileManager.default.createFile(atPath: passwordFile, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ClusterError("cannot write \(passwordFile)")
        }
        if let user = serverUser {
            for path in [server.directory, server.directory + "/owner", passwordFile] {
                guard chown(path, user.uid, user.gid) == 0 else {
                    throw ClusterError("cannot give \(path) to the postgres user: \(String(cString: strerror(errno)))")
                }
            }
        }
        do {
            try run(
                server, "initdb",
                [
                    "-D", server.data, "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync",
                    "-A", "trust", "--auth-host=scram-sha-256", "--pwfile=\(passwordFile)",
                ])
            try? FileManager.default.removeItem(atPath: passwordFile)
            // A port picked now may be taken before the server binds it: try another.
            var attempt = 0
            while true {
                attempt += 1
                server.port = try freePort()
                do {
                    try startServer(server)
                    break
                } catch let error where attempt < 5 {
                    let log = (try? String(contentsOfFile: server.log, encoding: .utf8)) ?? ""
                    if !log.contains("could not bind") && !log.contains("already in use") { throw error }
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: server.directory)
            throw error
        }
        (server.watcher, server.watcherInput) = startWatcher(server)
        return server
    }

    /// `pg_ctl start`, then `pg_isready`.
    private static func startServer(_ server: Server) throws {
        // fsync=off: a test server's data need not survive a power cut, and tests run far
        // faster without it. Never a setting for a real server. Crash tests (kill9) still hold:
        // an immediate stop loses no WAL that reached the kernel.
        let options = "-k \(server.directory) -p \(server.port) -c listen_addresses=127.0.0.1 -c fsync=off"
        do {
            try run(
                server, "pg_ctl", ["start", "-D", server.data, "-l", server.log, "-w", "-t", "60", "-o", options],
                startsDaemon: true)
        } catch {
            let log = (try? String(contentsOfFile: server.log, encoding: .utf8)) ?? ""
            throw ClusterError("\(error); server log ends with:\n\(log.split(separator: "\n").suffix(10).joined(separator: "\n"))")
        }
        try run(server, "pg_isready", ["-h", server.directory, "-p", String(server.port), "-U", "postgres", "-t", "30"])
    }

    /// A process that outlives this one only long enough to stop its cluster: it reads its stdin
    /// to end-of-file, which comes when this process ends however it ends.
    private static func startWatcher(_ server: Server) -> (Process?, Pipe?) {
        let pipe = Pipe()
        // Nothing else this process starts (postmasters, `shiplog`) may hold the write end, or
        // end-of-file would wait for them.
        _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        let stop = command(server, "pg_ctl", ["stop", "-D", server.data, "-m", "immediate", "-w", "-t", "60"])
        let script =
            "cat >/dev/null; " + stop.map(shellQuoted).joined(separator: " ")
            + " >/dev/null 2>&1; rm -rf " + shellQuoted(server.directory)
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/sh")
        watcher.arguments = ["-c", script]
        watcher.standardInput = pipe
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        watcher.currentDirectoryURL = URL(fileURLWithPath: "/")
        guard (try? watcher.run()) != nil else { return (nil, nil) }
        try? pipe.fileHandleForReading.close()
        return (watcher, pipe)
    }

    /// Stops and removes the clusters of test processes that ended without stopping them.
    private static func stopAbandonedClusters(in root: String, binaries: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        for entry in entries where entry.hasPrefix("c-") {
            let directory = root + "/" + entry
            if let record = try? String(contentsOfFile: directory + "/owner", encoding: .utf8) {
                let pid = pid_t(record.split(separator: " ").first ?? "") ?? 0
                if pid > 0, ownerRecord(pid) == record { continue }  // its process still runs
            } else {
                // No owner yet: another process may be creating it right now.
                let modified = (try? FileManager.default.attributesOfItem(atPath: directory)[.modificationDate]) as? Date
                if let modified, modified.timeIntervalSinceNow > -600 { continue }
            }
            var abandoned = Server()
            abandoned.directory = directory
            abandoned.binaries = binaries
            if FileManager.default.fileExists(atPath: abandoned.data + "/postmaster.pid") {
                try? pgCtl(abandoned, ["stop", "-D", abandoned.data, "-m", "immediate", "-w", "-t", "60"])
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// "<pid> <start time>" of a running process (the start time tells a reused pid apart), or "".
    private static func ownerRecord(_ pid: pid_t) -> String {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return kill(pid, 0) == 0 ? "\(pid)" : "" }
        // Fields after the command name: state is field 3, start time field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? "\(pid) \(fields[19])" : "\(pid)"
    }

    // MARK: - Commands

    private static func pgCtl(_ server: Server, _ arguments: [String]) throws {
        try run(server, "pg_ctl", arguments)
    }

    /// Runs a PostgreSQL program to completion, as the `postgres` user when this process is root.
    ///
    /// Foundation's `Process` learns that a child ended when a socket it passes to the child is
    /// closed, and the postmaster that `pg_ctl start` leaves running would inherit that socket
    /// and hold it for as long as it runs. For such a program (`startsDaemon`), a bash in
    /// between keeps the socket and closes every descriptor above 2 for the program itself.
    private static func run(_ server: Server, _ program: String, _ arguments: [String], startsDaemon: Bool = false) throws {
        var argv = command(server, program, arguments)
        if startsDaemon {
            let script = #"closes=""; for path in /proc/$$/fd/*; do fd=${path##*/}; [ "$fd" -gt 2 ] && closes="$closes $fd>&-"; done; eval "\"\$@\"$closes""#
            argv = ["/bin/bash", "-c", script, "bash"] + argv
        }
        let result = runProcess(
            URL(fileURLWithPath: argv[0]), Array(argv.dropFirst()),
            in: URL(fileURLWithPath: server.directory))
        guard result.status == 0 else {
            throw ClusterError("\(program) \(arguments.prefix(1).joined()) failed (status \(result.status)): \(result.stderr)\(result.stdout)")
        }
    }

    private static func command(_ server: Server, _ program: String, _ arguments: [String]) -> [String] {
        let path = server.binaries + "/" + program
        return serverUser == nil ? [path] + arguments : [runuser, "-u", "postgres", "--", path] + arguments
    }

    /// The `postgres` account when this process is root (PostgreSQL will not run as root).
    private static let serverUser: (uid: uid_t, gid: gid_t)? = {
        guard getuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }()

    private static let runuser: String = {
        ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? "runuser"
    }()

    /// The directory of `initdb`, `pg_ctl`, `pg_isready`: the one `initdb` on PATH resolves to,
    /// else `pg_config --bindir`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian).
    private static func binaryDirectory() throws -> String {
        let fm = FileManager.default
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("initdb")
            if fm.isExecutableFile(atPath: candidate.path) {
                return candidate.resolvingSymlinksInPath().deletingLastPathComponent().path
            }
        }
        let pgConfig = runProcess(URL(fileURLWithPath: "/usr/bin/pg_config"), ["--bindir"])
        let reported = pgConfig.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if pgConfig.status == 0, fm.isExecutableFile(atPath: reported + "/initdb") { return reported }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        throw ClusterError("no initdb found (PATH, pg_config, /usr/lib/postgresql/*/bin): install postgresql (tools/test does), or set SHIPLOG_TEST_POSTGRES to a server's URL")
    }

    /// `<tmp>/shiplog-pg`, shared by every test process of this machine. The server user must
    /// be able to reach it, and the socket path must stay under the kernel's 107 bytes, so a
    /// `$TMPDIR` that is long or closed to other users is passed over for /tmp.
    private static func clusterRoot() throws -> String {
        var base = NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        if base.count > 60 || (serverUser != nil && !traversableByOthers(base)) { base = "/tmp" }
        let root = base + "/shiplog-pg"
        mkdir(root, 0o755)
        chmod(root, 0o755)
        var info = stat()
        guard lstat(root, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ClusterError("cannot create the directory \(root) for test clusters")
        }
        return root
    }

    private static func traversableByOthers(_ path: String) -> Bool {
        var url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        while true {
            var info = stat()
            guard stat(url.path, &info) == 0, info.st_mode & S_IXOTH != 0 else { return false }
            if url.path == "/" { return true }
            url.deleteLastPathComponent()
        }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard bound else { throw ClusterError("cannot find a free port on 127.0.0.1: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - URLs

    private func url(_ server: Server, database: String) -> String {
        guard let existing = server.existing else {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+#")
            let socket = server.directory.addingPercentEncoding(withAllowedCharacters: allowed) ?? server.directory
            return "postgresql:///\(database)?host=\(socket)&port=\(server.port)&user=postgres"
        }
        return Self.replacingDatabase(in: existing, with: database)
    }

    /// `url` naming `database` instead of its own: the path of a URI, or a `dbname` keyword
    /// appended to a connection string (a later keyword wins in libpq).
    static func replacingDatabase(in url: String, with database: String) -> String {
        for scheme in ["postgresql://", "postgres://"] where url.lowercased().hasPrefix(scheme) {
            let rest = url.dropFirst(scheme.count)
            let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
            let authorityEnd = rest[..<queryStart].firstIndex(of: "/") ?? queryStart
            return String(url.prefix(scheme.count)) + rest[..<authorityEnd] + "/" + database + rest[queryStart...]
        }
        return url + " dbname=" + database
    }

    private func withAdminConnection<T>(_ server: Server, _ body: (PGConnection) throws -> T) throws -> T {
        let admin = try PGConnection(url: server.existing ?? url(server, database: "postgres"), applicationName: "shiplog-tests")
        defer { admin.close() }
        return try body(admin)
    }
}

/// Why the test cluster could not do what a test asked.
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

private func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
