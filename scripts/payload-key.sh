#!/usr/bin/env bash
# Idempotent: the payload encryption key of this stack (src/codec.ts), made once as
# $GREENLIGHT_HOME/payload-keys (0600; the id is the day it was made), which the CLI and the worker read
# when GREENLIGHT_PAYLOAD_KEYS is not set. Several machines: set GREENLIGHT_PAYLOAD_KEYS on each instead.
source "$(dirname "$0")/lib.sh"
KEY_FILE="$GREENLIGHT_HOME/payload-keys"
if [ ! -s "$KEY_FILE" ]; then
  tmp="$(mktemp "$GREENLIGHT_HOME/.payload-keys.XXXXXX")"   # mktemp makes it 0600
  printf '# greenlight payload keys: id:<base64 of 32 bytes>, the first encrypts, all decrypt\nk%s:%s\n' \
    "$(date -u +%Y%m%d)" "$(head -c 32 /dev/urandom | base64 -w0)" >"$tmp"
  # A second run racing this one keeps the first key: ln fails when the file exists.
  if ln "$tmp" "$KEY_FILE" 2>/dev/null; then log "made the payload key $KEY_FILE"; fi
  rm -f "$tmp"
fi
chmod 600 "$KEY_FILE"
