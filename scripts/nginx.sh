#!/usr/bin/env bash
# Idempotent: installs nginx with the Lua module (reload-free traffic switch) and starts greenlight's own
# nginx instance under $GREENLIGHT_HOME/nginx with the main config rendered by the project's pure renderer.
# `scripts/nginx.sh restart`: restarts it without closing a port (binary upgrade; after `apt upgrade nginx`).
source "$(dirname "$0")/lib.sh"
apt_install nginx-light libnginx-mod-http-lua
# Debian starts a system nginx on :80 on install; greenlight runs its own instance, leave that one alone.
cd "$GL_REPO"
npx --no-install tsx worker/ensure-nginx.ts "$@"
