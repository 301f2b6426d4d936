#!/usr/bin/env bash
# Renders a run's report.html to a PNG in headless Chromium, to look at the page as a browser
# draws it (not run by CI). Installs Debian's chromium package when it is missing.
#   tests/report/render_report.sh RUN_DIR/report.html [OUT.png] [WIDTHxHEIGHT]
set -euo pipefail

html=${1:?usage: render_report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]}
out=${2:-${html%.html}.png}
size=${3:-1280x2400}

if ! command -v chromium >/dev/null 2>&1; then
  echo "render_report.sh: installing chromium (Debian package)"
  sudo_cmd=""
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi

abs_html=$(realpath "$html")
abs_out=$(realpath -m "$out")
# NOTE: the page fetches nothing; --disable-gpu and a throwaway profile keep Chromium quiet in
# containers, --hide-scrollbars keeps the screenshot clean.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size="${size/x/,}" --screenshot="$abs_out" "file://$abs_html" 2>/dev/null
echo "wrote $abs_out"
