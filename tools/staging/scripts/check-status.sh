#!/bin/sh
# A required status check of the commit being deployed: tests, code-quality or security.
# In the local staging environment every check passes, unless the file
# $STAGING_STATE_DIR/fail-status-NAME exists (to rehearse a blocked deployment).
set -eu
check="${1:?usage: check-status.sh CHECK}"
version="${SHIPLOG_VERSION:-unknown}"
echo "status check '$check' for $version: looking up the result"
if [ -n "${STAGING_STATE_DIR:-}" ] && [ -e "$STAGING_STATE_DIR/fail-status-$check" ]; then
    echo "status check '$check': failed" >&2
    exit 1
fi
echo "status check '$check': passed"
