extension Pipeline {
    /// Warnings about a pipeline that is valid but probably not what was meant. They do not
    /// stop a deployment; the runner shows them before it starts.
    public func validate() -> [String] {
        var warnings: [String] = []
        if preflight.isEmpty {
            warnings.append("no preflight checks: the deployment starts without verifying the required status checks")
        }
        if health.checks.isEmpty {
            if health.smoke == nil {
                warnings.append("no health checks: the deployment is declared healthy without being checked")
            } else {
                warnings.append("no health checks: only the smoke tests verify the deployment")
            }
        } else if !health.checks.contains(where: \.critical) && health.smoke == nil {
            warnings.append("no critical health checks: a failing check never fails the deployment or triggers the rollback")
        }
        if rollback == nil {
            warnings.append("no rollback step: a failed health check will leave the deployment failed")
        }

        // Whether every attempt of one check fits in the total timeout.
        if !health.checks.isEmpty {
            let attempts = health.retries
            let worstCase = health.timeout * attempts + health.interval * (attempts - 1)
            if worstCase > health.totalTimeout {
                warnings.append(
                    """
                    health: total_timeout \(PipelineSyntax.format(health.totalTimeout)) ends before all \
                    \(attempts) attempts can run (up to \(PipelineSyntax.format(worstCase)) with timeout \
                    \(PipelineSyntax.format(health.timeout)) and interval \(PipelineSyntax.format(health.interval)))
                    """)
            }
        }

        if health.caFile != nil, !health.checks.contains(where: { $0.url?.lowercased().hasPrefix("https://") ?? false }) {
            warnings.append("health.ca_file is set but no check uses an https:// URL")
        }
        for (index, check) in health.checks.enumerated() {
            if let url = check.url, url.lowercased().hasPrefix("http://"), !Self.isLoopback(url) {
                warnings.append("health.checks[\(index)] (\(check.name)): \(url) is plain http; its answers are not authenticated")
            }
        }
        if let migrate, migrate.onInterrupt == .rerun {
            warnings.append("migrate: on_interrupt is rerun, so an interrupted migration runs again; make sure the migration command is idempotent or set on_interrupt: fail")
        }
        return warnings
    }

    private static func isLoopback(_ url: String) -> Bool {
        let rest = url.dropFirst("http://".count)
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let name =
            host.hasPrefix("[")
            ? String(host.prefix { $0 != "]" }) + "]"
            : String(host.prefix { $0 != ":" })
        return name == "localhost" || name.hasPrefix("127.") || name == "[::1]"
    }
}
