// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Shiplog",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "shiplog", targets: ["shiplog"]),
        .executable(name: "shiplog-bench", targets: ["shiplog-bench"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Runner", targets: ["Runner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, reached only through a module map and a header of small shims.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),

        // The SQL files in migrations/ are the schema; this target embeds them in the binary.
        .target(name: "ShiplogMigrations", path: "migrations",
                exclude: ["README.md"],
                resources: [
                    .embedInCode("0001_events.sql"),
                    .embedInCode("0002_projections.sql"),
                    .embedInCode("0003_artifact_facts.sql"),
                    .embedInCode("0004_commit_time.sql"),
                    .embedInCode("0005_operator_records.sql"),
                    .embedInCode("postgres/0001_events.pg.sql"),
                    .embedInCode("postgres/0002_projections.pg.sql"),
                    .embedInCode("postgres/0003_artifact_blobs.pg.sql"),
                    .embedInCode("postgres/0004_commit_time.pg.sql"),
                    .embedInCode("postgres/0005_operator_records.pg.sql"),
                ]),

        // fork/exec with a parent-death signal: Swift cannot run code between fork and exec.
        .target(name: "CSpawn"),

        // Creating, opening and replacing files safely (no symlinks followed, no predictable
        // temporary names, private permissions): every file Shiplog writes goes through it.
        .target(name: "ShiplogFiles"),

        // Time as the ledger writes it: the one value type the domain and the store share.
        .target(name: "ShiplogCore"),
        // The pure domain: events, DeploymentState (evolve, decide, next, admit), identifiers.
        // No store, no clock, no I/O: times and ids arrive as values.
        .target(name: "Domain", dependencies: ["ShiplogCore"]),
        // The ports: the event store's protocol and value types, the hash chain, JSON and time text.
        .target(name: "EventStore", dependencies: ["CCrypto", "ShiplogFiles", "ShiplogCore"]),
        // The SQLite backend: the only code that imports CSQLite or writes SQL for SQLite.
        .target(name: "SQLiteStore", dependencies: ["EventStore", "Ledger", "CSQLite", "ShiplogMigrations", "ShiplogFiles"]),
        .target(name: "Ledger", dependencies: ["Domain", "EventStore", "ShiplogFiles"]),
        // A synchronous libpq client (the only code that imports CLibPQ), for the PostgreSQL event store.
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),
        // The PostgreSQL backend: the only code that writes SQL for PostgreSQL.
        .target(name: "PostgresStore", dependencies: ["EventStore", "Ledger", "PostgresClient", "ShiplogMigrations"]),
        .target(name: "Runner", dependencies: [
            "Ledger", "EventStore", "ShiplogFiles", "CCurl", "CSpawn", "CCrypto",
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "shiplog", dependencies: [
            "Runner", "Ledger", "EventStore", "SQLiteStore", "PostgresStore", "ShiplogFiles",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // A seeded generator the tests and the benchmark share (SplitMix64).
        .target(name: "SeededRandom"),

        // Temp directories, the built binary, child processes and loopback servers for every suite.
        .target(name: "ShiplogTestSupport", dependencies: ["EventStore", "SQLiteStore", "PostgresClient"], path: "Tests/Support"),
        // Measures the store, projections, queries and health checks at scale: tools/bench.
        .executableTarget(name: "shiplog-bench", dependencies: ["Runner", "Ledger", "EventStore", "SQLiteStore", "PostgresStore", "PostgresClient", "SeededRandom"],
                          path: "Sources/ShiplogBench"),

        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "SQLiteStore", "ShiplogTestSupport", "SeededRandom"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "EventStore", "SQLiteStore", "ShiplogTestSupport", "SeededRandom"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "Ledger", "EventStore", "SQLiteStore", "PostgresStore", "ShiplogTestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["EventStore", "SQLiteStore", "ShiplogTestSupport"]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "ShiplogTestSupport"]),
        // The event store, projections and ledger rules on both backends, one suite with the backend as its parameter.
        .testTarget(name: "BackendTests", dependencies: ["EventStore", "Ledger", "Runner", "SQLiteStore", "PostgresStore", "ShiplogTestSupport"]),
    ]
)
