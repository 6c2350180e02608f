#!/bin/sh
# Stands in for `npx prisma migrate deploy` against the local staging database: logs one line
# per migration. Idempotent: migrations already applied (recorded in
# $STAGING_STATE_DIR/migrations) are reported and skipped, as prisma does.
set -eu
: "${STAGING_STATE_DIR:?STAGING_STATE_DIR must name the local staging directory}"
mkdir -p "$STAGING_STATE_DIR"
applied="$STAGING_STATE_DIR/migrations"
touch "$applied"
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

if [ -n "${STAGING_DATABASE_URL:-}" ]; then
    echo "$(now) datasource: $STAGING_DATABASE_URL"
else
    echo "$(now) datasource: STAGING_DATABASE_URL is not set; using the local staging database"
fi
echo "$(now) attempt ${SHIPLOG_ATTEMPT:-1} of deployment ${SHIPLOG_DEPLOYMENT_ID:-unknown}"

count=0
for migration in 20240101000000_init 20240215093000_add_courses 20240402120000_add_marketplace_orders \
                 20240610081500_index_sessions; do
    if grep -qx "$migration" "$applied"; then
        echo "$(now) migration $migration: already applied"
    else
        echo "$(now) migration $migration: applying"
        echo "$migration" >> "$applied"
        echo "$(now) migration $migration: applied"
        count=$((count + 1))
    fi
done
echo "$(now) $count migration(s) applied; the database is up to date"
