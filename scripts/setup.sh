#!/usr/bin/env bash
# Installs what chaoscert needs on a Debian/Ubuntu machine, as root: system packages (a C compiler
# and Python's headers for the EDN reader's extension, databases, network tools, libfaketime, gdb for
# the PostgreSQL SSI race control, Docker engine, Chromium for report screenshots) and a virtual
# environment in .venv with chaoscert and its Python dependencies.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-pip
  gcc python3-dev
  iproute2 iptables procps psmisc
)
# CHAOSCERT_MINIMAL=1 installs only what the checkers need (no databases, no Docker).
if [ -z "${CHAOSCERT_MINIMAL:-}" ]; then
  APT_PACKAGES+=(
    mariadb-server mariadb-client galera-4 rsync socat
    etcd-server etcd-client postgresql patroni
    faketime libaio1 debootstrap docker.io gdb
    iputils-ping libnetfilter-queue-dev
    openssh-server openssh-client
    chromium fonts-dejavu-core
  )
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    # Packaged servers must not start on their default ports: chaoscert starts its own.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not root or no apt-get: install these yourself if missing: ${APT_PACKAGES[*]}" >&2
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# nemesis: the NFQUEUE packet delayer's binding (built from source against libnetfilter-queue-dev)
extras=dev,seekdb
[ -n "${CHAOSCERT_MINIMAL:-}" ] || extras=$extras,nemesis
.venv/bin/python -m pip install -q -e ".[$extras]"
echo "setup: ready ($(.venv/bin/chaoscert version)); 'source .venv/bin/activate' puts chaoscert on your PATH"
