#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock, starting dockerd when none does (root,
# Debian's docker.io). Exit 0 when an engine answers. `python3 scripts/dockerd.py release` stops an
# engine started here and undoes its iptables changes (scripts/test.sh does it after the tests).
exec python3 "$(dirname "$0")/dockerd.py" ensure "$@"
