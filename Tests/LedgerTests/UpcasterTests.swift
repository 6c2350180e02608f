import SQLiteStore
import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// `DeploymentRequested` schema 1 carried `services` as one comma-separated string and no
/// `triggered_by`; today's reader upcasts it. The fixture is a ledger file holding such an event.
@Suite("Upcasting DeploymentRequested v1")
struct UpcasterTests {
    static let fixtureName = "deployment-requested-v1.db"
    static let deploymentID = "1732010400-abc123def456"

    /// A copy of the fixture in a fresh temporary directory: the fixture itself is never opened in place.
    func fixtureCopy() throws -> (TemporaryDirectory, String) {
        let source = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent(Self.fixtureName)
        try #require(FileManager.default.fileExists(atPath: source.path), "missing fixture \(Self.fixtureName): see Fixtures/README.md")
        let directory = try TemporaryDirectory(prefix: "shiplog-upcast")
        let path = directory.file("ledger.db")
        try FileManager.default.copyItem(atPath: source.path, toPath: path)
        return (directory, path)
    }

    @Test func aV1LedgerFileIsReadWithServicesSplitAndAnUnknownTrigger() throws {
        let (directory, path) = try fixtureCopy()
        let store = try SQLiteEventStore(path: path, mode: .existing)
        #expect(try store.verify(expect: nil, progress: nil).isIntact)
        let raw = try #require(try store.readStream(Ledger.stream(deployment: Self.deploymentID), from: 1).first)
        #expect(raw.type == "DeploymentRequested")
        #expect(raw.schema == 1)
        #expect(raw.data.contains(#""services":"api-gateway, auth-service,education-service,marketplace-service""#))
        #expect(!raw.data.contains("triggered_by"))

        let ledger = Ledger(store: store)
        #expect(try ledger.rebuild() == (try store.head()).position)
        let state = try ledger.load(Self.deploymentID)
        let request = try #require(state.request)
        #expect(request.services == ["api-gateway", "auth-service", "education-service", "marketplace-service"])
        #expect(request.triggeredBy == "unknown")
        #expect(request.mode == .record)
        #expect(request.phases.isEmpty)
        #expect(request.previousStableID == nil)
        #expect(state.status == .success)

        let record = try #require(try Queries(store: store).record(Self.deploymentID))
        #expect(record.servicesDeployed == #"["api-gateway","auth-service","education-service","marketplace-service"]"#)
        #expect(record.triggeredBy == "unknown")
        #expect(record.status == "success")
        #expect(record.healthChecks == #"{"api_gateway":"healthy","auth_service":"healthy","database":"healthy","smoke_tests":"passed"}"#)
        #expect(try Ledger(store: store).lastStableRecord(environment: "staging")?.deploymentID == Self.deploymentID)
        #expect(try Queries(store: store).activeDeployments().isEmpty)

        // Upcasting is on read only: the stored event keeps its bytes and schema.
        #expect(try store.readStream(Ledger.stream(deployment: Self.deploymentID), from: 1).first == raw)
        withExtendedLifetime(directory) {}
    }

    @Test func aNewDeploymentOnAV1LedgerTakesTheOldOneAsItsRollbackTarget() throws {
        let (directory, path) = try fixtureCopy()
        let store = try SQLiteEventStore(path: path, mode: .existing)
        let ledger = Ledger(store: store, clock: { Date(timeIntervalSince1970: 1_732_100_000) })
        try ledger.rebuild()
        let next = try ledger.request(
            environment: "staging", gitSHA: sha(9), gitRef: "refs/heads/main", services: ["api-gateway"],
            triggeredBy: "ci", mode: .record)
        #expect(next.request?.previousStableID == Self.deploymentID)
        #expect(next.request?.previousStableSHA == "abc123def4567890abc123def4567890abc12345")
        withExtendedLifetime(directory) {}
    }

    @Test func theV1ReaderSplitsTrimsAndDropsEmptyNames() throws {
        let event = RecordedEvent(
            position: 1, eventID: "01936a4c-0000-7000-8000-000000000001", stream: "deployment-x", version: 1,
            type: "DeploymentRequested", schema: 1,
            data: #"{"deployment_id":"x","environment":"staging","git_sha":"abc","git_ref":"refs/heads/main","services":" a ,b,, c "}"#,
            metadata: "{}", recordedAt: "2024-11-19T10:00:00.000Z", hash: "")
        guard case .deploymentRequested(let request)? = try DeploymentEvent.decode(event) else {
            Issue.record("not read as a request")
            return
        }
        #expect(request.services == ["a", "b", "c"])
        #expect(request.triggeredBy == "unknown")
        // Schema 2 is today's shape and is read as written.
        var current = event
        current.schema = 2
        current.data =
            DeploymentEvent.deploymentRequested(
                DeploymentRequest(
                    deploymentID: "x", environment: "staging", gitSHA: "abc", gitRef: "r", services: ["a", "b"], triggeredBy: "ci", mode: .run)
            )
            .makeNewEvent().data
        guard case .deploymentRequested(let today)? = try DeploymentEvent.decode(current) else {
            Issue.record("not read as a request")
            return
        }
        #expect(today.services == ["a", "b"])
        #expect(today.triggeredBy == "ci")
    }

    /// Writes the fixture into the source tree. Run only on purpose, see Fixtures/README.md.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SHIPLOG_WRITE_LEDGER_FIXTURES"] == "1"))
    func writeFixture() throws {
        let target = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(Self.fixtureName).path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: target + suffix) }
        try V1Fixture.write(to: target)
        #expect(FileManager.default.fileExists(atPath: target))
        #expect(!FileManager.default.fileExists(atPath: target + "-wal"))
    }
}

/// The events of the fixture, written through the store API exactly as a v1 writer left them.
enum V1Fixture {
    static func write(to path: String) throws {
        let start = Date(timeIntervalSince1970: 1_732_010_400)  // 2024-11-19T10:00:00Z
        let tick = TestClock(start)
        var n = 0
        func id() -> String {
            n += 1
            let digits = String(n)
            return "01936a4c-0000-7000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
        }
        do {
            let store = try SQLiteEventStore(path: path, clock: { tick.now })
            let deployment = "deployment-1732010400-abc123def456"
            let environment = "environment-staging"
            func event(_ type: String, _ json: String) -> NewEvent { NewEvent(id: id(), type: type, schema: 1, data: json) }

            try store.append([
                StreamAppend(
                    stream: deployment, expected: .noStream,
                    events: [
                        event(
                            "DeploymentRequested",
                            """
                            {"deployment_id":"1732010400-abc123def456","environment":"staging","git_sha":"abc123def4567890abc123def4567890abc12345",\
                            "git_ref":"refs/heads/main","services":"api-gateway, auth-service,education-service,marketplace-service"}
                            """)
                    ]),
                StreamAppend(stream: environment, expected: .noStream, events: [event("EnvironmentLocked", #"{"deployment_id":"1732010400-abc123def456"}"#)]),
            ])
            var version: Int64 = 1
            func append(_ events: [NewEvent]) throws {
                tick.advance(60)
                try store.append(events, to: deployment, expected: .exactly(version))
                version += Int64(events.count)
            }
            try append([event("MigrationSucceeded", #"{"phase":"migrate"}"#)])
            try append(
                ["api-gateway", "auth-service", "education-service", "marketplace-service"].map {
                    event("ServiceDeployed", #"{"service":"\#($0)"}"#)
                })
            try append(
                ["api_gateway", "auth_service", "database"].map {
                    event("ServiceHealthy", #"{"service":"\#($0)","attempts":1,"round":"deploy"}"#)
                })
            try append([event("SmokeTestsPassed", #"{"phase":"smoke"}"#)])
            tick.advance(60)
            try store.append([
                StreamAppend(stream: deployment, expected: .exactly(version), events: [event("DeploymentSucceeded", #"{"status":"success"}"#)]),
                StreamAppend(
                    stream: environment, expected: .exactly(1),
                    events: [event("EnvironmentReleased", #"{"deployment_id":"1732010400-abc123def456","status":"success"}"#)]),
            ])
            try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            try store.database.execute("PRAGMA journal_mode=DELETE")
            print("fixture head:", try store.head())
        }  // the store closes here, before anyone copies the file
    }
}
