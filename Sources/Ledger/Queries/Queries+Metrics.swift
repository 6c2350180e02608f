import EventStore
import Foundation

extension Queries {
    /// DORA's four keys over [`since`, `until`) for `environment` (every environment when nil),
    /// with the environments' own figures: the records are streamed once, oldest first, and
    /// never held (`DeliveryMetrics.Tally`). `since` nil measures from the first deployment.
    public func deliveryMetrics(environment: String?, since: Date?, until: Date) throws -> DeliveryMetrics.Tally {
        var tally = DeliveryMetrics.Tally(since: since, until: until)
        try forEachRecord(Filter(environment: environment, until: Timestamp.format(until)), newestFirst: false) { tally.add($0) }
        return tally
    }
}
