// The benchmark harness: `tools/bench [--quick] [--json] [--backend postgres]` builds this in release and runs it.
import Foundation

let usage = """
    usage: shiplog-bench [--quick] [--json] [--only LIST] [--ledger PATH] [--one-thread] [--append-tx LIST]
                         [--shiplog PATH] [--baseline PATH] [--schema PATH] [--testserver PATH]
                         [--backend sqlite|postgres] [--pg-url URL] [--pg-baseline PATH] [--pg-schema PATH]

      --quick       small sizes and one run of each workload, in seconds
      --json        print the figures as JSON on stdout (the table goes to stderr)
      --only LIST   only these workloads, comma-separated: \(Bench.workloads.joined(separator: ","))
      --ledger PATH keep the large ledger here, and reuse it on later runs (for profiling one workload)
      --one-thread  verify, read and rebuild on one thread (to compare with the default two threads)
      --append-tx LIST  only the append workloads of these transaction sizes (1,20,1000), to profile one
      --shiplog     the release shiplog binary (default: next to this program)
      --baseline    the compiled tools/bench-baseline.c (default: next to this program)
      --schema      migrations/0001_events.sql, for the C baseline
      --testserver  tools/testserver.py, the loopback HTTP server for the health checks
      --backend     sqlite (default: ledgers are files in a temporary directory) or postgres
                    (each ledger a database of the cluster --pg-url names, dropped afterwards)
      --pg-url      the PostgreSQL cluster without a database name, e.g.
                    postgresql:///?host=/tmp/pg&port=5432&user=postgres (tools/pg writes it to DIR/url)
      --pg-baseline the compiled tools/bench-baseline-pg.c (default: next to this program)
      --pg-schema   migrations/postgres/0001_events.pg.sql, for the PostgreSQL C baseline
    """

var options = Bench.Options()
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value() -> String {
        guard let v = arguments.popFirst() else {
            FileHandle.standardError.write(Data("shiplog-bench: \(argument) needs a value\n\(usage)\n".utf8))
            exit(2)
        }
        return v
    }
    switch argument {
    case "--quick": options.quick = true
    case "--json": options.json = true
    case "--shiplog": options.shiplog = value()
    case "--baseline": options.baseline = value()
    case "--schema": options.schema = value()
    case "--testserver": options.testserver = value()
    case "--ledger": options.ledger = value()
    case "--one-thread": options.oneThread = true
    case "--append-tx":
        let sizes = value().split(separator: ",").map { Int($0) }
        guard sizes.allSatisfy({ $0 != nil }) else {
            FileHandle.standardError.write(Data("shiplog-bench: --append-tx takes sizes such as 1,20,1000\n\(usage)\n".utf8))
            exit(2)
        }
        options.appendSizes = Set(sizes.compactMap { $0 })
    case "--backend":
        options.backend = value()
        guard ["sqlite", "postgres"].contains(options.backend) else {
            FileHandle.standardError.write(Data("shiplog-bench: unknown backend \(options.backend) (sqlite or postgres)\n\(usage)\n".utf8))
            exit(2)
        }
    case "--pg-url": options.pgURL = value()
    case "--pg-baseline": options.pgBaseline = value()
    case "--pg-schema": options.pgSchema = value()
    case "--only":
        options.only = Set(value().split(separator: ",").map(String.init))
        if let unknown = options.only.first(where: { !Bench.workloads.contains($0) }) {
            FileHandle.standardError.write(Data("shiplog-bench: unknown workload \(unknown)\n\(usage)\n".utf8))
            exit(2)
        }
    case "-h", "--help": print(usage); exit(0)
    default:
        FileHandle.standardError.write(Data("shiplog-bench: unknown argument \(argument)\n\(usage)\n".utf8))
        exit(2)
    }
}

do {
    let report = try Bench(options).run()
    if options.json {
        FileHandle.standardError.write(Data(report.table().utf8))
        print(report.json())
    } else {
        print(report.table(), terminator: "")
    }
} catch {
    FileHandle.standardError.write(Data("shiplog-bench: \(error)\n".utf8))
    exit(1)
}
