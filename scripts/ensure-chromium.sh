#!/usr/bin/env bash
# Print the path of a Chromium the browser tests can drive, installing Debian's if we may.
#
# 1. $VNTWIN_CHROMIUM if set and executable;
# 2. /usr/bin/chromium (Debian's package), or chromium / chromium-browser on the PATH;
# 3. else, when root with apt-get: apt-get install chromium fonts-noto-core (Vietnamese glyphs);
# 4. else say what to install and exit 1.
# Playwright's own browser download cannot work offline; it drives this Chromium through
# executable_path. Diagnostics go to stderr; the path is the only line on stdout.
set -euo pipefail

found() {
  if [ -n "${VNTWIN_CHROMIUM:-}" ] && [ -x "$VNTWIN_CHROMIUM" ]; then echo "$VNTWIN_CHROMIUM"; return 0; fi
  if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; return 0; fi
  for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}

if path=$(found); then echo "$path"; exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium and fonts-noto-core" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
     --no-install-recommends chromium fonts-noto-core) >&2
  if path=$(found); then echo "$path"; exit 0; fi
fi

echo "ensure-chromium: no Chromium found and none could be installed." >&2
echo "  Install it (Debian/Ubuntu: sudo apt-get install --no-install-recommends chromium" >&2
echo "  fonts-noto-core) or set VNTWIN_CHROMIUM to a Chromium or Chrome executable." >&2
exit 1
