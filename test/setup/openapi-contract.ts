import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Judges requests and responses by the committed OpenAPI document (docs/openapi.json), with
 * Ajv compiling the document's own schemas (ADR 0043). What it checks:
 *
 * - the request: an operation exists for the method and path; path, query and header
 *   parameters and the JSON body match their schemas (query and headers coerced from text as
 *   OpenAPI's simple style says); no undeclared query parameter or body; an identity is sent
 *   where the operation has a security requirement;
 * - the response: its status is documented for the operation; its content type is one the
 *   status documents (or there is no body where none is documented); the body matches that
 *   media type's schema, problem details included; every header the status marks required is
 *   present, and every documented header that is present matches its schema.
 */
export const OPENAPI_DOCUMENT_PATH = path.resolve(__dirname, '..', '..', 'docs', 'openapi.json');

type Json = Record<string, any>;

export interface ContractOperation {
  /** `GET /wallets/{walletId}` */
  key: string;
  method: string;
  template: string;
  operation: Json;
}

export interface ExchangeRequest {
  method: string;
  /** Path and query string, as sent. */
  url: string;
  headers: Record<string, string>;
  /** The body text as sent, if any. */
  body?: string;
}

export interface ExchangeResponse {
  status: number;
  headers: Headers;
  body: string;
}

export class OpenApiContract {
  readonly document: Json;
  readonly operations: ContractOperation[];
  private readonly ajv: Ajv;
  private readonly validators = new Map<object, ValidateFunction>();
  private readonly matchers: { operation: ContractOperation; pattern: RegExp; names: string[] }[];

  constructor(documentPath = OPENAPI_DOCUMENT_PATH) {
    this.document = JSON.parse(readFileSync(documentPath, 'utf8')) as Json;
    // OpenAPI 3.0 schemas carry `example` and friends; `nullable` is an Ajv keyword of its own.
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'openapi.json', components: { schemas: this.document.components?.schemas ?? {} } });
    this.operations = Object.entries(this.document.paths as Json).flatMap(([template, item]) =>
      Object.entries(item as Json)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${template}`, method, template, operation: operation as Json })),
    );
    // Literal paths win over templated ones (`/reports/authors/top` before any `{id}`).
    this.matchers = this.operations
      .map((operation) => {
        const names: string[] = [];
        const source = operation.template
          .split('/')
          .map((segment) => {
            const parameter = /^\{(\w+)\}$/.exec(segment);
            if (!parameter) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            names.push(parameter[1]!);
            return '([^/]+)';
          })
          .join('/');
        return { operation, pattern: new RegExp(`^${source}$`), names };
      })
      .sort((a, b) => a.names.length - b.names.length);
  }

  /** Every status documented per operation, as `GET /wallets/{walletId} 404`. */
  documentedPairs(): string[] {
    return this.operations.flatMap((operation) => Object.keys(operation.operation.responses).map((status) => `${operation.key} ${status}`));
  }

  match(method: string, pathname: string): { operation: ContractOperation; params: Record<string, string> } | undefined {
    for (const { operation, pattern, names } of this.matchers) {
      if (operation.method !== method.toLowerCase()) continue;
      const found = pattern.exec(pathname);
      if (!found) continue;
      return { operation, params: Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1]!)])) };
    }
    return undefined;
  }

  /** Why the document does not describe this request; empty when it does. */
  requestProblems(request: ExchangeRequest): string[] {
    const url = new URL(request.url, 'http://service.invalid');
    const matched = this.match(request.method, url.pathname);
    if (!matched) return [`no operation ${request.method} ${url.pathname} in the document`];
    const { operation } = matched.operation;
    const problems: string[] = [];
    const headers = lowerCaseKeys(request.headers);
    const parameters = (operation.parameters ?? []) as Json[];
    for (const parameter of parameters) {
      const name = parameter.name as string;
      const raw =
        parameter.in === 'path' ? matched.params[name] : parameter.in === 'query' ? url.searchParams.get(name) ?? undefined : headers[name.toLowerCase()];
      if (raw === undefined) {
        if (parameter.required) problems.push(`${parameter.in} parameter ${name} is required`);
        continue;
      }
      problems.push(...this.check(parameter.schema, coerce(raw, parameter.schema), `${parameter.in} parameter ${name}`));
    }
    for (const name of url.searchParams.keys()) {
      if (!parameters.some((parameter) => parameter.in === 'query' && parameter.name === name)) {
        problems.push(`query parameter ${name} is not described`);
      }
    }
    const secured = ((operation.security ?? this.document.security ?? []) as Json[]).length > 0;
    if (secured && !headers['x-user-id'] && !headers.authorization) problems.push('no identity (X-User-Id or Authorization) is sent');
    problems.push(...this.bodyProblems(operation, headers, request.body));
    return problems;
  }

  /** Why the document does not describe this response to a request for `operationKey`; empty when it does. */
  responseProblems(operationKey: string, response: ExchangeResponse): string[] {
    const found = this.operations.find((operation) => operation.key === operationKey);
    if (!found) return [`no operation ${operationKey}`];
    const documented = (found.operation.responses as Json)[String(response.status)] as Json | undefined;
    if (!documented) return [`status ${response.status} is not documented for ${operationKey}`];
    const problems: string[] = [];
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const content = (documented.content ?? {}) as Json;
    if (Object.keys(content).length === 0) {
      if (response.body.length > 0) problems.push(`status ${response.status} documents no body, but one was sent (${mediaType})`);
    } else if (!content[mediaType]) {
      problems.push(`content type ${mediaType || '(none)'} is not documented for ${response.status} (${Object.keys(content).join(', ')})`);
    } else if (content[mediaType].schema) {
      const json = mediaType.endsWith('json');
      let body: unknown = response.body;
      if (json) {
        try {
          body = JSON.parse(response.body);
        } catch {
          problems.push(`the ${mediaType} body is not JSON`);
        }
      }
      problems.push(...this.check(content[mediaType].schema, body, `${response.status} body`));
    }
    for (const [name, header] of Object.entries((documented.headers ?? {}) as Json)) {
      const definition = this.resolve(header);
      const value = response.headers.get(name);
      if (value === null) {
        if (definition.required) problems.push(`required header ${name} is missing from ${response.status}`);
        continue;
      }
      problems.push(...this.check(definition.schema, coerce(value, definition.schema), `header ${name}`));
    }
    return problems;
  }

  private bodyProblems(operation: Json, headers: Record<string, string>, body: string | undefined): string[] {
    const declared = operation.requestBody as Json | undefined;
    if (body === undefined || body.length === 0) {
      return declared?.required ? ['the request body is required'] : [];
    }
    if (!declared) return ['a body is sent where the operation takes none'];
    const mediaType = (headers['content-type'] ?? '').split(';')[0]!.trim();
    const media = (declared.content as Json)[mediaType];
    if (!media) return [`request content type ${mediaType || '(none)'} is not documented`];
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return ['the request body is not JSON'];
    }
    return this.check(media.schema, parsed, 'request body');
  }

  private resolve(value: Json): Json {
    if (typeof value.$ref !== 'string') return value;
    const pointer = (value.$ref as string).replace(/^#\//, '').split('/');
    return pointer.reduce<Json>((node, part) => node[part.replace(/~1/g, '/').replace(/~0/g, '~')], this.document);
  }

  private check(schema: Json | undefined, value: unknown, where: string): string[] {
    if (!schema) return [];
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(rebase(schema) as object);
      this.validators.set(schema, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map((error: ErrorObject) => `${where}${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`);
  }
}

/** Component references, rewritten to the schema registered as `openapi.json`. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `openapi.json${value}` : rebase(value),
    ]),
  );
}

/** Text of a parameter or header as the type its schema names (OpenAPI's simple style). */
function coerce(text: string, schema: Json | undefined): unknown {
  if (!schema) return text;
  if ((schema.type === 'integer' || schema.type === 'number') && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (schema.type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
