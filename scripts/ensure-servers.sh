#!/usr/bin/env bash
# Installs what the tests run against when it is missing, all from Debian's packages: InfluxDB 1.x,
# Mosquitto and its clients, and Chromium with a Chinese font for the console's browser tests (driven by
# playwright-core, which downloads no browser of its own).
set -euo pipefail
missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# `docker-compose config` checks docker-compose.yml (tests/integration/deploy.test.ts); no Docker engine needed.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# Without a CJK font the console's default language draws as empty boxes in the screenshots.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing from Debian: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages may start their own services on the default ports; the tests start their own servers
# on free ports, so those are left alone.
