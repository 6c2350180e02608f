@_exported import EventStore
