#!/usr/bin/env bash
# Starts a greenlight worker in the background if none of ours runs (pid file under $GL_HOME).
source "$(dirname "$0")/lib.sh"
cd "$GL_REPO"
PID_FILE="$GL_HOME/worker.pid"
if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then exit 0; fi
log "starting the greenlight worker (log: $GL_HOME/worker.log)"
setsid node --import "$GL_REPO/node_modules/tsx/dist/loader.mjs" worker/main.ts >>"$GL_HOME/worker.log" 2>&1 </dev/null &
echo $! >"$PID_FILE"
wait_for "the worker to poll its task queue" 60 grep -q "Worker state changed.*RUNNING" "$GL_HOME/worker.log"
