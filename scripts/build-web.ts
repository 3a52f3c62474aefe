/**
 * Builds the browser artefacts with esbuild:
 *   dist/web/      the demo page served at / (index.html, app.js, style.css)
 *   dist/browser/  keygate-client.js, the client library as an ESM bundle for apps
 */
import { build, type BuildOptions } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const path = (p: string) => new URL(p, root).pathname;

mkdirSync(path('dist/web'), { recursive: true });
mkdirSync(path('dist/browser'), { recursive: true });
const common: BuildOptions = { bundle: true, format: 'esm', platform: 'browser', target: ['chrome120', 'firefox121', 'safari17'], sourcemap: true, logLevel: 'warning' };

await Promise.all([
  build({ ...common, entryPoints: [path('src/web/app.ts')], outfile: path('dist/web/app.js'), minify: true }),
  build({ ...common, entryPoints: [path('src/client/index.ts')], outfile: path('dist/browser/keygate-client.js') }),
]);
copyFileSync(path('src/web/index.html'), path('dist/web/index.html'));
copyFileSync(path('src/web/style.css'), path('dist/web/style.css'));
copyFileSync(path('src/web/icon.svg'), path('dist/web/icon.svg'));
