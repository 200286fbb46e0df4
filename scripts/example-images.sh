#!/usr/bin/env bash
# Builds the example app's images on the registry-free base image (idempotent; Docker's cache makes
# repeat runs fast). The variants are broken on purpose, for the tests and the demo.
source "$(dirname "$0")/lib.sh"
# The backend vendors pg and redis: the base image has no npm, so node_modules is installed here and
# copied into the image (pure JavaScript, nothing compiled for the host).
BACKEND="$GL_REPO/examples/app/backend"
if [ ! -f "$BACKEND/node_modules/.package-lock.json" ] || [ "$BACKEND/package-lock.json" -nt "$BACKEND/node_modules/.package-lock.json" ]; then
  log "npm ci --omit=dev in examples/app/backend"
  (cd "$BACKEND" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2)
fi
BASE_IMAGE="${GL_BASE_IMAGE:-greenlight/node-base:local}"
# The containers run as nobody: the build context must be world-readable whatever the clone's umask was.
chmod -R a+rX "$GL_REPO/examples/app"
build() { # <image:tag> <context> [--build-arg ...]
  local tag="$1" ctx="$2"; shift 2
  # The legacy builder needs no buildx plugin; its deprecation notice goes to the log with the rest.
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$BASE_IMAGE" "$@" -t "$tag" "$GL_REPO/examples/app/$ctx" \
    >/dev/null 2>"$GREENLIGHT_HOME/docker-build.log" || { cat "$GREENLIGHT_HOME/docker-build.log" >&2; return 1; }
}
# SCHEMA_VERSION: the schema level (and migrations) each version knows; v1 predates migration 002.
schema_of() { if [ "$1" = v1 ]; then echo 1; else echo 2; fi; }
for v in v1 v2 v3; do
  build "greenlight-example-backend:$v" backend --build-arg "APP_VERSION=$v" --build-arg "SCHEMA_VERSION=$(schema_of "$v")"
  build "greenlight-example-frontend:$v" frontend --build-arg "APP_VERSION=$v"
done
build greenlight-example-backend:unhealthy backend --build-arg APP_VERSION=unhealthy --build-arg BEHAVIOR=unhealthy
build greenlight-example-backend:flaky backend --build-arg APP_VERSION=flaky --build-arg BEHAVIOR=flaky
build greenlight-example-backend:hang backend --build-arg APP_VERSION=hang --build-arg BEHAVIOR=hang
build greenlight-example-backend:slow backend --build-arg APP_VERSION=slow --build-arg BEHAVIOR=slow
build greenlight-example-backend:badtest backend --build-arg APP_VERSION=badtest --build-arg SELFTEST=fail
# The example worker (no port; a singleton holding a PostgreSQL advisory lock): test/e2e/workers.test.ts.
for v in v1 v2; do
  build "greenlight-example-worker:$v" backend -f "$GL_REPO/examples/app/backend/Dockerfile.worker" --build-arg "APP_VERSION=$v"
done
build greenlight-example-worker:crash backend -f "$GL_REPO/examples/app/backend/Dockerfile.worker" --build-arg APP_VERSION=crash --build-arg BEHAVIOR=crash
log "example images built on $BASE_IMAGE"
