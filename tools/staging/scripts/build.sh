#!/bin/sh
# Stands in for `npm ci && npm run build`: prints what a build of each service prints.
set -eu
version="${SHIPLOG_VERSION:-unknown}"
echo "> npm ci"
echo "added 1287 packages, and audited 1288 packages in 14s"
echo "> npm run build"
for service in api-gateway auth-service education-service marketplace-service; do
    echo "building $service@$version"
    echo "  compiled $service: dist/$service/index.js"
done
echo "build finished: 4 services"
