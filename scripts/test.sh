#!/usr/bin/env bash
# The README's test command: brings the local stack up (idempotent), checks types and lint, then runs
# every test tier (unit, workflow with stubbed activities, e2e on the real parts).
source "$(dirname "$0")/lib.sh"
cd "$GL_REPO"
bash scripts/up.sh
# The self-hosted Temporal cluster test/e2e/selfhosted.test.ts runs on (beside the dev server; the
# first run builds the server from the Go module proxy, later runs start it or find it up).
bash scripts/temporal-selfhosted.sh
# Only the tests need these: chromium for the Temporal UI browser test, docker-compose to validate
# docker-compose.temporal.yml, prometheus to scrape the worker's metrics endpoint (test/e2e/metrics.test.ts;
# the package starts no server of its own here, the test runs one on a throwaway config).
apt_install chromium docker-compose prometheus
log "typecheck and lint"
npx tsc -p tsconfig.json
npm run -s lint   # eslint, then the import layers (dependency-cruiser)
GREENLIGHT_SKIP_PROVISION=1 npx vitest run "$@"
