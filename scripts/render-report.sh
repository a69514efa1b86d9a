#!/usr/bin/env bash
# Renders a seer report in headless Chromium (Debian's chromium, installed when missing) to PNG
# screenshots at a desktop and a phone width, and prints the page's text as the browser laid it
# out, to check that it opens and renders in a real browser.
#
# Usage: scripts/render-report.sh REPORT.html [OUT_DIR]
set -euo pipefail
report=$(realpath "$1")
out=${2:-$(dirname "$report")}
mkdir -p "$out"
if ! command -v chromium >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# Without the background-networking flags Chromium tries to reach Google's hosts at start.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile")
chromium "${flags[@]}" --window-size=1280,6000 --screenshot="$out/report-desktop.png" "file://$report" 2>/dev/null
chromium "${flags[@]}" --window-size=390,9000 --screenshot="$out/report-phone.png" "file://$report" 2>/dev/null
chromium "${flags[@]}" --dump-dom "file://$report" 2>/dev/null | grep -c "<svg" | sed 's/^/inline SVGs in the rendered page: /'
chromium "${flags[@]}" --print-to-pdf="$out/report.pdf" --no-pdf-header-footer "file://$report" 2>/dev/null
# The profiling section alone (the page's head and that section), beside the report so that its
# flame-graph links resolve, at the desktop width.
section="$(dirname "$report")/.profiling-section.html"
python3 - "$report" "$section" <<'PY'
import sys
page = open(sys.argv[1]).read()
start = page.index('<section id="profiling">')
end = page.index("</section>", start) + len("</section>")
open(sys.argv[2], "w").write(page[: page.index("<main>") + 6] + page[start:end] + "</main></body></html>")
PY
chromium "${flags[@]}" --window-size=1280,1700 --screenshot="$out/report-profiling.png" "file://$section" 2>/dev/null
rm -f "$section"
echo "wrote $out/report-desktop.png, $out/report-phone.png, $out/report-profiling.png and $out/report.pdf"
