import Foundation

/// Step processes of one deployment still alive on this machine.
///
/// Every step runs with `SHIPLOG_DEPLOYMENT_ID` in its environment, and so does everything it
/// starts; the kernel's copy of each process's environment (`/proc/PID/environ`) finds them
/// even after their runner died. `unlock --force` uses this to make sure no step of the
/// deployment it ends is still changing the environment.
public enum LeftoverSteps {
    /// The pids of processes whose environment names `deploymentID`, except this process and
    /// its ancestors (a step may itself run `shiplog`).
    public static func find(deploymentID: String) -> [Int32] {
        let needle = Array("SHIPLOG_DEPLOYMENT_ID=\(deploymentID)".utf8)
        let exempt = ancestors()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), !exempt.contains(pid),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { continue }
            if data.split(separator: 0).contains(where: { $0.elementsEqual(needle) }) { found.append(pid) }
        }
        return found.sorted()
    }

    /// Kills every process `find` reports, until none is left or `timeout` seconds passed;
    /// returns those still alive.
    public static func kill(deploymentID: String, timeout: Double = 10) -> [Int32] {
        let deadline = Date().addingTimeInterval(timeout)
        var alive = find(deploymentID: deploymentID)
        while !alive.isEmpty && Date() < deadline {
            for pid in alive { _ = Foundation.kill(pid, SIGKILL) }
            usleep(50_000)
            alive = find(deploymentID: deploymentID).filter { !isZombie($0) }
        }
        return alive
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    private static func ancestors() -> Set<Int32> {
        var out: Set<Int32> = [getpid()]
        var pid = getppid()
        while pid > 1, out.insert(pid).inserted {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { break }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let parent = Int32(fields[1]) else { break }
            pid = parent
        }
        return out
    }
}
