#!/usr/bin/env bash
# The README's test command: brings the local stack up (idempotent), then runs every test tier.
source "$(dirname "$0")/lib.sh"
cd "$GL_REPO"
bash scripts/up.sh
GREENLIGHT_SKIP_PROVISION=1 npx vitest run "$@"
