/** Writes docs/openapi.json from the document the server serves (src/server/http/openapi/). */
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../src/server/http/openapi/document.js';

const file = new URL('../docs/openapi.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
