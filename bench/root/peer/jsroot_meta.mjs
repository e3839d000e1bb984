// node jsroot_meta.mjs REPEAT FILE...: per file, the best of REPEAT times (microseconds) for
// JSROOT to open the file and read the metadata mpiprep extracts: every key of every
// directory and every TTree/TNtuple object (branches, leaves, basket boundaries). Prints one
// JSON object {file: {"us": best, "trees": n, "branches": total}}. Page cache warm (one
// untimed read first). JSROOT reads the StreamerInfo record it needs to decode trees.
import { openFile } from 'jsroot';

const [repeat, ...files] = process.argv.slice(2);
const isTree = (c) => c === 'TTree' || c === 'TNtuple' || c === 'TNtupleD';

async function readAll(path) {
  const f = await openFile(path);
  let trees = 0;
  let branches = 0;
  const count = (b) => 1 + (b.fBranches?.arr ?? []).reduce((n, s) => n + count(s), 0);
  async function walk(dir, prefix) {
    for (const k of dir.fKeys) {
      const name = prefix + k.fName;
      if (k.fClassName === 'TDirectory' || k.fClassName === 'TDirectoryFile') {
        await walk(await f.readDirectory(name, k.fCycle), name + '/');
      } else if (isTree(k.fClassName)) {
        const t = await f.readObject(`${name};${k.fCycle}`);
        ++trees;
        for (const b of t.fBranches.arr) branches += count(b);
      }
    }
  }
  await walk(f, '');
  return { trees, branches };
}

const out = {};
for (const path of files) {
  const seen = await readAll(path);  // untimed: warms the page cache and JIT
  let best = Infinity;
  for (let i = 0; i < Number(repeat); ++i) {
    const t0 = process.hrtime.bigint();
    await readAll(path);
    const t1 = process.hrtime.bigint();
    best = Math.min(best, Number(t1 - t0) / 1e3);
  }
  out[path.split('/').pop()] = { us: best, ...seen };
}
console.log(JSON.stringify(out));
