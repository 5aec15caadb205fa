#!/usr/bin/env bash
# Fails when src/db/schema and drizzle/ disagree: generating from the schema must add nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(git status --porcelain --untracked-files=all drizzle)
npx drizzle-kit generate --name drift_check >/dev/null
after=$(git status --porcelain --untracked-files=all drizzle)
if [ "$before" != "$after" ]; then
  echo "src/db/schema has changes with no migration: run 'npm run db:generate' and commit drizzle/" >&2
  echo "(the check itself generated the migration below; rename or regenerate it before committing)" >&2
  git status --porcelain --untracked-files=all drizzle >&2
  exit 1
fi
echo "drizzle/ matches src/db/schema"
