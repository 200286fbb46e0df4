#!/usr/bin/env bash
# Idempotent: a self-hosted Temporal cluster, the real server (not `start-dev`) on its own PostgreSQL,
# the cluster docker-compose.temporal.yml describes, built and run without any image registry:
#   - temporal-server and temporal-sql-tool built from the Go module proxy (`go install`) into
#     .tools/temporal-server-v<version>/ (cached: a second run builds nothing);
#   - PostgreSQL 15 from Debian as its own cluster on :7440 (data $GREENLIGHT_HOME/temporal-selfhosted/postgres),
#     databases temporal and temporal_visibility (role temporal/temporal), schemas from the module;
#   - the server on 127.0.0.1, frontend :7450 (history 7451, matching 7452, worker 7453, membership 746x,
#     frontend HTTP 7470, metrics 7480, pprof off), so it runs beside the dev server on 7233;
#   - the `default` namespace and greenlight's search attributes, through the operator API.
# Re-running starts only what is not answering. Stop it with: scripts/temporal-selfhosted.sh stop
# Point greenlight at it with TEMPORAL_ADDRESS=127.0.0.1:7450.
# Knobs (defaults): GL_SELFHOSTED_PORT (7450; the others follow it), GL_SELFHOSTED_PG_PORT (7440).
source "$(dirname "$0")/lib.sh"

# The one place the self-hosted server's version is pinned (docker-compose.temporal.yml names the same
# release; test/unit/artifacts.test.ts checks). The next minor release needs a newer Go than this machine's.
TEMPORAL_SERVER_VERSION=1.31.0

FRONTEND_PORT="${GL_SELFHOSTED_PORT:-7450}"
PG_PORT="${GL_SELFHOSTED_PG_PORT:-7440}"
ADDRESS="127.0.0.1:$FRONTEND_PORT"
BUILD="$GL_TOOLS/temporal-server-v$TEMPORAL_SERVER_VERSION"
STATE="$GREENLIGHT_HOME/temporal-selfhosted"
SERVER_LOG="$STATE/server.log"
SERVER_PID="$STATE/server.pid"
PG_BIN="/usr/lib/postgresql/15/bin"
[ -x "$PG_BIN/pg_ctl" ] || PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
PG_DATA="$STATE/postgres"
PG_SOCK="$STATE/pgsock"
PG_LOG="$STATE/postgres.log"
mkdir -p "$STATE"
as_pg() { runuser -u postgres -- "$@"; }
pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
frontend_answers() { (echo >/dev/tcp/127.0.0.1/"$FRONTEND_PORT") 2>/dev/null; }
# The server runs as user postgres, which must reach $STATE (see scripts/infra.sh).
if ! as_pg test -x "$STATE" 2>/dev/null; then
  alt="/var/lib/postgresql/greenlight-selfhosted-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)"
  install -d -o postgres -g postgres -m 0755 "$alt"
  PG_DATA="$alt/postgres" PG_SOCK="$alt/pgsock" PG_LOG="$alt/postgres.log"
fi

if [ "${1:-}" = "stop" ]; then
  if [ -s "$SERVER_PID" ] && kill -0 "$(cat "$SERVER_PID")" 2>/dev/null; then
    log "stopping the self-hosted Temporal server (pid $(cat "$SERVER_PID"))"
    kill "$(cat "$SERVER_PID")"
    wait_for "the server to exit" 30 bash -c "! kill -0 $(cat "$SERVER_PID")"
  fi
  if [ -s "$PG_DATA/postmaster.pid" ]; then as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null || true; fi
  exit 0
fi

# ---- Build (cached) ---------------------------------------------------------------------------
if [ ! -x "$BUILD/bin/temporal-server" ] || [ ! -x "$BUILD/bin/temporal-sql-tool" ] || [ ! -d "$BUILD/schema" ]; then
  # Debian 12's golang-go (1.19) is too old: the server's go.mod asks for Go 1.26.
  command -v go >/dev/null || { log "no Go on PATH: building temporal-server v$TEMPORAL_SERVER_VERSION needs Go 1.26 or newer (https://go.dev/dl/)"; exit 1; }
  log "building temporal-server and temporal-sql-tool v$TEMPORAL_SERVER_VERSION from the Go module proxy into ${BUILD#"$GL_REPO/"} (3 to 15 minutes on 2 shared cores, once)"
  mkdir -p "$BUILD/bin"
  # nice: CPU heavy, and the machine is shared.
  GOBIN="$BUILD/bin" GOFLAGS=-mod=mod nice -n 10 go install \
    "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION" >"$BUILD/build.log" 2>&1 \
    || { tail -20 "$BUILD/build.log" >&2; exit 1; }
  mv "$BUILD/bin/server" "$BUILD/bin/temporal-server"
  mv "$BUILD/bin/sql" "$BUILD/bin/temporal-sql-tool"
  # The schemas ship in the module: keep them with the binaries (the module cache may be cleaned).
  module="$(go env GOMODCACHE)/go.temporal.io/server@v$TEMPORAL_SERVER_VERSION"
  rm -rf "$BUILD/schema.tmp" && mkdir -p "$BUILD/schema.tmp"
  cp -r "$module/schema/postgresql" "$BUILD/schema.tmp/"
  chmod -R u+w "$BUILD/schema.tmp"
  mv "$BUILD/schema.tmp" "$BUILD/schema"
fi
SQL_TOOL="$BUILD/bin/temporal-sql-tool"
TEMPORAL_CLI="$GL_TOOLS/temporal"
[ -x "$TEMPORAL_CLI" ] || bash "$(dirname "$0")/temporal.sh" # installs the CLI (and the dev server) when missing

# ---- PostgreSQL (its own cluster) -------------------------------------------------------------
start_postgres() {
  apt_install postgresql postgresql-client
  if pg_answers && [ ! -S "$PG_SOCK/.s.PGSQL.$PG_PORT" ]; then
    log "a PostgreSQL on 127.0.0.1:$PG_PORT is not this checkout's (no socket in $PG_SOCK): stop it or set GL_SELFHOSTED_PG_PORT"
    exit 1
  fi
  install -d -o postgres -g postgres -m 0755 "$PG_SOCK"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    log "initdb $PG_DATA"
    rm -rf "$PG_DATA"
    install -d -o postgres -g postgres -m 0700 "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >"$STATE/initdb.log" 2>&1 || { cat "$STATE/initdb.log" >&2; exit 1; }
  fi
  if ! pg_answers; then
    if [ -f "$PG_DATA/postmaster.pid" ] && ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
      rm -f "$PG_DATA/postmaster.pid" # left by a killed server
    fi
    log "starting Temporal's PostgreSQL on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
    touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"
    setsid -w runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
      -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c max_connections=200" </dev/null >/dev/null \
      || { tail -20 "$PG_LOG" >&2; exit 1; }
    wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" 60 pg_answers
  fi
  as_pg psql -X -q -h "$PG_SOCK" -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal') THEN
    CREATE ROLE temporal LOGIN CREATEDB PASSWORD 'temporal';
  END IF;
END
$$;
SQL
}

# ---- Schemas: created once, then upgraded to this release's versions (a no-op when current) ------
setup_schemas() {
  sql_tool() { "$SQL_TOOL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --pw temporal --db "$@"; }
  for db in temporal temporal_visibility; do
    dir="$BUILD/schema/postgresql/v12/${db#temporal_}" # temporal/, visibility/
    db_exists="$(PGPASSWORD=temporal psql -X -h 127.0.0.1 -p "$PG_PORT" -U temporal -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$db'")"
    if [ "$db_exists" != 1 ]; then
      log "creating database $db and its schema"
      sql_tool "$db" create >>"$STATE/schema.log" 2>&1 || { tail -5 "$STATE/schema.log" >&2; exit 1; }
    fi
    if ! PGPASSWORD=temporal psql -X -h 127.0.0.1 -p "$PG_PORT" -U temporal -d "$db" -tAc 'SELECT 1 FROM schema_version' >/dev/null 2>&1; then
      sql_tool "$db" setup-schema -v 0.0 >>"$STATE/schema.log" 2>&1 || { tail -5 "$STATE/schema.log" >&2; exit 1; }
    fi
    sql_tool "$db" update-schema -d "$dir/versioned" >>"$STATE/schema.log" 2>&1 || { tail -5 "$STATE/schema.log" >&2; exit 1; }
  done
}

# ---- Config (rewritten on every start) ---------------------------------------------------------
write_config() {
  mkdir -p "$STATE/config/dynamicconfig"
  cat >"$STATE/config/greenlight.yaml" <<EOF
# Written by scripts/temporal-selfhosted.sh (rewritten on every start); from the module's
# config/development-postgres12.yaml, with this machine's ports.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: temporal
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: temporal
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  pprof:
    port: 0
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:$((FRONTEND_PORT + 30))"
services:
  frontend:
    rpc: { grpcPort: $FRONTEND_PORT, membershipPort: $((FRONTEND_PORT + 10)), httpPort: $((FRONTEND_PORT + 20)), bindOnLocalHost: true }
  history:
    rpc: { grpcPort: $((FRONTEND_PORT + 1)), membershipPort: $((FRONTEND_PORT + 11)), bindOnLocalHost: true }
  matching:
    rpc: { grpcPort: $((FRONTEND_PORT + 2)), membershipPort: $((FRONTEND_PORT + 12)), bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $((FRONTEND_PORT + 3)), membershipPort: $((FRONTEND_PORT + 13)), bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$FRONTEND_PORT"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$STATE/config/dynamicconfig/greenlight.yaml"
  pollInterval: 10s
EOF
  cat >"$STATE/config/dynamicconfig/greenlight.yaml" <<'EOF'
# Written by scripts/temporal-selfhosted.sh. Workflow Update (rollback, promote) is on by default since 1.25.
frontend.enableUpdateWorkflowExecution:
  - value: true
# A search attribute registered a moment ago is usable at once (the dev server does the same).
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
limit.maxIDLength:
  - value: 255
EOF
}

# ---- Server ------------------------------------------------------------------------------------
if frontend_answers; then
  # This checkout's server after a first run, or another checkout's on the same port: used as it is.
  if ! { [ -s "$SERVER_PID" ] && kill -0 "$(cat "$SERVER_PID")" 2>/dev/null; }; then
    log "a Temporal server answers on $ADDRESS but is not this checkout's (no live $SERVER_PID): using it"
  fi
else
  start_postgres
  setup_schemas
  write_config
  log "starting temporal-server v$TEMPORAL_SERVER_VERSION on $ADDRESS (PostgreSQL :$PG_PORT, log $SERVER_LOG)"
  setsid "$BUILD/bin/temporal-server" --root "$STATE" --config config --env greenlight --allow-no-auth start \
    >>"$SERVER_LOG" 2>&1 </dev/null &
  echo $! >"$SERVER_PID"
fi
if ! wait_for "the self-hosted Temporal server on $ADDRESS" 120 "$TEMPORAL_CLI" operator cluster health --address "$ADDRESS"; then
  tail -20 "$SERVER_LOG" >&2
  exit 1
fi
if ! "$TEMPORAL_CLI" operator namespace describe --address "$ADDRESS" --namespace default >/dev/null 2>&1; then
  log "creating the namespace default (retention 3 days)"
  wait_for "namespace default" 60 "$TEMPORAL_CLI" operator namespace create --address "$ADDRESS" --namespace default --retention 72h
fi
# greenlight's search attributes, stored in PostgreSQL visibility's custom columns; creating an existing one
# is a no-op. Retried: a namespace created a moment ago reaches every frontend within seconds.
for sa in GreenlightApp=Keyword GreenlightPhase=Keyword GreenlightOutcome=Keyword GreenlightImages=KeywordList GreenlightHosts=KeywordList GreenlightHealth=Keyword; do
  wait_for "search attribute ${sa%%=*}" 60 "$TEMPORAL_CLI" operator search-attribute create --address "$ADDRESS" --namespace default --name "${sa%%=*}" --type "${sa##*=}"
done
log "self-hosted Temporal v$TEMPORAL_SERVER_VERSION up: TEMPORAL_ADDRESS=$ADDRESS (PostgreSQL 127.0.0.1:$PG_PORT)"
