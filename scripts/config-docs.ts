/** Prints the README configuration table and the .env.example body from CONFIG_VARIABLES. */
import { CONFIG_VARIABLES } from '../src/config.js';

const vars = Object.values(CONFIG_VARIABLES);
const which = process.argv[2] ?? 'table';
if (which === 'table') {
  console.log('| variable | default | meaning |\n| --- | --- | --- |');
  for (const v of vars) console.log(`| \`${v.name}\` | ${v.default ? `\`${v.default}\`` : '—'} | ${v.doc} |`);
} else if (which === 'env') {
  console.log('# keygate configuration. Copy to .env; every variable is optional outside production.\n');
  for (const v of vars) console.log(`# ${v.doc}\n${v.default ? '' : '# '}${v.name}=${v.default ?? ''}\n`);
} else {
  console.error('usage: config-docs [table|env]');
  process.exit(2);
}
