import CSpawn

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Questions about a step's process group.
enum ProcessGroup {
    /// Whether the group still has a member that is not a zombie.
    ///
    /// `kill(-pgid, 0)` alone counts zombies: a killed orphan stays a zombie, still in the
    /// group, until whatever adopted it reaps it, and in a container whose first process does
    /// not reap, that is never. So when the group exists, its members are looked up in /proc.
    /// Without /proc, any member counts.
    static func hasLiveMembers(_ pgid: pid_t) -> Bool {
        if shiplog_kill_group(pgid, 0) == ESRCH { return false }
        #if os(Linux)
            guard let proc = opendir("/proc") else { return true }
            defer { closedir(proc) }
            while let entry = readdir(proc) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard let pid = pid_t(name), let (state, group) = stateAndGroup(of: pid) else { continue }
                if group == pgid && state != UInt8(ascii: "Z") && state != UInt8(ascii: "X") { return true }
            }
            return false
        #else
            return true
        #endif
    }

    /// The state letter and process group of `pid`, from /proc/PID/stat:
    /// "PID (COMM) STATE PPID PGRP …", where COMM may itself hold spaces and parentheses.
    static func stateAndGroup(of pid: pid_t) -> (state: UInt8, group: pid_t)? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Posix.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = buffer[..<count]
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 3, let state = fields[0].first,
            let group = pid_t(String(decoding: fields[2], as: UTF8.self))
        else { return nil }
        return (state, group)
    }
}
