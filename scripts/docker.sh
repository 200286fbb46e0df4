#!/usr/bin/env bash
# Idempotent: installs docker.io, starts dockerd when it is not answering, creates the shared network.
source "$(dirname "$0")/lib.sh"
apt_install docker.io iptables
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: $GREENLIGHT_HOME/dockerd.log)"
  # setsid: dockerd must outlive the shell (and a test runner) that started it.
  setsid dockerd >"$GREENLIGHT_HOME/dockerd.log" 2>&1 < /dev/null &
  wait_for "dockerd" 60 docker info
fi
# live-restore: containers keep running while dockerd restarts (an apt upgrade of Docker), and nginx
# reaches them at their own addresses meanwhile. A reloadable setting: dockerd takes it on SIGHUP.
if [ "$(docker info --format '{{.LiveRestoreEnabled}}')" != true ]; then
  mkdir -p /etc/docker
  python3 - /etc/docker/daemon.json <<'PY'
import json, os, sys
path = sys.argv[1]
config = json.load(open(path)) if os.path.exists(path) and open(path).read().strip() else {}
config["live-restore"] = True
json.dump(config, open(path, "w"), indent=2)
PY
  if pid="$(cat /var/run/docker.pid 2>/dev/null)" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    kill -HUP "$pid"
    wait_for "dockerd to take live-restore" 20 sh -c '[ "$(docker info --format "{{.LiveRestoreEnabled}}")" = true ]' \
      || log "dockerd did not take live-restore from /etc/docker/daemon.json: a dockerd restart will stop the containers"
  fi
  log "live-restore on in /etc/docker/daemon.json"
fi
# The network app containers share; its gateway is where host-run PostgreSQL and Redis listen. Docker
# hands out addresses from the lower half (--ip-range); greenlight fixes its app containers' addresses
# from the top, so the two never meet.
GL_NETWORK="${GL_NETWORK:-greenlight}"
if ! docker network inspect "$GL_NETWORK" >/dev/null 2>&1; then
  docker network create --subnet 172.30.0.0/24 --ip-range 172.30.0.0/25 --gateway 172.30.0.1 "$GL_NETWORK" >/dev/null
  log "created docker network $GL_NETWORK"
fi
