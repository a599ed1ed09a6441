#!/usr/bin/env bash
# UI benchmark (prints JSON; never gates on time): builds the renderer, then measures frames in
# Chromium while a task in a real VM prints 10,000 lines per second for 10 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx vite build app/renderer --config app/renderer/vite.config.ts --logLevel warn >&2
exec npx tsx bench/ui/ui-bench.ts
