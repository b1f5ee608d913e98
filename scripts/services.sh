#!/usr/bin/env bash
# Installs the programs whyline's tests start for themselves: PostgreSQL (the postgres store),
# nats-server (JetStream ingestion and the sequencer), Chromium and ChromeDriver (the
# dashboard's browser tests), tmux (`whyline top` driven in a terminal).
#
#   bash scripts/services.sh          # scripts/test.sh runs it first
#
# Only installs: every test starts its own throwaway server (a fresh PostgreSQL cluster or
# nats-server in a temporary directory, on a free loopback port) and stops it at the end, so
# tests never share state and can stop and restart "their" server to inject faults. A test
# whose program is missing fails with a message naming this script; it never skips.
#
# Uses Debian's packages through apt-get (needs root, or sudo). Already installed programs are
# left alone, so a re-run costs a few milliseconds.
set -euo pipefail

need=()
# PostgreSQL's server binaries live in /usr/lib/postgresql/<major>/bin, not on PATH.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then need+=(postgresql); fi
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v tmux >/dev/null 2>&1 || need+=(tmux)

if [ "${#need[@]}" -eq 0 ]; then
    echo "scripts/services.sh: postgresql, nats-server, chromium, chromedriver and tmux are installed"
    exit 0
fi

echo "scripts/services.sh: installing ${need[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "scripts/services.sh: need root or sudo to apt-get install ${need[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "scripts/services.sh: installed ${need[*]}"
