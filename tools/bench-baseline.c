/*
 * The plain-C baseline for tools/bench: what this machine can do against libsqlite3 with
 * Shiplog's schema, pragmas, payloads and hash chain, and nothing else. Shiplog's rates are
 * reported as a ratio to these figures.
 *
 *   bench-baseline append --schema migrations/0001_events.sql --db FILE
 *                         --events N --per-tx K [--stream-size 20]
 *       A fresh ledger (WAL, synchronous=FULL). Each transaction (BEGIN IMMEDIATE) reads the
 *       head, reads each touched stream's version, and inserts K events with their UUIDv7 ids,
 *       ~400-byte JSON data and SHA-256 chain hashes (docs/HASH-CHAIN.md).
 *   bench-baseline read --db FILE
 *       Steps through every row in position order and touches every column.
 *   bench-baseline verify --db FILE
 *       Recomputes the hash chain from the column buffers, checking gapless positions and
 *       per-stream versions, as `shiplog verify` does.
 *
 * Each prints one JSON object: {"events": N, "seconds": S, "events_per_s": R}; append and read
 * also "cpu_seconds", the CPU time (user and system) of the timed part.
 *
 *   bench-baseline run PROGRAM [ARGS...]
 *       Runs PROGRAM (stdout and stderr to /dev/null) and prints
 *       {"status": X, "seconds": S, "max_rss_kib": K} with its peak resident memory from wait4.
 *       The bench measures memory through this small process: a child spawned straight from
 *       the bench (vfork semantics) would report the bench's own peak as its maxrss.
 *
 * Build: cc -O2 -o bench-baseline tools/bench-baseline.c -lsqlite3 -lcrypto (with bench-baseline-common.h beside it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-baseline-common.h"

static void die(const char *what, sqlite3 *db) {
    fprintf(stderr, "bench-baseline: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench-baseline: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) die(sql, db);
    return s;
}

static sqlite3 *open_ledger(const char *path, int readonly) {
    sqlite3 *db = NULL;
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) die("open", db);
    sqlite3_busy_timeout(db, 5000);
    if (!readonly) {
        exec(db, "PRAGMA journal_mode=WAL");
        exec(db, "PRAGMA synchronous=FULL");
    }
    return db;
}

static int cmd_append(const char *schema_path, const char *path, long events, long per_tx, long stream_size) {
    sqlite3 *db = open_ledger(path, 0);
    exec(db, read_file(schema_path));
    sqlite3_stmt *head = prepare(db, "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1");
    sqlite3_stmt *version = prepare(db, "SELECT max(version) FROM events WHERE stream = ?");
    sqlite3_stmt *insert = prepare(db,
        "INSERT INTO events (position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    static const char type[] = "BenchEventRecorded", metadata[] = "{}";
    char id[37], when[25], stream[64], hex[65];
    unsigned char prev[32], digest[32];
    /* The payloads are made before the clock starts (the Swift side does the same). */
    char *payloads = malloc((size_t)events * 512);
    int *lengths = malloc((size_t)events * sizeof(int));
    for (long i = 0; i < events; i++) {
        snprintf(stream, sizeof stream, "deployment-bench-%06ld", i / stream_size);
        lengths[i] = payload(payloads + i * 512, i, stream);
    }

    double start = now_seconds(), cpu_start = cpu_seconds();
    long done = 0;
    while (done < events) {
        exec(db, "BEGIN IMMEDIATE");
        int64_t position = 0;
        memset(prev, 0, 32);
        if (sqlite3_step(head) == SQLITE_ROW) {
            position = sqlite3_column_int64(head, 0);
            from_hex((const char *)sqlite3_column_text(head, 1), 64, prev);
        }
        sqlite3_reset(head);
        timestamp(when);
        long in_tx = per_tx < events - done ? per_tx : events - done;
        int64_t stream_version = 0;
        long current_stream = -1;
        for (long k = 0; k < in_tx; k++, done++) {
            long s = done / stream_size;
            snprintf(stream, sizeof stream, "deployment-bench-%06ld", s);
            if (s != current_stream) {
                current_stream = s;
                sqlite3_bind_text(version, 1, stream, -1, SQLITE_STATIC);
                if (sqlite3_step(version) != SQLITE_ROW) die("stream version", db);
                stream_version = sqlite3_column_int64(version, 0);
                sqlite3_reset(version);
            }
            stream_version++;
            position++;
            uuidv7(id);
            const char *data = payloads + done * 512;
            int len = lengths[done];
            hash_event(prev, position, id, stream, stream_version, type, data, (size_t)len, metadata, when, digest);
            to_hex(digest, 32, hex);
            memcpy(prev, digest, 32);
            sqlite3_bind_int64(insert, 1, position);
            sqlite3_bind_text(insert, 2, id, 36, SQLITE_STATIC);
            sqlite3_bind_text(insert, 3, stream, -1, SQLITE_STATIC);
            sqlite3_bind_int64(insert, 4, stream_version);
            sqlite3_bind_text(insert, 5, type, sizeof type - 1, SQLITE_STATIC);
            sqlite3_bind_int64(insert, 6, 1);
            sqlite3_bind_text(insert, 7, data, len, SQLITE_STATIC);
            sqlite3_bind_text(insert, 8, metadata, sizeof metadata - 1, SQLITE_STATIC);
            sqlite3_bind_text(insert, 9, when, 24, SQLITE_STATIC);
            sqlite3_bind_text(insert, 10, hex, 64, SQLITE_STATIC);
            if (sqlite3_step(insert) != SQLITE_DONE) die("insert", db);
            sqlite3_reset(insert);
        }
        exec(db, "COMMIT");
    }
    double seconds = now_seconds() - start, cpu = cpu_seconds() - cpu_start;
    printf("{\"events\": %ld, \"seconds\": %.6f, \"events_per_s\": %.1f, \"cpu_seconds\": %.6f}\n", events, seconds, events / seconds, cpu);
    sqlite3_finalize(head);
    sqlite3_finalize(version);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    free(payloads);
    free(lengths);
    return 0;
}

static const char select_all[] =
    "SELECT position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash FROM events ORDER BY position";

static int cmd_read(const char *path) {
    sqlite3 *db = open_ledger(path, 1);
    exec(db, "BEGIN DEFERRED");
    sqlite3_stmt *s = prepare(db, select_all);
    double start = now_seconds(), cpu_start = cpu_seconds();
    long events = 0;
    uint64_t bytes = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        bytes += (uint64_t)sqlite3_column_int64(s, 0) + (uint64_t)sqlite3_column_int64(s, 3) + (uint64_t)sqlite3_column_int64(s, 5);
        for (int c = 0; c < 10; c++) {
            if (c == 0 || c == 3 || c == 5) continue;
            const unsigned char *t = sqlite3_column_text(s, c);
            bytes += (uint64_t)sqlite3_column_bytes(s, c) + (t ? t[0] : 0);
        }
        events++;
    }
    double seconds = now_seconds() - start, cpu = cpu_seconds() - cpu_start;
    exec(db, "COMMIT");
    printf("{\"events\": %ld, \"seconds\": %.6f, \"events_per_s\": %.1f, \"cpu_seconds\": %.6f, \"checksum\": %llu}\n", events,
           seconds, events / seconds, cpu, (unsigned long long)bytes);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return 0;
}

/* Stream name -> last version, open addressing; grows as streams appear. */
struct slot { char *name; size_t len; int64_t version; };
static struct slot *table;
static size_t table_size, table_used;

static uint64_t fnv(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}
static struct slot *lookup(const unsigned char *name, size_t len) {
    if ((table_used + 1) * 2 > table_size) {
        struct slot *old = table;
        size_t old_size = table_size;
        table_size = old_size ? old_size * 2 : 1024;
        table = calloc(table_size, sizeof *table);
        table_used = 0;
        for (size_t i = 0; i < old_size; i++) {
            if (!old[i].name) continue;
            size_t j = fnv((unsigned char *)old[i].name, old[i].len) & (table_size - 1);
            while (table[j].name) j = (j + 1) & (table_size - 1);
            table[j] = old[i];
            table_used++;
        }
        free(old);
    }
    size_t j = fnv(name, len) & (table_size - 1);
    while (table[j].name) {
        if (table[j].len == len && memcmp(table[j].name, name, len) == 0) return &table[j];
        j = (j + 1) & (table_size - 1);
    }
    table[j].name = malloc(len ? len : 1);
    memcpy(table[j].name, name, len);
    table[j].len = len;
    table[j].version = 0;
    table_used++;
    return &table[j];
}

static int cmd_verify(const char *path) {
    sqlite3 *db = open_ledger(path, 1);
    exec(db, "BEGIN DEFERRED");
    sqlite3_stmt *s = prepare(db, select_all);
    unsigned char prev[32] = {0}, digest[32];
    double start = now_seconds();
    int64_t expected = 1;
    long events = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t position = sqlite3_column_int64(s, 0);
        if (position != expected) { fprintf(stderr, "bench-baseline: missing position %lld\n", (long long)expected); return 3; }
        const unsigned char *stream = sqlite3_column_text(s, 2);
        size_t stream_len = (size_t)sqlite3_column_bytes(s, 2);
        int64_t version = sqlite3_column_int64(s, 3);
        struct slot *slot = lookup(stream, stream_len);
        if (version != slot->version + 1) { fprintf(stderr, "bench-baseline: version out of order at %lld\n", (long long)position); return 3; }
        slot->version = version;
        h_begin(prev, position);
        for (int c = 1; c <= 8; c++) {
            if (c == 3 || c == 5) { h_u64((uint64_t)sqlite3_column_int64(s, c)); continue; }
            const void *p = sqlite3_column_blob(s, c);
            h_str(p, (size_t)sqlite3_column_bytes(s, c));
        }
        h_finish(digest);
        const char *stored = (const char *)sqlite3_column_text(s, 9);
        for (int i = 0; i < 32; i++) {
            if (stored[2 * i] != hexdigits[digest[i] >> 4] || stored[2 * i + 1] != hexdigits[digest[i] & 15]) {
                fprintf(stderr, "bench-baseline: hash mismatch at %lld\n", (long long)position);
                return 3;
            }
        }
        memcpy(prev, digest, 32);
        expected++;
        events++;
    }
    double seconds = now_seconds() - start;
    exec(db, "COMMIT");
    printf("{\"events\": %ld, \"seconds\": %.6f, \"events_per_s\": %.1f}\n", events, seconds, events / seconds);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return 0;
}

static int cmd_run(char **argv) {
    double start = now_seconds();
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) { perror("wait4"); return 1; }
    }
    double seconds = now_seconds() - start;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("{\"status\": %d, \"seconds\": %.6f, \"max_rss_kib\": %ld}\n", code, seconds, usage.ru_maxrss);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench-baseline append|read|verify --db FILE [options], or run PROGRAM [ARGS...]; see the comment at the top of the source\n");
        return 2;
    }
    if (strcmp(argv[1], "run") == 0) {
        if (argc < 3) { fprintf(stderr, "usage: bench-baseline run PROGRAM [ARGS...]\n"); return 2; }
        return cmd_run(argv + 2);
    }
    chain_init();
    const char *db = option(argc, argv, "--db", NULL);
    if (strcmp(argv[1], "append") == 0) {
        return cmd_append(option(argc, argv, "--schema", NULL), db, atol(option(argc, argv, "--events", NULL)),
                          atol(option(argc, argv, "--per-tx", NULL)), atol(option(argc, argv, "--stream-size", "20")));
    }
    if (strcmp(argv[1], "read") == 0) return cmd_read(db);
    if (strcmp(argv[1], "verify") == 0) return cmd_verify(db);
    fprintf(stderr, "bench-baseline: unknown command %s\n", argv[1]);
    return 2;
}
