// tests/cli/migrate_check.mjs URL DEFINITION FROM TO - reads every instance of
// DEFINITION through the daemon at URL and prints one line:
//   instances=<n> from=<n> to=<n> twice=<n> half=<n>
// from/to count the instances of each version; twice counts instances with
// more than one "migrated" history row; half counts instances whose version
// and history disagree (of version TO without exactly one such row, or of
// FROM with one). After a migration killed in the middle, twice=0 half=0 is
// the bar: each instance was migrated once or not at all.
const [url, definition, from, to] = process.argv.slice(2);
if (!to) {
  console.error('usage: migrate_check.mjs URL DEFINITION FROM TO');
  process.exit(2);
}

async function get(path) {
  const r = await fetch(url + path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
  return r.json();
}

const ids = [];
for (let offset = 0; ; offset += 1000) {
  const page = await get(`/api/instances?definition=${definition}&limit=1000&offset=${offset}`);
  for (const i of page.instances) ids.push(i.id);
  if (page.instances.length < 1000) break;
}
const counts = { instances: ids.length, from: 0, to: 0, twice: 0, half: 0 };
const queue = ids.slice();
async function worker() {
  while (queue.length) {
    const id = queue.pop();
    const inst = await get(`/api/instances/${encodeURIComponent(id)}?definition=${definition}`);
    const rows = inst.history.filter((h) => h.outcome === 'migrated').length;
    const v = String(inst.definition_version);
    if (v === from) counts.from++;
    if (v === to) counts.to++;
    if (rows > 1) counts.twice++;
    if ((v === to && rows !== 1) || (v === from && rows !== 0)) counts.half++;
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
console.log(Object.entries(counts).map(([k, n]) => `${k}=${n}`).join(' '));
