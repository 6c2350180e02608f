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

/*
 * The PG_DIAG_* field codes are character-literal macros ('C', 'M', 'n'), which Swift does not
 * import; each accessor below reads one field of an error result (NULL when it is absent).
 */

/// The five-character SQLSTATE of an error result.
static inline const char *shiplog_pq_result_sqlstate(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_SQLSTATE);
}

/// The primary message, without DETAIL (which may quote row values) or HINT.
static inline const char *shiplog_pq_result_primary_message(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
}

/// The name of the constraint a unique, check or foreign-key violation names.
static inline const char *shiplog_pq_result_constraint_name(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
}
#endif
