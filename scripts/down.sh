#!/usr/bin/env bash
# Stops what `npm run demo` left running: the worker, the example app's containers, greenlight's nginx
# and the Temporal dev server. dockerd, PostgreSQL and Redis stay up (shared with anything else).
source "$(dirname "$0")/lib.sh"
stop_pid() { # <pid file> <name>
  if [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; then
    kill "$(cat "$1")" && log "stopped $2"
  fi
  rm -f "$1"
}
stop_pid "$GREENLIGHT_HOME/worker.pid" "the worker"
if docker info >/dev/null 2>&1; then
  ids="$(docker ps -aq --filter label=greenlight.app=shop)"
  [ -n "$ids" ] && docker rm -f $ids >/dev/null && log "removed the example app's containers"
fi
if [ -f "$GREENLIGHT_HOME/nginx/nginx.pid" ]; then
  nginx -p "$GREENLIGHT_HOME/nginx/" -c "$GREENLIGHT_HOME/nginx/nginx.conf" -s quit 2>/dev/null && log "stopped nginx"
  rm -f "$GREENLIGHT_HOME/nginx/apps/shop.conf"
fi
stop_pid "$GREENLIGHT_HOME/temporal.pid" "the Temporal dev server"
