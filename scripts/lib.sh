# Shared helpers for the provisioning scripts. Sourced, never run.
# Everything the local stack writes lives under $GL_HOME (default: <repo>/.greenlight).
set -euo pipefail
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
  # Package lists refreshed at most hourly; an install that fails on stale lists refreshes and retries once.
  local marker=/tmp/.greenlight-apt-updated
  if [ -z "$(find "$marker" -mmin -60 2>/dev/null)" ]; then apt-get update -qq && touch "$marker"; fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq && touch "$marker"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
