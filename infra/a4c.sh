#!/usr/bin/env bash
# Entry point of every README command. It needs only Node and npm: it installs the project's
# packages (which bring Bun from the npm registry) and hands over to the TypeScript launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[a4c] installing npm packages…"
  # `npm install` honours package-lock.json; `npm ci` here trips over npm 11 listing other
  # platforms' optional binaries (Biome's) as missing from the lock file.
  npm install --no-audit --no-fund --loglevel=error
fi
# kafkajs under Bun warns about a negative timeout that it then clamps; keep the output readable.
export NODE_NO_WARNINGS=1
exec node_modules/.bin/bun infra/cli.ts "$@"
