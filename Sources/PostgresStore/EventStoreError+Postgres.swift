import EventStore
import PostgresClient

extension EventStoreError {
    /// The one place a PostgreSQL failure becomes the error a caller acts on. The server is
    /// named without its password (`PostgresError.server`); bound values never appear.
    init(_ error: PostgresError) {
        let location = error.server
        let advice = error.advice.map { " \($0)" } ?? ""
        switch error.kind {
        case .connectionFailed:
            self = .server(location: location, detail: "cannot connect: \(error.message).\(advice)")
        case .connectionLost:
            self = .server(
                location: location,
                detail: """
                    the connection to the server was lost (\(error.message)): what was acknowledged before is recorded, \
                    the operation that was under way was not. Run the command again once the server answers; a deployment \
                    continues with `shiplog resume ID`
                    """)
        case .lockTimeout:
            self = .locked(path: location)
        case .readOnly:
            self = .readOnly(path: location, detail: error.message)
        case .diskFull:
            self = .diskFull(path: location)
        default:
            self = .server(location: location, detail: error.message + advice)
        }
    }
}

/// Runs `body`, turning every PostgreSQL failure into the `EventStoreError` a caller acts on:
/// every call the store, its projections and its artifact blobs make goes through it.
@discardableResult
func pg<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as PostgresError { throw EventStoreError(error) }
}
