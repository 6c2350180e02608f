#!/bin/sh
# Smoke tests of the critical endpoints of the local staging environment. With curl and
# STAGING_PORT, each endpoint is requested; otherwise the state the server answers from is
# read directly.
set -eu
: "${STAGING_STATE_DIR:?STAGING_STATE_DIR must name the local staging directory}"
failed=0
for endpoint in /api/health /auth/health; do
    if command -v curl >/dev/null 2>&1 && [ -n "${STAGING_PORT:-}" ]; then
        if curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$STAGING_PORT$endpoint"; then
            echo "smoke: $endpoint ok"
        else
            echo "smoke: $endpoint failed" >&2
            failed=1
        fi
    elif grep -q broken "$STAGING_STATE_DIR/health" 2>/dev/null; then
        echo "smoke: $endpoint failed (the deployed version is broken)" >&2
        failed=1
    else
        echo "smoke: $endpoint ok"
    fi
done
exit "$failed"
