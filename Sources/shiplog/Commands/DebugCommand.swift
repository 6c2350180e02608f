import ArgumentParser

/// Hidden tools for Shiplog's own tests, fault suite and benchmark.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Tools for Shiplog's own tests.", shouldDisplay: false, subcommands: [])
}
