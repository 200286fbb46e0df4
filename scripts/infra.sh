#!/usr/bin/env bash
# Idempotent: the shared infrastructure both colors of the example app use, as greenlight's OWN
# instances (not Debian's system services), with their state under $GREENLIGHT_HOME:
#   PostgreSQL 15 on :5434 (data $GREENLIGHT_HOME/postgres, socket dir $GREENLIGHT_HOME/pgsock), role/database shop/shop
#   Redis on :6379 (dir $GREENLIGHT_HOME/redis)
# Both listen on loopback and on 172.30.0.1, the gateway of the docker network `greenlight` that
# scripts/docker.sh creates, so app containers reach them there. Writes $GREENLIGHT_HOME/infra.env
# (DATABASE_URL, REDIS_URL) for the containers. Re-running starts only what is not answering; a
# PostgreSQL or Redis of another checkout already on those ports is used as it is.
# Knobs (defaults): GL_INFRA_GATEWAY (172.30.0.1), GL_INFRA_SUBNET (172.30.0.0/24), GL_PG_PORT (5434),
# GL_REDIS_PORT (6379).
source "$(dirname "$0")/lib.sh"

GATEWAY="${GL_INFRA_GATEWAY:-172.30.0.1}"
SUBNET="${GL_INFRA_SUBNET:-172.30.0.0/24}"
PG_PORT="${GL_PG_PORT:-5434}"
REDIS_PORT="${GL_REDIS_PORT:-6379}"
PG_DATA="$GREENLIGHT_HOME/postgres"
PG_SOCK="$GREENLIGHT_HOME/pgsock"
PG_LOG="$GREENLIGHT_HOME/postgres.log"
REDIS_DIR="$GREENLIGHT_HOME/redis"

# The docker network's gateway must exist before anything can bind to it. (dockerd re-creates the
# bridge of an existing network shortly after its API answers, so this waits a little.)
if ! wait_for "an interface with $GATEWAY (the docker network 'greenlight')" 30 has_address "$GATEWAY"; then
  log "no interface has $GATEWAY: run scripts/docker.sh first (it creates the docker network 'greenlight' with that gateway)"
  exit 1
fi

redis_was_installed=1
dpkg -s redis-server >/dev/null 2>&1 || redis_was_installed=0
apt_install postgresql redis-server
if ((redis_was_installed == 0)) && service redis-server status >/dev/null 2>&1; then
  # Debian's postinst may start the system Redis on 127.0.0.1:6379; greenlight runs its own there.
  log "stopping Debian's redis-server service (greenlight runs its own Redis on :$REDIS_PORT)"
  service redis-server stop >/dev/null 2>&1 || true
fi

# ---- PostgreSQL -------------------------------------------------------------------------------
PG_BIN="/usr/lib/postgresql/15/bin"
[ -x "$PG_BIN/pg_ctl" ] || PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$PG_BIN/pg_ctl" ] || { log "no PostgreSQL server binaries under /usr/lib/postgresql"; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }
psql_admin() { as_pg psql -X -q -h "$PG_SOCK" -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 "$@"; }
pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
shop_can_log_in() { PGPASSWORD=shop psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U shop -d shop -tAc 'SELECT 1' >/dev/null 2>&1; }

# The server runs as user postgres, which must reach $GREENLIGHT_HOME; when a parent directory is not
# searchable by others (a checkout under /root, a mktemp -d), keep its files under postgres's home.
if ! as_pg test -x "$GREENLIGHT_HOME"; then
  alt="/var/lib/postgresql/greenlight-$(printf '%s' "$GREENLIGHT_HOME" | sha256sum | cut -c1-12)"
  log "user postgres cannot reach $GREENLIGHT_HOME: PostgreSQL's data, socket and log go to $alt"
  install -d -o postgres -g postgres -m 0755 "$alt"
  PG_DATA="$alt/postgres" PG_SOCK="$alt/pgsock" PG_LOG="$alt/postgres.log"
fi

start_own_postgres() {
  install -d -o postgres -g postgres -m 0755 "$PG_SOCK"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    log "initdb $PG_DATA"
    rm -rf "$PG_DATA"
    install -d -o postgres -g postgres -m 0700 "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >"$GREENLIGHT_HOME/initdb.log" 2>&1 \
      || { cat "$GREENLIGHT_HOME/initdb.log" >&2; exit 1; }
  fi
  # Who may connect: the superuser through the socket (peer), the app over TCP from loopback and the
  # docker network only, with a password.
  local hba hba_changed=0
  hba="# Written by scripts/infra.sh (rewritten on every run).
# TYPE  DATABASE  USER      ADDRESS          METHOD
local   all       postgres                   peer
local   all       all                        scram-sha-256
host    all       all       127.0.0.1/32     scram-sha-256
host    all       all       $SUBNET          scram-sha-256"
  if [ "$(cat "$PG_DATA/pg_hba.conf" 2>/dev/null)" != "$hba" ]; then
    printf '%s\n' "$hba" >"$PG_DATA/pg_hba.conf"
    chown postgres:postgres "$PG_DATA/pg_hba.conf"
    chmod 0600 "$PG_DATA/pg_hba.conf"
    hba_changed=1
  fi
  if ! pg_answers; then
    if [ -f "$PG_DATA/postmaster.pid" ] && ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
      rm -f "$PG_DATA/postmaster.pid" # left by a killed server
    fi
    log "starting PostgreSQL on :$PG_PORT (log: $PG_LOG)"
    touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"
    # setsid: the server must outlive the shell (and a test runner) that started it.
    setsid -w runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
      -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses='127.0.0.1,$GATEWAY'" </dev/null >/dev/null \
      || { tail -20 "$PG_LOG" >&2; exit 1; }
    wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" 60 pg_answers
  elif ((hba_changed)); then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" reload >/dev/null
  fi
  # The app's role and database (password "shop"), created once.
  psql_admin <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop') THEN
    CREATE ROLE shop LOGIN PASSWORD 'shop';
  END IF;
END
$$;
SQL
  if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'shop'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE shop OWNER shop"
    log "created database shop"
  fi
}

if pg_answers && [ ! -S "$PG_SOCK/.s.PGSQL.$PG_PORT" ]; then
  # Something else holds :5434 (e.g. another checkout's infra.sh): use it if the app can log in.
  shop_can_log_in || { log "a PostgreSQL on 127.0.0.1:$PG_PORT is not this checkout's and refuses shop/shop: stop it or set GL_PG_PORT"; exit 1; }
  log "PostgreSQL on :$PG_PORT is not this checkout's (no socket in $PG_SOCK), but shop/shop works: using it"
else
  start_own_postgres
fi

# ---- Redis ------------------------------------------------------------------------------------
redis_ok() { [ "$(redis-cli -h "$1" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
mkdir -p "$REDIS_DIR"
if ! redis_ok 127.0.0.1; then
  log "starting Redis on :$REDIS_PORT (log: $REDIS_DIR/redis.log)"
  # protected-mode is off only because it binds loopback and the docker bridge, nothing public.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 "$GATEWAY" --protected-mode no \
    --daemonize yes --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" \
    --logfile "$REDIS_DIR/redis.log" --dbfilename dump.rdb
  wait_for "Redis on 127.0.0.1:$REDIS_PORT" 30 redis_ok 127.0.0.1
fi
if ! redis_ok "$GATEWAY"; then
  log "a Redis answers on 127.0.0.1:$REDIS_PORT but not on $GATEWAY:$REDIS_PORT: it is not greenlight's"
  log "(Debian's service? stop it with 'service redis-server stop') and re-run scripts/infra.sh"
  exit 1
fi
pg_isready -q -h "$GATEWAY" -p "$PG_PORT" || { log "PostgreSQL does not answer on $GATEWAY:$PG_PORT"; exit 1; }

# ---- What the containers get ------------------------------------------------------------------
cat >"$GREENLIGHT_HOME/infra.env.tmp" <<EOF
DATABASE_URL=postgres://shop:shop@$GATEWAY:$PG_PORT/shop
REDIS_URL=redis://$GATEWAY:$REDIS_PORT
EOF
mv "$GREENLIGHT_HOME/infra.env.tmp" "$GREENLIGHT_HOME/infra.env"
log "infra up: PostgreSQL $GATEWAY:$PG_PORT (db shop), Redis $GATEWAY:$REDIS_PORT; env in $GREENLIGHT_HOME/infra.env"
