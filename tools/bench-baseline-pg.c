/*
 * The plain-SQL baseline for `tools/bench --backend postgres`: what this machine can do
 * against a PostgreSQL server through libpq with Shiplog's schema, payloads and hash chain, and
 * nothing else. Shiplog's append rates on PostgreSQL are reported as a ratio to these figures.
 *
 *   bench-baseline-pg append --schema migrations/postgres/0001_events.pg.sql --db URL
 *                            --events N --per-tx K [--stream-size 20]
 *       URL names an empty database; the schema is created in it. Each transaction locks the
 *       head row (SELECT … FROM ledger_head FOR UPDATE), reads each touched stream's version,
 *       inserts K events with their UUIDv7 ids, ~400-byte JSON data and SHA-256 chain hashes
 *       (docs/HASH-CHAIN.md), moves the head, and commits (synchronous_commit as the server
 *       says: on by default, so every commit waits for its WAL flush). Every statement is
 *       prepared once and sent with PQexecPrepared, parameters as text.
 *
 *   bench-baseline-pg read --db URL
 *       Reads every event in position order as the PostgreSQL store pages through them (keyset
 *       pages of 2,000 rows on the primary key, text format) and touches every column: a
 *       ceiling for `read all + decode`, which also makes strings and decodes the payloads.
 *
 * Each prints one JSON object: {"events": N, "seconds": S, "events_per_s": R}.
 *
 * Build: cc -O2 -o bench-baseline-pg tools/bench-baseline-pg.c $(pkg-config --cflags libpq) -lpq -lcrypto
 */
#define _GNU_SOURCE
#include <libpq-fe.h>

#include "bench-baseline-common.h"

static PGconn *conn;

static void die(const char *what) {
    fprintf(stderr, "bench-baseline-pg: %s: %s", what, conn ? PQerrorMessage(conn) : "failed\n");
    exit(1);
}

/* Runs `sql` (one or more statements, no parameters) and checks that it succeeded. */
static void exec(const char *sql) {
    PGresult *r = PQexec(conn, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) die(sql);
    PQclear(r);
}

static void prepare(const char *name, const char *sql, int parameters) {
    PGresult *r = PQprepare(conn, name, sql, parameters, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) die(sql);
    PQclear(r);
}

static PGresult *run(const char *name, int count, const char *const *values, ExecStatusType expected) {
    PGresult *r = PQexecPrepared(conn, name, count, values, NULL, NULL, 0);
    if (PQresultStatus(r) != expected) die(name);
    return r;
}

static int cmd_append(const char *schema_path, const char *url, long events, long per_tx, long stream_size) {
    conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) die("connect");
    exec(read_file(schema_path));
    prepare("head", "SELECT position, hash FROM ledger_head FOR UPDATE", 0);
    prepare("version", "SELECT max(version) FROM events WHERE stream = $1", 1);
    prepare("insert",
            "INSERT INTO events (position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10);
    prepare("move", "UPDATE ledger_head SET position = $1, hash = $2", 2);
    static const char type[] = "BenchEventRecorded", metadata[] = "{}";
    char id[37], when[25], stream[64], hex[65], position_text[24], version_text[24];
    unsigned char prev[32], digest[32];
    /* The payloads are made before the clock starts (the Swift side does the same). */
    char *payloads = malloc((size_t)events * 512);
    for (long i = 0; i < events; i++) {
        snprintf(stream, sizeof stream, "deployment-bench-%06ld", i / stream_size);
        payload(payloads + i * 512, i, stream);
    }

    double start = now_seconds();
    long done = 0;
    while (done < events) {
        exec("BEGIN");
        PGresult *r = run("head", 0, NULL, PGRES_TUPLES_OK);
        if (PQntuples(r) != 1) die("the ledger_head row is missing");
        int64_t position = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        from_hex(PQgetvalue(r, 0, 1), 64, prev);
        PQclear(r);
        timestamp(when);
        long in_tx = per_tx < events - done ? per_tx : events - done;
        int64_t version_now = 0;
        long open_stream = -1;
        for (long k = 0; k < in_tx; k++, done++) {
            long s = done / stream_size;
            snprintf(stream, sizeof stream, "deployment-bench-%06ld", s);
            if (s != open_stream) {
                open_stream = s;
                const char *values[] = {stream};
                r = run("version", 1, values, PGRES_TUPLES_OK);
                version_now = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
                PQclear(r);
            }
            version_now++;
            position++;
            uuidv7(id);
            const char *data = payloads + done * 512;
            hash_event(prev, position, id, stream, version_now, type, data, strlen(data), metadata, when, digest);
            to_hex(digest, 32, hex);
            memcpy(prev, digest, 32);
            snprintf(position_text, sizeof position_text, "%lld", (long long)position);
            snprintf(version_text, sizeof version_text, "%lld", (long long)version_now);
            const char *values[] = {position_text, id, stream, version_text, type, "1", data, metadata, when, hex};
            PQclear(run("insert", 10, values, PGRES_COMMAND_OK));
        }
        to_hex(prev, 32, hex);
        const char *values[] = {position_text, hex};
        PQclear(run("move", 2, values, PGRES_COMMAND_OK));
        exec("COMMIT");
    }
    double seconds = now_seconds() - start;
    printf("{\"events\": %ld, \"seconds\": %.6f, \"events_per_s\": %.1f}\n", events, seconds, events / seconds);
    PQfinish(conn);
    free(payloads);
    return 0;
}

static int cmd_read(const char *url) {
    conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) die("connect");
    prepare("page",
            "SELECT position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash "
            "FROM events WHERE position > $1 ORDER BY position LIMIT 2000", 1);
    double start = now_seconds();
    long events = 0;
    uint64_t bytes = 0;
    char after[24] = "0";
    for (;;) {
        const char *values[] = {after};
        PGresult *r = run("page", 1, values, PGRES_TUPLES_OK);
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < 10; c++) {
                const char *t = PQgetvalue(r, i, c);
                bytes += (uint64_t)PQgetlength(r, i, c) + (unsigned char)t[0];
            }
            events++;
        }
        if (rows > 0) snprintf(after, sizeof after, "%s", PQgetvalue(r, rows - 1, 0));
        PQclear(r);
        if (rows < 2000) break;
    }
    double seconds = now_seconds() - start;
    printf("{\"events\": %ld, \"seconds\": %.6f, \"events_per_s\": %.1f, \"checksum\": %llu}\n", events, seconds,
           events / seconds, (unsigned long long)bytes);
    PQfinish(conn);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "read") == 0) return cmd_read(option(argc, argv, "--db", NULL));
    if (argc < 2 || strcmp(argv[1], "append") != 0) {
        fprintf(stderr, "usage: bench-baseline-pg append --schema FILE --db URL --events N --per-tx K [--stream-size 20], "
                        "or read --db URL; see the comment at the top of the source\n");
        return 2;
    }
    chain_init();
    return cmd_append(option(argc, argv, "--schema", NULL), option(argc, argv, "--db", NULL),
                      atol(option(argc, argv, "--events", NULL)), atol(option(argc, argv, "--per-tx", NULL)),
                      atol(option(argc, argv, "--stream-size", "20")));
}
