# Shared helpers for the provisioning scripts. Sourced, never run.
# Everything the local stack writes lives under $GL_HOME (default: <repo>/.greenlight).
set -euo pipefail
# What the scripts create (image contexts, rootfs, state dirs) must be readable by other users: the app
# containers run as nobody, PostgreSQL as postgres.
umask 022
GL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GL_HOME="${GL_HOME:-$GL_REPO/.greenlight}"
GL_TOOLS="$GL_REPO/.tools"
mkdir -p "$GL_HOME" "$GL_TOOLS"
export GL_REPO GL_HOME GL_TOOLS

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
  local marker=/tmp/.greenlight-apt-updated attempt
  local apt=(apt-get -qq -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300)
  if [ -z "$(find "$marker" -mmin -60 2>/dev/null)" ]; then "${apt[@]}" update && touch "$marker" || true; fi
  for attempt in 1 2 3 4; do
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null && return 0
    ((attempt == 4)) && break
    log "apt-get install failed (attempt $attempt of 4): refreshing the package lists and retrying in $((attempt * 10)) s"
    sleep $((attempt * 10))
    "${apt[@]}" update && touch "$marker" || true
  done
  log "could not install ${missing[*]} with apt-get; check the Debian mirror in /etc/apt/sources.list*"
  return 1
}
