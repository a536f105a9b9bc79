#!/usr/bin/env bash
# Resolve requirements as of a date through a throwaway snapproxy, with the pip you have.
#   examples/proxy/resolve.sh 2021-05-01 requests
# prints the name==version pins pip chose; nothing is installed.
set -euo pipefail
date=${1:?usage: resolve.sh DATE REQUIREMENT...}
shift
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill "$proxy" 2>/dev/null || true; rm -rf "$work"' EXIT

"$here/dev" serve --date "$date" --port 0 --no-cache --quiet > "$work/out" &
proxy=$!
for _ in $(seq 100); do grep -q -- '--index-url' "$work/out" 2>/dev/null && break; sleep 0.1; done
index=$(grep -o -- '--index-url [^ ]*' "$work/out" | cut -d' ' -f2)

# Isolated from pip configuration files and PIP_* variables, so only the snapshot is seen.
env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    python3 -m pip install --isolated --quiet --dry-run --ignore-installed --no-cache-dir \
    --disable-pip-version-check --index-url "$index" --report "$work/report.json" "$@"
python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for item in sorted(report["install"], key=lambda i: i["metadata"]["name"].lower()):
    print(f'{item["metadata"]["name"]}=={item["metadata"]["version"]}')
PY
