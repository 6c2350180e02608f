#ifndef SHIPLOG_CSQLITE_SHIM_H
#define SHIPLOG_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import:
/// binding text or blobs that Swift will free after the call needs it spelled as a function.
static inline sqlite3_destructor_type shiplog_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

/// sqlite3_db_config is variadic. Shiplog only toggles integer-valued flags
/// (SQLITE_DBCONFIG_DEFENSIVE, SQLITE_DBCONFIG_TRUSTED_SCHEMA), so one typed wrapper suffices.
static inline int shiplog_sqlite_db_config_int(sqlite3 *db, int op, int value) {
    return sqlite3_db_config(db, op, value, (int *)0);
}
#endif
