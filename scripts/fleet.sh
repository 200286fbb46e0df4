#!/usr/bin/env bash
# A simulated fleet of Docker hosts on this one machine, for multi-host deploys:
#   bash scripts/fleet.sh up [N]   hosts web-1..web-N (N: 1..4, default 2), idempotent
#   bash scripts/fleet.sh down     stops every host of the fleet and the load balancer, idempotent
# Each host web-K is what a real host would be: its own Docker engine (own dockerd, data root, socket,
# network `greenlight` on 172.30.1K.0/24), the example images loaded into it, and its own greenlight
# nginx (prefix $GREENLIGHT_HOME/hosts/web-K/nginx) whose apps are to listen on router port 4910+K.
# In front, an haproxy as a cloud load balancer would be: 127.0.0.1:${GL_FLEET_LB_PORT:-4900},
# round robin over the hosts' router ports, health-checking each one's GET /health.
# What the test harness reads: $GREENLIGHT_HOME/fleet/hosts.env and hosts.json.
# Layout (<state> is $GREENLIGHT_HOME):
#   <state>/hosts/web-K/docker.sock   the engine's API (DOCKER_HOST=unix://...)
#   <state>/hosts/web-K/docker/       its data root (images stay there across down/up)
#   <state>/hosts/web-K/dockerd.{pid,log}, daemon.json
#   <state>/hosts/web-K/nginx/        its greenlight nginx (private/admin.sock, nginx.pid, apps/)
#   /run/greenlight-web-K/            its exec root (containerd's sockets, runc state, netns)
#   <state>/fleet/haproxy.{cfg,pid,sock}, hosts.env, hosts.json
# All hosts share this machine's network namespace: their router ports differ (4911, 4912, ...) and
# so must the host ports their containers publish, across hosts and with the main engine's. One fleet
# per machine (the ports, bridge names and subnets are fixed). The main engine, the main nginx and the
# Temporal server are never touched; the main engine is only read (the images come from it).
source "$(dirname "$0")/lib.sh"

MAX_HOSTS=4
LB_PORT="${GL_FLEET_LB_PORT:-4900}"
FLEET="$GREENLIGHT_HOME/fleet"
NETWORK=greenlight

host_home() { echo "$GREENLIGHT_HOME/hosts/web-$1"; }
host_sock() { echo "$(host_home "$1")/docker.sock"; }
# Not under <state>: containerd's sockets live in the exec root (<exec-root>/containerd/
# containerd.sock.ttrpc is 32 characters more), and a unix socket's path must fit in 108 bytes; a
# checkout with a long path would make dockerd fail at start with "bind: invalid argument". /run is
# also where the main engine keeps its own (/var/run/docker): execution state, not data.
host_exec_root() { echo "/run/greenlight-web-$1"; }
router_port() { echo $((4910 + $1)); }
subnet_of() { echo "172.30.1$1.0/24"; }
gateway_of() { echo "172.30.1$1.1"; }
dh() { # <K> <docker args...>: the docker CLI against host web-K's engine
  local k="$1"; shift
  docker -H "unix://$(host_sock "$k")" "$@"
}
engine_answers() { dh "$1" info >/dev/null 2>&1; }

# pid_of <pid file> <command name>: prints the pid the file names if that process is alive and is the
# named command (a stale file whose pid was reused by something else does not count).
pid_of() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
}
# A process that has exited, zombies included (what setsid left behind is reaped by PID 1, if at all).
gone() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  [ "${stat:0:1}" = Z ]
}
stop_pid() { # <pid file> <command name> <what> <seconds>: SIGTERM, then waits until it has exited
  local pid
  if pid="$(pid_of "$1" "$2")"; then
    kill "$pid" 2>/dev/null || true
    wait_for "$3 to exit" "$4" gone "$pid" || { log "$3 (pid $pid) still running after SIGTERM"; return 1; }
    log "stopped $3"
  fi
  rm -f "$1"
}

# ---- one host ---------------------------------------------------------------------------------
start_engine() { # <K>: starts web-K's dockerd unless its socket answers (does not wait for it)
  local k="$1" home exec owner other
  home="$(host_home "$k")" exec="$(host_exec_root "$k")"
  engine_answers "$k" && return 0
  mkdir -p "$home/docker" "$home/nginx" "$exec"
  # The exec root is the only path outside <state>: refuse one a live fleet of another checkout uses
  # (two dockerds on one exec root would share one containerd).
  owner="$exec/greenlight-home"
  if [ -f "$owner" ] && other="$(cat "$owner")" && [ "$other" != "$GREENLIGHT_HOME" ] \
    && docker -H "unix://$other/hosts/web-$k/docker.sock" info >/dev/null 2>&1; then
    log "web-$k's exec root $exec is in use by the fleet of $other: run its scripts/fleet.sh down first"
    exit 1
  fi
  printf '%s\n' "$GREENLIGHT_HOME" >"$owner"
  if pid_of "$home/dockerd.pid" dockerd >/dev/null; then return 0; fi # still starting: wait_engine waits
  # An explicit, empty config file: the main engine's /etc/docker/daemon.json (if any) is not this
  # engine's, and a "hosts" or "data-root" in it would clash with the flags below.
  [ -f "$home/daemon.json" ] || echo '{}' >"$home/daemon.json"
  log "starting dockerd for web-$k (socket $(host_sock "$k"), log $home/dockerd.log)"
  # --bridge=none --iptables=false --ip-masq=false: no docker0 and no iptables rules, which belong to
  # the main engine (it owns docker0 and the DOCKER chains; a second engine rewriting them breaks it).
  # Publishing still works on a user-defined bridge network through docker-proxy, not on the default
  # network (there is none). --host-gateway-ip: app containers get host.docker.internal:host-gateway,
  # whose address dockerd takes from docker0 by default, and there is none; here it is this host's
  # own network gateway. Own containerd namespaces, so even a system containerd shared by the
  # engines (dockerd uses /run/containerd/containerd.sock when one answers) keeps them apart.
  # --live-restore: its containers keep running while this dockerd restarts, as on a provisioned host.
  # setsid: dockerd must outlive the shell (and a test runner) that started it.
  setsid dockerd \
    --data-root "$home/docker" --exec-root "$exec" --pidfile "$home/dockerd.pid" \
    -H "unix://$(host_sock "$k")" --config-file "$home/daemon.json" \
    --bridge=none --iptables=false --ip-masq=false --host-gateway-ip "$(gateway_of "$k")" --live-restore \
    --containerd-namespace "greenlight-web-$k" --containerd-plugins-namespace "greenlight-web-$k-plugins" \
    >"$home/dockerd.log" 2>&1 </dev/null &
}

wait_engine() { # <K>
  wait_for "web-$1's dockerd" 60 engine_answers "$1" || { tail -20 "$(host_home "$1")/dockerd.log" >&2; exit 1; }
}

ensure_network() { # <K>: the network app containers join on web-K (the main engine's is 172.30.0.0/24)
  local k="$1"
  dh "$k" network inspect "$NETWORK" >/dev/null 2>&1 && return 0
  # A distinct Linux bridge name: the default (br-<network id>) says nothing in `ip link` about which
  # simulated host a bridge belongs to.
  # Docker's own addresses from the lower half; greenlight's fixed ones come from the top.
  dh "$k" network create --subnet "$(subnet_of "$k")" --ip-range "172.30.1$k.0/25" --gateway "$(gateway_of "$k")" \
    -o "com.docker.network.bridge.name=gl-web-$k" "$NETWORK" >/dev/null
  log "created docker network $NETWORK ($(subnet_of "$k"), bridge gl-web-$k) on web-$k"
}

# Containers of one host reach each other over its bridge (by IP or network alias), as on a real host.
# Here the main engine has set FORWARD's policy to DROP, and with br_netfilter (bridge-nf-call-iptables)
# even frames between two ports of one bridge go through FORWARD: without this rule they vanish. Scoped
# to the bridge itself: traffic between two hosts' bridges stays dropped, as between separate hosts.
intra_bridge_rule() { echo "FORWARD -i gl-web-$1 -o gl-web-$1 -m comment --comment greenlight-fleet -j ACCEPT"; }
allow_intra_bridge() { # <K>
  # shellcheck disable=SC2046 # the rule is words
  iptables -C $(intra_bridge_rule "$1") 2>/dev/null || iptables -A $(intra_bridge_rule "$1")
}

# "<image:tag> <full id>" lines of the example images in the engine the docker args select.
example_images() { docker "$@" images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' 'greenlight-example-*'; }

load_images() { # <K>: the main engine's example images web-K lacks (or has under another ID), one save
  local k="$1" have ref id started=$SECONDS
  local -A host_ids=()
  local missing=()
  have="$(example_images -H "unix://$(host_sock "$k")")"
  while read -r ref id; do
    if [ -n "$ref" ]; then host_ids[$ref]="$id"; fi
  done <<<"$have"
  while read -r ref id; do
    [ "${host_ids[$ref]:-}" = "$id" ] || missing+=("$ref")
  done <<<"$MAIN_IMAGES"
  ((${#missing[@]} == 0)) && return 0
  log "loading ${#missing[@]} example image(s) into web-$k"
  # pipefail (lib.sh): a save that dies midway fails the pipeline, whatever load made of the stream.
  docker save "${missing[@]}" | dh "$k" load -q >/dev/null
  log "loaded ${#missing[@]} image(s) into web-$k in $((SECONDS - started))s"
}

ensure_nginx() { # <K>: web-K's greenlight nginx, started (or its main config refreshed) by the project's code
  # GREENLIGHT_HOME is what the worker of that host would have: its nginx prefix is <it>/nginx.
  (cd "$GL_REPO" && GREENLIGHT_HOME="$(host_home "$1")" npx --no-install tsx worker/ensure-nginx.ts)
}

stop_host() { # <K>: nginx, the containers, dockerd; what is not running is skipped
  local k="$1" home prefix ids pid
  home="$(host_home "$k")" prefix="$(host_home "$k")/nginx"
  if pid="$(pid_of "$prefix/nginx.pid" nginx)"; then
    nginx -p "$prefix/" -c "$prefix/nginx.conf" -s quit 2>/dev/null || kill "$pid" 2>/dev/null || true
    wait_for "web-$k's nginx to exit" 15 gone "$pid" || log "web-$k's nginx (pid $pid) still running"
    log "stopped web-$k's nginx"
  fi
  if engine_answers "$k"; then
    ids="$(dh "$k" ps -aq)"
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086 # one id a word
      dh "$k" rm -f $ids >/dev/null
      log "removed $(wc -w <<<"$ids") container(s) on web-$k"
    fi
  fi
  stop_pid "$home/dockerd.pid" dockerd "web-$k's dockerd" 30
  # dockerd leaves its networks' bridges behind (with the gateway address on them); it re-creates
  # them on start, so the fleet leaves nothing on this machine's network while it is down.
  if ! pid_of "$home/dockerd.pid" dockerd >/dev/null && [ -e "/sys/class/net/gl-web-$k" ]; then
    ip link delete "gl-web-$k" 2>/dev/null || true
  fi
  # shellcheck disable=SC2046 # the rule is words
  while iptables -D $(intra_bridge_rule "$k") 2>/dev/null; do :; done
  rm -f "$(host_exec_root "$k")/greenlight-home"
}

# ---- the load balancer ------------------------------------------------------------------------
render_haproxy() { # <N>
  cat <<EOF
# Rendered by scripts/fleet.sh up (rewritten on every run): the fleet's front load balancer.
global
    daemon
    pidfile $FLEET/haproxy.pid
    # For the harness: \`show stat\`, \`show servers state\` (which hosts are UP).
    stats socket $FLEET/haproxy.sock mode 600 level admin
    # Unset, it is derived from the open-files limit (a million in some containers) and sizes tables.
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A loaded 2-core machine can delay even nginx's \`return 200\`; a dead router (nothing listening)
    # still fails its check at once.
    timeout check 1s
    # A failed request stays failed: the test client never retries, and the failures are what we watch.
    retries 0
    no option redispatch
    option http-keep-alive
    http-reuse safe

frontend fleet
    bind 127.0.0.1:$LB_PORT
    # Answered by haproxy itself (200, never forwarded): "is the load balancer up", whatever the hosts'
    # routers do. A probe through a router can hang: a stale route to a removed container's address
    # waits out proxy_connect_timeout (no ARP answer), where a dead host port was refused at once.
    monitor-uri /__haproxy
    default_backend web

backend web
    balance roundrobin
    # Served by each host's nginx once an app is routed on its router port; until then nothing
    # listens there and the host is DOWN (the load balancer answers 503).
    option httpchk GET /health
    http-check expect status 200
EOF
  local k
  for ((k = 1; k <= $1; k++)); do
    echo "    server web-$k 127.0.0.1:$(router_port "$k") check inter 500ms fall 2 rise 1"
  done
}

lb_answers() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$LB_PORT/__haproxy"; }

ensure_haproxy() { # <N>
  local cfg="$FLEET/haproxy.cfg" wanted changed=0 pid
  wanted="$(render_haproxy "$1")"
  if [ "$(cat "$cfg" 2>/dev/null)" != "$wanted" ]; then
    printf '%s\n' "$wanted" >"$cfg.tmp"
    haproxy -c -q -f "$cfg.tmp" || { log "haproxy rejected $cfg.tmp"; exit 1; }
    mv "$cfg.tmp" "$cfg"
    changed=1
  fi
  if pid="$(pid_of "$FLEET/haproxy.pid" haproxy)"; then
    ((changed)) || return 0
    log "reloading haproxy (config changed)"
    # -sf: the new process binds alongside, then the old one stops accepting and finishes its requests.
    haproxy -f "$cfg" -sf "$pid"
  else
    log "starting haproxy on 127.0.0.1:$LB_PORT (config $cfg)"
    haproxy -f "$cfg" # daemonizes itself (global: daemon), so it outlives this shell
  fi
  wait_for "haproxy on 127.0.0.1:$LB_PORT" 15 lb_answers
}

# ---- what the harness reads -------------------------------------------------------------------
json_str() { local s="${1//\\/\\\\}"; printf '"%s"' "${s//\"/\\\"}"; }

write_descriptions() { # <N>
  local n="$1" k env json sep="" names="web-1"
  for ((k = 2; k <= n; k++)); do names+=",web-$k"; done
  env="# Written by scripts/fleet.sh up: the simulated Docker hosts and their front load balancer."
  env+=$'\n'"FLEET_SIZE=$n"$'\n'"FLEET_HOSTS=$names"
  env+=$'\n'"FLEET_LB_URL=http://127.0.0.1:$LB_PORT"$'\n'"FLEET_LB_STATS_SOCKET=$FLEET/haproxy.sock"
  json="["
  for ((k = 1; k <= n; k++)); do
    env+=$'\n'"WEB_${k}_DOCKER_HOST=unix://$(host_sock "$k")"
    env+=$'\n'"WEB_${k}_HOME=$(host_home "$k")"
    env+=$'\n'"WEB_${k}_ROUTER_PORT=$(router_port "$k")"
    env+=$'\n'"WEB_${k}_SUBNET=$(subnet_of "$k")"
    json+="$sep"$'\n'"  {\"name\": \"web-$k\", \"dockerHost\": $(json_str "unix://$(host_sock "$k")"), \"home\": $(json_str "$(host_home "$k")"), \"routerPort\": $(router_port "$k"), \"network\": \"$NETWORK\", \"subnet\": \"$(subnet_of "$k")\", \"gateway\": \"$(gateway_of "$k")\"}"
    sep=","
  done
  json+=$'\n'"]"
  printf '%s\n' "$env" >"$FLEET/hosts.env.tmp" && mv "$FLEET/hosts.env.tmp" "$FLEET/hosts.env"
  printf '%s\n' "$json" >"$FLEET/hosts.json.tmp" && mv "$FLEET/hosts.json.tmp" "$FLEET/hosts.json"
}

# ---- commands ---------------------------------------------------------------------------------
up() {
  local n="$1" k
  if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 1 || n > MAX_HOSTS)); then
    log "usage: scripts/fleet.sh up [N]   (N: 1..$MAX_HOSTS hosts, default 2)"; exit 2
  fi
  # The longest unix socket under <state>: web-K's nginx admin socket (108-byte limit, NUL included).
  local longest="$GREENLIGHT_HOME/hosts/web-$n/nginx/private/admin.sock"
  if ((${#longest} > 107)); then
    log "GREENLIGHT_HOME is too long for the fleet's unix sockets ($longest): use a shorter path"; exit 1
  fi
  apt_install haproxy nginx-light libnginx-mod-http-lua curl
  # Debian may start its own haproxy on install (its default config listens nowhere); this one is ours.
  if [ -x /etc/init.d/haproxy ] && service haproxy status >/dev/null 2>&1; then
    log "stopping Debian's haproxy service (the fleet runs its own)"
    service haproxy stop >/dev/null 2>&1 || true
  fi
  docker info >/dev/null 2>&1 || { log "the main Docker engine is not answering: run scripts/docker.sh"; exit 1; }
  MAIN_IMAGES="$(example_images)"
  [ -n "$MAIN_IMAGES" ] || { log "no greenlight-example-* images in the main engine: run scripts/example-images.sh"; exit 1; }
  mkdir -p "$FLEET"
  # A smaller fleet than last time: the hosts beyond it go (the load balancer no longer lists them).
  for ((k = n + 1; k <= MAX_HOSTS; k++)); do
    if [ -d "$(host_home "$k")" ]; then stop_host "$k"; fi
  done
  # The engines start side by side (a few seconds each), then each host is completed in turn.
  for ((k = 1; k <= n; k++)); do start_engine "$k"; done
  for ((k = 1; k <= n; k++)); do
    wait_engine "$k"
    ensure_network "$k"
    allow_intra_bridge "$k"
    load_images "$k"
    ensure_nginx "$k"
  done
  ensure_haproxy "$n"
  write_descriptions "$n"
  log "fleet up in ${SECONDS}s: $( ((n == 1)) && echo web-1 || echo "web-1..web-$n"), load balancer http://127.0.0.1:$LB_PORT; hosts in $FLEET/hosts.env and hosts.json"
}

down() {
  local k
  for ((k = 1; k <= MAX_HOSTS; k++)); do
    if [ -d "$(host_home "$k")" ]; then stop_host "$k"; fi
  done
  stop_pid "$FLEET/haproxy.pid" haproxy "the fleet's haproxy" 15
  rm -f "$FLEET/hosts.env" "$FLEET/hosts.json" "$FLEET/haproxy.sock"
  log "fleet down (data roots kept under $GREENLIGHT_HOME/hosts: the next up does not reload the images)"
}

case "${1:-}" in
  up) up "${2:-2}" ;;
  down) down ;;
  *) log "usage: scripts/fleet.sh up [N] | down"; exit 2 ;;
esac
