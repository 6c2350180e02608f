import ArgumentParser
import EventStore
import Foundation
import Runner
import Ledger
import ShiplogFiles

/// Shiplog's exit codes. Documented in `shiplog --help` and README.md.
enum Exit {
    static let ok: Int32 = 0
    /// deploy: the deployment failed and was rolled back to the last stable version.
    static let rolledBack: Int32 = 1
    /// deploy: the deployment failed and no successful rollback happened: the environment may
    /// be broken.
    static let failed: Int32 = 2
    /// verify: the ledger's history does not verify.
    static let integrity: Int32 = 3
    /// The deployment, version or artifact asked for does not exist.
    static let notFound: Int32 = 4
    /// Refused: a conflicting writer, an active deployment, a step out of order.
    static let refused: Int32 = 5
    /// deploy: the deployment failed before anything in the environment changed (nothing to
    /// roll back).
    static let failedUnchanged: Int32 = 6
    /// deploy --no-wait: the deployment waits for approval; `resume` continues it.
    static let waitingForApproval: Int32 = 7
    /// deploy/resume stopped by SIGINT (130) or SIGTERM (143): `shiplog resume ID` continues.
    static let interruptedBySIGINT: Int32 = 130
    static let interruptedBySIGTERM: Int32 = 143
    static let usage: Int32 = 64
    /// Bad input: malformed JSON, pipeline file or import file.
    static let dataError: Int32 = 65
    /// Internal error (a bug): please report it.
    static let software: Int32 = 70
    /// The ledger or an output file cannot be written (read-only, disk full).
    static let cannotWrite: Int32 = 73
    /// The ledger cannot be read (not a ledger, damaged, cannot be opened).
    static let ioError: Int32 = 74
    /// Locked by another process past the busy timeout: retry.
    static let tempFail: Int32 = 75
    /// The ledger's schema is newer, was altered, or is not initialized.
    static let config: Int32 = 78

    static let helpText = """
        EXIT CODES
          0   success
          1   deploy/resume: the deployment failed and was rolled back;
              check: a critical health check is unhealthy
          2   deploy/resume: the deployment failed and the environment may be broken
              (a migration or the deploy step ran; no rollback succeeded)
          3   verify: the chain or the projection tables do not verify;
              import --expect: the history differs from the pinned digest
          4   not found (deployment, stable version, artifact)
          5   refused (another writer, an active deployment, a step out of order)
          6   deploy/resume: the deployment failed before anything in the environment
              changed (a preflight check; a build or image failure without a
              migration; an approval refused): nothing to roll back
          7   deploy/resume --no-wait: the deployment waits for approval; resume continues it
          64  usage error
          65  bad input (malformed JSON, pipeline file or import file)
          73  cannot write (read-only file or directory, disk full)
          74  cannot read the ledger (not a ledger, damaged)
          75  locked by another process: retry
          78  newer schema, altered migrations, or no ledger yet (run init)
          130 deploy/resume: interrupted by SIGINT (Ctrl-C); `shiplog resume ID`
              continues the deployment
          143 deploy/resume: interrupted by SIGTERM; as 130
        """
}

/// A failure the CLI reports: one message on stderr (and one line per further mistake, when
/// there are several, as in a pipeline file), one exit code.
struct Failure: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    /// Further mistakes, each printed on a line of its own after `message`.
    var more: [String] = []
    var description: String { ([message] + more).joined(separator: "\n") }

    init(_ message: String, code: Int32, more: [String] = []) {
        self.message = message
        self.code = code
        self.more = more
    }

    /// Every mistake of a pipeline file, one per line (exit 65).
    init(pipeline error: PipelineError, note: String = "") {
        let all = error.all.map(\.summary)
        self.init(all[0] + note, code: Exit.dataError, more: Array(all.dropFirst()))
    }

    /// The exit code for an error from any layer.
    static func code(for error: Error) -> Int32 {
        switch error {
        case let failure as Failure: return failure.code
        case let e as EventStoreError:
            switch e {
            case .wrongExpectedVersion, .idempotencyConflict: return Exit.refused
            case .notADatabase, .corrupt, .cannotOpen, .unusablePath, .sqlite, .server: return Exit.ioError
            case .locked: return Exit.tempFail
            case .readOnly, .diskFull: return Exit.cannotWrite
            case .newerSchema, .migrationChecksumMismatch, .notInitialized: return Exit.config
            case .invalidEvent: return Exit.dataError
            }
        case let e as LedgerError:
            switch e {
            case .notFound: return Exit.notFound
            case .refused: return Exit.refused
            case .invalid: return Exit.dataError
            case .storage: return Exit.cannotWrite
            case .mismatch: return Exit.integrity
            }
        case is HistoryViolation: return Exit.dataError
        case is EventDecodingError: return Exit.ioError
        case is StepLogError, is FileError: return Exit.cannotWrite
        case let e as StepProcessError:
            if case .cannotStart = e { return Exit.dataError }
            return Exit.software
        default: return Exit.software
        }
    }
}

/// Runs a command body, turning any error into one line on stderr (secrets redacted, control
/// characters shown as escapes: errors echo what was typed) and its exit code.
func reporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as CleanExit {
        throw error
    } catch let failure as Failure {
        TerminalText.error(failure.message)
        for line in failure.more { TerminalText.error(line) }
        throw ExitCode(failure.code)
    } catch {
        TerminalText.error("\(error)")
        throw ExitCode(Failure.code(for: error))
    }
}
