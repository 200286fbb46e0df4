#!/usr/bin/env bash
# Starts a greenlight worker in the background if none of ours runs (pid file under $GREENLIGHT_HOME).
source "$(dirname "$0")/lib.sh"
cd "$GL_REPO"
PID_FILE="$GREENLIGHT_HOME/worker.pid"
if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then exit 0; fi
# The example app's secrets reach containers through the worker's environment (spec `secrets`), never
# through workflow history: the database URL from scripts/infra.sh, and a JWT secret made once. The
# worker gives a spec only the names GREENLIGHT_SECRETS allows.
[ -f "$GREENLIGHT_HOME/jwt-secret" ] || head -c 32 /dev/urandom | base64 >"$GREENLIGHT_HOME/jwt-secret"
set -a
# shellcheck disable=SC1091
source "$GREENLIGHT_HOME/infra.env"
JWT_SECRET="$(cat "$GREENLIGHT_HOME/jwt-secret")"
GREENLIGHT_SECRETS=DATABASE_URL,JWT_SECRET
set +a
log "starting the greenlight worker (log: $GREENLIGHT_HOME/worker.log)"
# Readiness is read from this start's part of the log only (it is appended to across starts).
offset=$(($(stat -c %s "$GREENLIGHT_HOME/worker.log" 2>/dev/null || echo 0) + 1))
setsid node --import "$GL_REPO/node_modules/tsx/dist/loader.mjs" worker/main.ts >>"$GREENLIGHT_HOME/worker.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"
# Read into a variable, not `| grep -q`: under pipefail a grep that exits early fails the pipeline.
worker_ready() {
  kill -0 "$pid" || return 1
  local started
  started="$(tail -c +"$offset" "$GREENLIGHT_HOME/worker.log")"
  grep -q "Worker state changed.*RUNNING" <<<"$started"
}
if ! wait_for "the worker to poll its task queue" 60 worker_ready; then
  tail -c +"$offset" "$GREENLIGHT_HOME/worker.log" | tail -20 >&2
  exit 1
fi
