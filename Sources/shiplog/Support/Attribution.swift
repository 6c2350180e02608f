import ArgumentParser

/// `--reason` and `--by` for the commands a person answers for (mark-bad, unlock): both are
/// recorded in the ledger with the event.
struct Attribution: ParsableArguments {
    @Option(help: "Why: recorded in the ledger with the event.") var reason: String
    @Option(help: "Who (default: $GITHUB_ACTOR, else $USER, else the account name).") var by: String?

    func validate() throws {
        if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must say why") }
        if let by, by.isEmpty { throw ValidationError("--by must not be empty") }
    }

    /// The person or system the event is attributed to.
    var who: String { by ?? Who.current }
}
