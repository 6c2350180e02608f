/// All events from a position onward, fetched a page at a time.
///
///     var pages = store.readAll(from: 1, pageSize: 1_000)
///     while let event = try pages.next() { … }
///
/// Memory holds one page, whatever the size of the ledger.
public struct EventPages {
    private let fetch: (_ from: Int64, _ limit: Int) throws -> [RecordedEvent]
    private let pageSize: Int
    private var nextPosition: Int64
    private var page: [RecordedEvent] = []
    private var index = 0
    private var exhausted = false

    public init(from position: Int64, pageSize: Int, fetch: @escaping (_ from: Int64, _ limit: Int) throws -> [RecordedEvent]) {
        precondition(pageSize > 0)
        self.fetch = fetch
        self.pageSize = pageSize
        self.nextPosition = max(position, 1)
    }

    public mutating func next() throws -> RecordedEvent? {
        if index == page.count {
            if exhausted { return nil }
            page = try fetch(nextPosition, pageSize)
            index = 0
            if page.count < pageSize { exhausted = true }
            guard let last = page.last else { return nil }
            nextPosition = last.position + 1
        }
        defer { index += 1 }
        return page[index]
    }
}
