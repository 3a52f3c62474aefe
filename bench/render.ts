/**
 * Re-renders docs/BENCHMARKS.md from a result file (after editing bench/FINDINGS.md) without
 * re-running: `node --import tsx bench/render.ts [bench/results/latest.json]`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, ROOT } from './lib.js';
import type { Params } from './params.js';
import { judge, renderMarkdown } from './report.js';
import type { Results } from './types.js';

const file = process.argv[2] ?? join(BENCH_DIR, 'results', 'latest.json');
const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
if (results.meta.smoke) throw new Error('refusing to publish a smoke run in docs/BENCHMARKS.md');
results.targets = judge(results, results.meta.params as Params); // the verdicts of today's report code
writeFileSync(join(ROOT, 'docs', 'BENCHMARKS.md'), renderMarkdown(results, true));
console.log(`docs/BENCHMARKS.md rendered from ${file}`);
