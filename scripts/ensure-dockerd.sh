#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock: if none does and we are root with
# Debian's docker.io installed, starts dockerd in the background (log: $CHAOSCERT_DOCKERD_LOG,
# default /var/log/chaoscert-dockerd.log) and waits up to 60 s for it. Exit 0 when an engine answers.
set -euo pipefail
if docker version >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null; then
  echo "ensure-dockerd: no Docker engine answers and cannot start one (need root and dockerd)" >&2
  exit 1
fi
log=${CHAOSCERT_DOCKERD_LOG:-/var/log/chaoscert-dockerd.log}
if ! pgrep -x dockerd >/dev/null; then
  setsid dockerd >>"$log" 2>&1 < /dev/null &
fi
for _ in $(seq 600); do
  if docker version >/dev/null 2>&1; then exit 0; fi
  sleep 0.1
done
echo "ensure-dockerd: dockerd did not answer within 60 s; see $log" >&2
exit 1
