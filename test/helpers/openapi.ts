/**
 * Checks HTTP responses against docs/openapi.json with ajv (JSON Schema 2020-12, as
 * OpenAPI 3.1 uses it): the path and method are documented, the status is one the
 * operation lists, the media type is the documented one, and a JSON body validates.
 *
 * Every test's fetch to a loopback server is recorded (installFetchRecorder, from the root
 * hooks), and the whole run's responses are checked once at the end.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as formats from 'ajv-formats';
import { noteSecretsIn } from './log-scan.js';

export const OPENAPI_FILE = new URL('../../docs/openapi.json', import.meta.url);
const DOC_ID = 'urn:keygate:openapi';

// ajv-formats is CommonJS: its default export is the plugin function.
const addFormats = (formats as unknown as { default: (ajv: Ajv2020) => void }).default;

export interface SeenResponse {
  method: string;
  /** The path without the query. */
  path: string;
  status: number;
  contentType: string;
  body: string;
}

interface MediaObject { schema?: Record<string, unknown> }
interface ResponseObject { $ref?: string; content?: Record<string, MediaObject> }
interface OperationObject { operationId: string; responses: Record<string, ResponseObject> }
type PathItem = Record<string, OperationObject>;
export interface OpenApiDoc { paths: Record<string, PathItem>; components: { schemas: Record<string, unknown>; responses: Record<string, ResponseObject> } }

export function loadOpenApi(): OpenApiDoc {
  return JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDoc;
}

export class OpenApiCheck {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });
  private readonly templates: Array<{ template: string; pattern: RegExp; params: number }>;
  /** Operations (operationId) and statuses seen answering, for coverage. */
  readonly seen = new Map<string, Set<number>>();

  constructor(readonly doc: OpenApiDoc = loadOpenApi()) {
    addFormats(this.ajv);
    // The document's components as one schema resource, so that each "#/components/schemas/X" resolves.
    this.ajv.addKeyword('components');
    this.ajv.addSchema({ $id: DOC_ID, components: doc.components });
    this.templates = Object.keys(doc.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`),
      params: (template.match(/\{/g) ?? []).length,
    }));
  }

  /**
   * The documented path template for a concrete path (and method, when given: the first
   * template that has it): a literal path wins over a templated one.
   */
  templateOf(path: string, method?: string): string | undefined {
    const matching = this.templates.filter((t) => t.pattern.test(path)).sort((a, b) => a.params - b.params);
    const withMethod = method === undefined ? undefined : matching.find((t) => this.doc.paths[t.template]![method.toLowerCase()]);
    return (withMethod ?? matching[0])?.template;
  }

  /** Compiles every schema the document names (throws on any that is not valid JSON Schema). */
  compileAll(): number {
    let n = 0;
    for (const name of Object.keys(this.doc.components.schemas)) {
      this.validator(`#/components/schemas/${name}`);
      n++;
    }
    return n;
  }

  private validator(pointer: string) {
    const id = `${DOC_ID}${pointer}`;
    return this.ajv.getSchema(id) ?? (this.ajv.addSchema({ $ref: id }, id), this.ajv.getSchema(id)!);
  }

  private resolve(response: ResponseObject): ResponseObject {
    if (response.$ref === undefined) return response;
    const name = response.$ref.replace('#/components/responses/', '');
    const found = this.doc.components.responses[name];
    if (!found) throw new Error(`unresolved ${response.$ref}`);
    return found;
  }

  /**
   * Checks one response. Returns undefined when it is not an operation the document
   * describes (an unknown path: a 404 of no route), or the list of problems (empty: valid).
   */
  check(r: SeenResponse): string[] | undefined {
    const template = this.templateOf(r.path, r.method);
    if (template === undefined) return undefined;
    const operation = this.doc.paths[template]![r.method.toLowerCase()];
    if (operation === undefined) {
      // A method the path does not serve: only the router's 405 (or a CORS preflight, HEAD) may answer it.
      if (r.status === 405 || r.method === 'OPTIONS' || r.method === 'HEAD') return undefined;
      return [`${r.method} ${template} -> ${r.status}: the method is not documented for this path, and the answer is not 405`];
    }
    const where = `${r.method} ${template} -> ${r.status}`;
    const declared = operation.responses[String(r.status)] ?? operation.responses.default;
    if (!declared) return [`${where}: status not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    (this.seen.get(operation.operationId) ?? this.seen.set(operation.operationId, new Set()).get(operation.operationId)!).add(r.status);
    const response = this.resolve(declared);
    if (!response.content) return r.body === '' ? [] : [`${where}: documented without a body, answered ${JSON.stringify(r.body.slice(0, 80))}`];
    const essence = r.contentType.split(';')[0]!.trim().toLowerCase();
    const media = response.content[essence];
    if (!media) return [`${where}: media type ${essence || '(none)'} not documented (documented: ${Object.keys(response.content).join(', ')})`];
    if (essence !== 'application/json' || !media.schema) return [];
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      return [`${where}: not JSON: ${JSON.stringify(r.body.slice(0, 80))}`];
    }
    const pointer = typeof media.schema.$ref === 'string' ? media.schema.$ref : undefined;
    const validate = pointer ? this.validator(pointer) : this.ajv.compile(media.schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${where}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)} in ${JSON.stringify(body).slice(0, 200)}`);
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const pending: Array<Promise<SeenResponse | 'unread'>> = [];
const READ_BUDGET_MS = 5000;

/** Records every fetch to a loopback server made in this process (once). */
export function installFetchRecorder(): void {
  const real = globalThis.fetch;
  if ((real as { recording?: boolean }).recording) return;
  const recording = async function recordingFetch(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
    const res = await real(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (LOOPBACK.has(url.hostname) && url.protocol === 'http:') {
      const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
      if (typeof init?.body === 'string') noteSecretsIn(init.body);
      const copy = res.clone();
      pending.push(Promise.race([
        copy.text().then((body) => {
          noteSecretsIn(body);
          return { method, path: url.pathname, status: res.status, contentType: res.headers.get('content-type') ?? '', body };
        }, () => 'unread' as const),
        delay(READ_BUDGET_MS, 'unread' as const, { ref: false }),
      ]));
    }
    return res;
  };
  globalThis.fetch = Object.assign(recording, { recording: true }) as typeof fetch;
}

/** Checks every recorded response; throws with the problems found. */
export async function checkRecordedResponses(): Promise<{ checked: number; operations: number; outside: number; unread: number }> {
  const all = await Promise.all(pending.splice(0));
  // Bodies a test aborted or a server cut off (the fault tests kill servers) cannot be checked: counted, shown.
  const unread = all.filter((r) => r === 'unread').length;
  const responses = all.filter((r): r is SeenResponse => r !== 'unread');
  if (responses.length === 0) return { checked: 0, operations: 0, outside: 0, unread };
  const check = new OpenApiCheck();
  const problems = new Set<string>();
  let checked = 0;
  let outside = 0;
  for (const r of responses) {
    const found = check.check(r);
    if (found === undefined) outside++;
    else checked++;
    for (const p of found ?? []) problems.add(p);
  }
  if (problems.size > 0) {
    throw new Error(`${problems.size} kinds of response do not match docs/openapi.json:\n${[...problems].slice(0, 40).join('\n')}`);
  }
  return { checked, operations: check.seen.size, outside, unread };
}
