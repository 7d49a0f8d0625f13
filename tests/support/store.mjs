// tests/support/store.mjs - the store of a steward a Node suite starts
// (tests/serve/voiding.mjs, tests/remote/remote.test.mjs), as
// tests/support/steward.sh gives it to the shell suites: an SQLite file, or
// with STEWARD_TEST_STORE=pg a schema of its own on the test cluster of
// STEWARD_TEST_PG_URL (made by scripts/pg-cluster.sh schema).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// 'sqlite' or 'pg'.
export const storeKind = process.env.STEWARD_TEST_STORE === 'pg' ? 'pg' : 'sqlite';

// A fresh store named `name` (a-z, 0-9, _): dir/name.db, or the URL of the
// schema prefix_PID_name; the same name gives the same store again.
export function store(prefix, name, dir) {
  if (storeKind !== 'pg') return join(dir, `${name}.db`);
  return execFileSync(join(root, 'scripts', 'pg-cluster.sh'), ['schema', `${prefix}_${process.pid}_${name}`],
    { encoding: 'utf8' }).trim();
}
