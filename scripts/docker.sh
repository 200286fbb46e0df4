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
# The network app containers share; its gateway is where host-run PostgreSQL and Redis listen.
GL_NETWORK="${GL_NETWORK:-greenlight}"
if ! docker network inspect "$GL_NETWORK" >/dev/null 2>&1; then
  docker network create --subnet 172.30.0.0/24 --gateway 172.30.0.1 "$GL_NETWORK" >/dev/null
  log "created docker network $GL_NETWORK"
fi
