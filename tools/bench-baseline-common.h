/*
 * What both plain-C baselines of tools/bench share (tools/bench-baseline.c for SQLite,
 * tools/bench-baseline-pg.c for PostgreSQL): the clock, the hash chain of docs/HASH-CHAIN.md,
 * UUIDv7 ids, timestamps, and the 400-byte benchmark payload, byte for byte the one
 * Sources/ShiplogBench builds.
 */
#ifndef BENCH_BASELINE_COMMON_H
#define BENCH_BASELINE_COMMON_H

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds this process has used (user and system): a rate over it does not count the time
   the process waited for a core, so it compares the work done on a busy machine too. */
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
    buf[n] = 0;
    fclose(f);
    return buf;
}


/* ---- The hash chain: SHA-256 over the canonical bytes of docs/HASH-CHAIN.md ---- */

static EVP_MD_CTX *ctx;
static EVP_MD *sha256;

static void h_raw(const void *p, size_t n) { if (n) EVP_DigestUpdate(ctx, p, n); }
static void h_u64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (56 - 8 * i));
    h_raw(b, 8);
}
static void h_str(const void *p, size_t n) {
    unsigned char b[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
    h_raw(b, 4);
    h_raw(p, n);
}
static void h_begin(const unsigned char prev[32], int64_t position) {
    EVP_DigestInit_ex(ctx, sha256, NULL);
    h_raw(prev, 32);
    h_u64((uint64_t)position);
}
static void h_finish(unsigned char out[32]) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
}

static void chain_init(void) {
    ctx = EVP_MD_CTX_new();
    /* Fetched once: with OpenSSL 3, EVP_sha256() would be looked up again on every init. */
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The hash of one event (schema 1), chained to `prev`. */
static void hash_event(const unsigned char prev[32], int64_t position, const char *id, const char *stream, int64_t version,
                       const char *type, const char *data, size_t data_len, const char *metadata, const char *when,
                       unsigned char digest[32]) {
    h_begin(prev, position);
    h_str(id, 36);
    h_str(stream, strlen(stream));
    h_u64((uint64_t)version);
    h_str(type, strlen(type));
    h_u64(1);
    h_str(data, data_len);
    h_str(metadata, strlen(metadata));
    h_str(when, 24);
    h_finish(digest);
}

static const char hexdigits[] = "0123456789abcdef";
static void to_hex(const unsigned char *b, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) { out[2 * i] = hexdigits[b[i] >> 4]; out[2 * i + 1] = hexdigits[b[i] & 15]; }
    out[2 * n] = 0;
}
static int from_hex(const char *t, size_t n, unsigned char *out) {
    for (size_t i = 0; i + 1 < n; i += 2) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = t[i + k];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
            else return 0;
        }
        out[i / 2] = (unsigned char)v;
    }
    return 1;
}

/* ---- What an append writes ---- */

/* UUIDv7: 48 bits of Unix milliseconds, version 7 with a counter, variant bits, random bits. */
static void uuidv7(char out[37]) {
    static uint64_t last_ms;
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    unsigned char b[16];
    if (getrandom(b + 8, 8, 0) != 8) { perror("getrandom"); exit(1); }
    if (ms > last_ms) { last_ms = ms; counter = b[8] & 0x3FF; }
    else if (counter < 0xFFF) counter++;
    else { last_ms++; counter = 0; }
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(last_ms >> (8 * (5 - i)));
    b[6] = (unsigned char)(0x70 | (counter >> 8));
    b[7] = (unsigned char)counter;
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    char hex[33];
    to_hex(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static void timestamp(char out[25]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm t;
    gmtime_r(&ts.tv_sec, &t);
    char text[96];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
             t.tm_hour, t.tm_min, t.tm_sec, (int)(ts.tv_nsec / 1000000));
    memcpy(out, text, 24);
    out[24] = 0;
}

/* The benchmark payload, byte for byte the one Sources/ShiplogBench builds: 400 bytes of JSON. */
static const char filler[] =
    "rolled out to every instance behind the load balancer; connection draining finished, "
    "readiness probes passed on each pod, previous replica set scaled down, image digest pinned, "
    "configuration checksum unchanged, feature flags evaluated, caches warmed, error budget intact, "
    "latency within objective, no alerts fired during the window, audit trail recorded for review "
    "and sign-off by the release manager on duty this week";

static int payload(char *out, long seq, const char *stream) {
    char prefix[256];
    int n = snprintf(prefix, sizeof prefix,
                     "{\"seq\":%ld,\"stream\":\"%s\",\"environment\":\"production\",\"service\":\"svc-%ld\","
                     "\"git_ref\":\"refs/heads/main\",\"detail\":\"", seq, stream, seq % 8);
    int pad = 400 - n - 2;
    if (pad < 0) pad = 0;
    memcpy(out, prefix, (size_t)n);
    memcpy(out + n, filler, (size_t)pad);
    memcpy(out + n + pad, "\"}", 3);
    return n + pad + 2;
}

static const char *option(int argc, char **argv, const char *name, const char *fallback) {
    for (int i = 2; i + 1 < argc; i++) if (strcmp(argv[i], name) == 0) return argv[i + 1];
    if (!fallback) { fprintf(stderr, "bench-baseline: %s is required\n", name); exit(2); }
    return fallback;
}

#endif
