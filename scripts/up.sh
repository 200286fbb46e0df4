#!/usr/bin/env bash
# Brings the whole local stack up, idempotently: npm dependencies, Docker engine and network, the
# example app's PostgreSQL and Redis, the registry-free base image and the example images,
# greenlight's nginx, the Temporal dev server, and the payload encryption key (once).
source "$(dirname "$0")/lib.sh"
cd "$GL_REPO"
# openssl makes the certificates of the tls tests and the https bench; wrk loads the router in that bench.
apt_install ca-certificates python3-pip iproute2 postgresql-client redis-tools openssl wrk
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
# The CLI's compiled JavaScript (incremental; bin/greenlight runs it while it is current). The same build
# as `npm pack`'s prepack.
node scripts/build.cjs
bash scripts/payload-key.sh
bash scripts/docker.sh
bash scripts/infra.sh
bash scripts/base-image.sh
bash scripts/example-images.sh
bash scripts/nginx.sh
bash scripts/temporal.sh
log "stack up: Temporal 127.0.0.1:${GL_TEMPORAL_PORT:-7233} (UI http://127.0.0.1:${GL_TEMPORAL_UI_PORT:-8233}), nginx prefix $GREENLIGHT_HOME/nginx"
