#!/usr/bin/env bash
# Print the path of a Mosquitto broker binary the tests can run, installing it if needed.
#
# 1. /usr/sbin/mosquitto (Debian's package) or mosquitto on PATH;
# 2. else Debian's mosquitto package, installed when we are root with apt-get;
# 3. else say what to install and fail.
# Nothing is started here: tests and benchmarks run their own broker process on a free
# port with a private configuration (vntwin.live.broker.Mosquitto), never the machine's.
# Diagnostics go to stderr; the path is the only line on stdout.
set -euo pipefail

found() {
  if [ -x /usr/sbin/mosquitto ]; then echo /usr/sbin/mosquitto; return 0; fi
  command -v mosquitto 2>/dev/null && return 0
  return 1
}

if found; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-mosquitto: installing Debian's mosquitto" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
     apt-get install -y -qq --no-install-recommends mosquitto) >&2
  # the package may start a system broker on 1883 where an init system runs; leave it be
  if found; then exit 0; fi
fi

echo "ensure-mosquitto: no mosquitto broker is installed." >&2
echo "  Install it (Debian/Ubuntu: sudo apt-get install --no-install-recommends mosquitto)" >&2
echo "  and run the tests again." >&2
exit 1
