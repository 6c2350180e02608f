#ifndef SHIPLOG_CLIBPQ_SHIM_H
#define SHIPLOG_CLIBPQ_SHIM_H
// libpq, PostgreSQL's client library, for the PostgreSQL event store. Its include directory
// (/usr/include/postgresql on Debian) comes from pkg-config.
#include <libpq-fe.h>

/// A notice processor that drops the message: libpq's default prints NOTICE and WARNING
/// lines (from the server or from a trigger's RAISE NOTICE) on stderr, which is output
/// Shiplog does not control. A C function, so Swift passes it without a closure context.
static void shiplog_pq_ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

/// Installs the notice processor above on `conn`.
static inline void shiplog_pq_silence_notices(PGconn *conn) {
    PQsetNoticeProcessor(conn, shiplog_pq_ignore_notice, (void *)0);
}
#endif
