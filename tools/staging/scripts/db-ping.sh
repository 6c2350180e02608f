#!/bin/sh
# Verifies database connectivity in the local staging environment: healthy unless
# $STAGING_STATE_DIR/health says db-down.
set -eu
: "${STAGING_STATE_DIR:?STAGING_STATE_DIR must name the local staging directory}"
state="$(cat "$STAGING_STATE_DIR/health" 2>/dev/null || true)"
if [ "$state" = "db-down" ]; then
    echo "database: connection refused" >&2
    exit 1
fi
echo "database: connected"
