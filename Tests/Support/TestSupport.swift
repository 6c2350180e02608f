import Foundation

// ShiplogTestSupport: the few tools every test target shares.
//
// - `TemporaryDirectory`: a fresh directory per test, removed when released.
// - `ShiplogBinary.url` and `runShiplog(_:environment:in:)`: the built `shiplog` executable.
// - `sqlite3(_:_:)`: the real `sqlite3` shell, for changing a ledger behind the store's back.
// - `ChildProcess` and `runProcess(_:_:environment:in:input:)`: any other child process.
// - `sha256(ofFile:)`: a file's digest, to prove a file was left untouched.

/// How a child process ended and what it printed.
///
/// `status` is the exit status, or 128 + the signal number when a signal ended the process
/// (as a shell reports it), or 127 when it could not be started (the reason is in `stderr`).
public typealias ProcessOutput = (status: Int32, stdout: String, stderr: String)
