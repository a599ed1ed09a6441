#!/usr/bin/env bash
# End-to-end tests of the window: builds the renderer, then runs the Playwright tests
# (playwright-core driving /usr/bin/chromium, headless) against the harness bridge and the
# real core, which boots real VMs. Screenshots land in test-results/e2e/.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "e2e: $*" >&2; exit 1; }
[[ -x /usr/bin/chromium ]] || fail "/usr/bin/chromium is missing; install the 'chromium' package (scripts/setup-system.sh does)."

echo "e2e: building the renderer (vite)" >&2
npx vite build app/renderer --config app/renderer/vite.config.ts --logLevel warn

rm -rf test-results/e2e
mkdir -p test-results/e2e
npx vitest run --config test/e2e/vitest.e2e.config.ts "$@"
echo "e2e: screenshots in $(pwd)/test-results/e2e/" >&2
