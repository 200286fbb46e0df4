#!/usr/bin/env bash
# The README's first command: provisions the whole local stack, starts a worker, runs the demo deploys.
source "$(dirname "$0")/lib.sh"
cd "$GL_REPO"
bash scripts/up.sh
bash scripts/worker.sh
node --import "$GL_REPO/node_modules/tsx/dist/loader.mjs" examples/demo.ts "$@"
