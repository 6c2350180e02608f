#!/bin/sh
# Deploys VERSION to the local staging environment: records it in
# $STAGING_STATE_DIR/current-version and sets $STAGING_STATE_DIR/health, which the local test
# server answers from. The version comes out broken when its name contains "broken" or when
# the file $STAGING_STATE_DIR/break-next exists (the file is consumed). Running it twice with
# the same version gives the same state.
set -eu
version="${1:-}"
if [ -z "$version" ]; then
    echo "usage: deploy.sh VERSION" >&2
    exit 2
fi
: "${STAGING_STATE_DIR:?STAGING_STATE_DIR must name the local staging directory}"
mkdir -p "$STAGING_STATE_DIR"

echo "deploying $version to ${STAGING_USER:-deploy}@${STAGING_HOST:-127.0.0.1} (local staging)"
for service in api-gateway auth-service education-service marketplace-service; do
    echo "  $service: $version"
done

state=ok
case "$version" in
    *broken*) state=broken ;;
esac
if [ -e "$STAGING_STATE_DIR/break-next" ]; then
    rm -f "$STAGING_STATE_DIR/break-next"
    state=broken
fi

# Write then rename, so the test server never reads a half-written file.
printf '%s\n' "$version" > "$STAGING_STATE_DIR/current-version.tmp"
mv "$STAGING_STATE_DIR/current-version.tmp" "$STAGING_STATE_DIR/current-version"
printf '%s\n' "$state" > "$STAGING_STATE_DIR/health.tmp"
mv "$STAGING_STATE_DIR/health.tmp" "$STAGING_STATE_DIR/health"
echo "deployed $version (health: $state)"
