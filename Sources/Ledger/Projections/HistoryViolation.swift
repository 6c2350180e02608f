import EventStore

/// An event the domain would never have produced, found while appending or importing it.
///
/// Carries the event's position so an import can name the line that holds it.
public struct HistoryViolation: Error, Equatable, CustomStringConvertible {
    /// The offending event's position; nil for a rule about the history as a whole.
    public var position: Int64?
    public var message: String

    init(position: Int64?, _ message: String) {
        self.position = position
        self.message = message
    }

    init(_ event: RecordedEvent, _ message: String) {
        self.init(position: event.position, "\(event.type) on \(Identifier.quoted(event.stream)): \(message)")
    }

    public var description: String { message }
}
