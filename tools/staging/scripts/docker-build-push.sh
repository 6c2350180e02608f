#!/bin/sh
# Stands in for building and pushing the services' images. docker is not available on this
# machine, so the image build is simulated: the lines below say what would be built and
# pushed, and nothing is. The login line prints DOCKER_PASSWORD on purpose: the log shows it
# as [redacted:DOCKER_PASSWORD], which is what this demo is meant to show.
set -eu
version="${SHIPLOG_VERSION:-unknown}"
registry="${DOCKER_USERNAME:-shiplog-demo}"
echo "docker is not available here: simulating the image build and push"
if [ -n "${DOCKER_PASSWORD:-}" ]; then
    echo "docker login --username $registry --password $DOCKER_PASSWORD (simulated)"
else
    echo "docker login skipped: DOCKER_PASSWORD is not set (simulated)"
fi
for service in api-gateway auth-service education-service marketplace-service; do
    echo "docker build -t $registry/$service:$version services/$service (simulated)"
    echo "  => [1/3] FROM node:20-alpine"
    echo "  => [2/3] COPY dist/$service /app"
    echo "  => [3/3] RUN npm ci --omit=dev"
    echo "docker push $registry/$service:$version (simulated)"
done
echo "4 images built and pushed (simulated)"
