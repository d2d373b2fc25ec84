#!/usr/bin/env bash
# Installs what edgemarket needs, only when it is missing or out of date:
#   python  - .venv with torch (CPU wheel first, so ray[rllib] never pulls a CUDA build) and the project
#   npm     - node_modules from package-lock.json (anvil, forge, solc, OpenZeppelin)
#   contracts - compile the Solidity contracts (cached by source hash under data/artifacts)
#   system  - Debian packages for browser tests and the PostgreSQL store test (root only)
# Usage: scripts/setup.sh [python] [npm] [contracts] [system]   (no argument: python npm contracts)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=data/.stamps
mkdir -p "$STAMPS"

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(python npm contracts)

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

setup_python() {
  local h; h=$(hash_of pyproject.toml)
  if [ -x .venv/bin/edgemarket ] && [ "$(cat "$STAMPS/python" 2>/dev/null)" = "$h" ]; then return; fi
  echo "[setup] python environment (.venv)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  # The CPU wheel of torch lies on this disk; an unpinned torch would pull multi-GB CUDA builds.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$h" > "$STAMPS/python"
}

setup_npm() {
  local h; h=$(hash_of package-lock.json)
  if [ -d node_modules/@foundry-rs/anvil-linux-amd64 ] && [ "$(cat "$STAMPS/npm" 2>/dev/null)" = "$h" ]; then return; fi
  echo "[setup] npm packages (node_modules)"
  # `npm ci` rejects this lockfile (npm drops the other platforms' optional anvil/forge
  # binaries from it); `npm install` honours the locked versions just the same.
  npm install --no-audit --no-fund --loglevel=error
  # npm rewrites the lockfile (it adds the other platforms' optional entries): stamp what it
  # left, so the next setup is a no-op.
  hash_of package-lock.json > "$STAMPS/npm"
}

setup_contracts() {
  # Cached by source hash: a no-op (well under a second) unless a contract changed.
  .venv/bin/edgemarket ledger compile >/dev/null
}

setup_system() {
  local pkgs=(chromium fonts-noto-color-emoji fonts-dejavu-core postgresql)
  local missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" -ne 0 ]; then
    echo "[setup] skipping system packages (${missing[*]}): not root; browser/PostgreSQL tests will be skipped" >&2
    return
  fi
  echo "[setup] system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

for w in "${want[@]}"; do "setup_$w"; done
