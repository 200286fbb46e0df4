# Shared helpers for the provisioning scripts. Sourced, never run.
# Everything the local stack writes lives under $GREENLIGHT_HOME (default: <repo>/.greenlight).
set -euo pipefail
# What the scripts create (image contexts, rootfs, state dirs) must be readable by other users: the app
# containers run as nobody, PostgreSQL as postgres.
umask 022
GL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GREENLIGHT_HOME="${GREENLIGHT_HOME:-$GL_REPO/.greenlight}"
GL_TOOLS="$GL_REPO/.tools"
mkdir -p "$GREENLIGHT_HOME" "$GL_TOOLS"
export GL_REPO GREENLIGHT_HOME GL_TOOLS

log() { printf '[provision] %s\n' "$*" >&2; }

# wait_for "<description>" <seconds> <command...>: polls until the command succeeds.
wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then log "timed out after ${seconds}s waiting for $what"; return 1; fi
    sleep 0.3
  done
}

# retry "<description>" <attempts> <command...>: runs the command until it succeeds, waiting 10 s, 20 s,
# ... between attempts (for downloads from a mirror that may hiccup); fails after the last attempt.
retry() {
  local what="$1" attempts="$2" attempt
  shift 2
  for ((attempt = 1; ; attempt++)); do
    "$@" && return 0
    if ((attempt >= attempts)); then log "$what failed $attempts times"; return 1; fi
    log "$what failed (attempt $attempt of $attempts); retrying in $((attempt * 10)) s"
    sleep $((attempt * 10))
  done
}

# has_address <ip>: some interface carries this IPv4 address. (Not `ip ... | grep -q` under pipefail:
# grep exits at the first match and ip, still writing a long listing, dies of SIGPIPE, which makes
# the pipeline fail exactly when the address is there.)
has_address() {
  local addrs
  addrs="$(ip -o -4 addr show)"
  [[ "$addrs" == *" inet $1/"* ]]
}

# apt_install <package...>: installs only what is missing (one apt-get update per run).
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  ((${#missing[@]} == 0)) && return 0
  log "apt-get install ${missing[*]}"
  # Package lists refreshed at most hourly. A mirror hiccup or a held dpkg lock is retried: apt itself
  # retries downloads and waits for the lock, and a failed attempt refreshes the lists and tries again.
  local marker=/tmp/.greenlight-apt-updated
  apt_update() { apt-get -qq -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 update && touch "$marker" || true; }
  apt_try() {
    DEBIAN_FRONTEND=noninteractive apt-get -qq -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 \
      install -y --no-install-recommends "$@" >/dev/null || { apt_update; return 1; }
  }
  if [ -z "$(find "$marker" -mmin -60 2>/dev/null)" ]; then apt_update; fi
  retry "apt-get install ${missing[*]}" 4 apt_try "${missing[@]}" && return 0
  log "could not install ${missing[*]} with apt-get; check the Debian mirror in /etc/apt/sources.list*"
  return 1
}
