#!/usr/bin/env bash
# npm run bench [-- OUT_DIR]: every benchmark, one after the other (each on a scratch stack of its own,
# as its npm script does), with its table in OUT_DIR/<name>.txt and its results in OUT_DIR/<name>.json.
# OUT_DIR defaults to bench-results/<UTC date and time> (git-ignored). Run it on a quiet machine: the
# benchmarks measure each other when they share the cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
out="${1:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

for name in queue latency agents e2e detector; do
  echo "[bench] npm run bench:$name -> $out/$name.{txt,json}"
  npm run --silent "bench:$name" -- --json "$out/$name.json" 2>&1 | tee "$out/$name.txt"
done
echo "[bench] all done: $out"
