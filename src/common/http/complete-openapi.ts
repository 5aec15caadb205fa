import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  HeaderObject,
  OperationObject,
  ParameterObject,
  ReferenceObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { PROBLEM_CONTENT_TYPE } from '../errors/problem-details';
import { defaultProblemCode, PROBLEM_EXAMPLES, ProblemCode, problemBody, problemResponse } from './api-docs';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency-key.decorator';

/**
 * Headers of the service's responses, defined once and referenced from every response that
 * carries them.
 */
export const RESPONSE_HEADERS: Record<string, HeaderObject> = {
  'X-Request-Id': {
    description: 'The request id: the caller’s own X-Request-Id when well formed, else a new UUID; also in error bodies and logs',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', maxLength: 128 },
  },
  'Cache-Control': {
    description: 'Always `no-store`: every response belongs to one caller and may show balances (ADR 0037)',
    required: true,
    schema: { type: 'string', enum: ['no-store'] },
  },
  'Retry-After': {
    description: 'Seconds to wait before retrying',
    required: true,
    schema: { type: 'integer', format: 'int32', minimum: 1, maximum: 3600, example: 1 },
  },
  'RateLimit-Limit': {
    description: 'Requests allowed per caller in the window that was exceeded',
    required: true,
    schema: { type: 'integer', format: 'int32', minimum: 1, maximum: 1_000_000, example: 5000 },
  },
  'RateLimit-Remaining': {
    description: 'Requests left in that window: 0 on a 429',
    required: true,
    schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 0, example: 0 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until the window lets requests through again (the same as Retry-After)',
    required: true,
    schema: { type: 'integer', format: 'int32', minimum: 1, maximum: 3600, example: 1 },
  },
};

/** The statuses that carry Retry-After, and the headers of a 429. */
const RETRY_STATUSES = new Set(['409', '429', '503']);
/** The one 409 that is worth retrying: a request with the same key still in flight. */
const RETRYABLE_CONFLICT = 'IDEMPOTENCY_KEY_IN_FLIGHT';

/**
 * Whether a status's responses carry Retry-After. A 409 carries it only for a key in flight:
 * a state conflict (a payout no longer pending) does not go away by waiting.
 */
function retryAfterOf(status: string, response: ResponseObject): 'always' | 'sometimes' | 'never' {
  if (!RETRY_STATUSES.has(status)) return 'never';
  if (status !== '409') return 'always';
  const codes = Object.keys(response.content?.[PROBLEM_CONTENT_TYPE]?.examples ?? {});
  if (codes.length === 0 || codes.every((code) => code === RETRYABLE_CONFLICT)) return 'always';
  return codes.includes(RETRYABLE_CONFLICT) ? 'sometimes' : 'never';
}
const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

/**
 * The message the service sends for a field, for 400 examples that name an operation's own
 * field. Path parameters that are UUIDs and `limit` are derived from their schemas.
 */
const FIELD_MESSAGES: Record<string, string> = {
  amount: 'amount must be an integer number of cents',
  itemPrice: 'itemPrice must be an integer number of cents',
  buyerWalletId: 'buyerWalletId must be a UUID',
  authorWalletId: 'authorWalletId must be a UUID',
  from: 'from must be an ISO 8601 date or date-time with an offset',
  to: 'to must be an ISO 8601 date or date-time with an offset',
  cursor: 'cursor must be a nextCursor returned by this endpoint',
  [IDEMPOTENCY_KEY_HEADER]: 'must be 1 to 255 characters of [A-Za-z0-9_.:-] (a UUID is recommended)',
};

type Schemas = Record<string, SchemaObject | ReferenceObject>;

/**
 * What the decorators leave to be said once for the whole API (ADR 0043): every operation lists
 * every status the service can answer it with (400 naming one of the operation's own fields,
 * 401 and 429 where an identity is needed, 413 and 415 where a body is read, 500 and 503
 * everywhere), every response names its headers (X-Request-Id and Cache-Control always;
 * Retry-After and the RateLimit headers where sent), and every object schema is closed (`additionalProperties:
 * false`), so that a field the document does not describe is refused in a request and caught by
 * the conformance tests in a response.
 */
export function completeOpenApiDocument(document: OpenAPIObject): OpenAPIObject {
  const components = (document.components ??= {});
  components.headers = { ...components.headers, ...RESPONSE_HEADERS };
  closeObjectSchemas(components.schemas ?? {});
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const operation = item[method];
      if (operation) completeOperation(operation, { method, path, schemas: components.schemas ?? {} });
    }
  }
  assertTagsDescribed(document);
  return document;
}

function closeObjectSchemas(schemas: Schemas): void {
  for (const schema of Object.values(schemas)) {
    if ('$ref' in schema) continue;
    if (schema.properties && schema.additionalProperties === undefined) schema.additionalProperties = false;
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (!('$ref' in property)) schema.properties![name] = nullableReference(property);
    }
  }
}

/**
 * `{nullable: true, allOf: [{$ref}]}`, as a nullable DTO property is generated, does not admit
 * null under OpenAPI 3.0.3 (`nullable` qualifies only a `type` beside it, and null fails the
 * referenced schema); validators such as Ajv refuse the null that the service sends. Spelled as
 * "the referenced object, or null" instead.
 */
function nullableReference(property: SchemaObject): SchemaObject {
  if (!property.nullable || property.allOf?.length !== 1) return property;
  const rest: SchemaObject = { ...property };
  delete rest.allOf;
  delete rest.nullable;
  delete rest.type;
  return { ...rest, anyOf: [property.allOf[0]!, { type: 'object', nullable: true, enum: [null] }] };
}

function completeOperation(
  operation: OperationObject,
  { method, path, schemas }: { method: string; path: string; schemas: Schemas },
): void {
  const anonymous = Array.isArray(operation.security) && operation.security.length === 0;
  const readsBody = method !== 'get';
  const fields = ownFields(operation, schemas);
  const statuses = new Set(['500', '503']);
  if (!anonymous) ['401', '429'].forEach((status) => statuses.add(status));
  if (readsBody) ['400', '413', '415'].forEach((status) => statuses.add(status));
  if (fields.length > 0) statuses.add('400');
  const responses = operation.responses as Record<string, ResponseObject>;
  for (const status of statuses) {
    responses[status] ??= problemResponse(Number(status), [defaultProblemCode(Number(status))]);
  }
  if (responses['400']) nameOwnField(responses['400'], fields, { readsBody, path });
  for (const [status, response] of Object.entries(responses)) {
    const headers: Record<string, HeaderObject | ReferenceObject> = { ...response.headers };
    headers['X-Request-Id'] = { $ref: '#/components/headers/X-Request-Id' };
    headers['Cache-Control'] = { $ref: '#/components/headers/Cache-Control' };
    const retry = retryAfterOf(status, response);
    if (retry === 'always') headers['Retry-After'] = { $ref: '#/components/headers/Retry-After' };
    if (retry === 'sometimes') headers['Retry-After'] = { ...RESPONSE_HEADERS['Retry-After'], required: false };
    if (status === '429') for (const name of RATE_LIMIT_HEADERS) headers[name] = { $ref: `#/components/headers/${name}` };
    response.headers = headers;
  }
  operation.responses = sortByStatus(responses);
}

interface OwnField {
  name: string;
  message: string;
}

/** The operation's inputs, in the order a client fills them: path, body, query, headers. */
function ownFields(operation: OperationObject, schemas: Schemas): OwnField[] {
  const parameters = (operation.parameters ?? []).filter((p): p is ParameterObject => !('$ref' in p));
  const byLocation = (location: string) => parameters.filter((p) => p.in === location).map((p) => fieldOf(p.name, p.schema));
  const bodyFields: OwnField[] = [];
  const body = operation.requestBody;
  const bodySchema = body && !('$ref' in body) ? body.content['application/json']?.schema : undefined;
  const resolved = bodySchema && '$ref' in bodySchema ? schemas[bodySchema.$ref.split('/').pop()!] : bodySchema;
  if (resolved && !('$ref' in resolved)) {
    for (const [name, schema] of Object.entries(resolved.properties ?? {})) bodyFields.push(fieldOf(name, schema));
  }
  return [...byLocation('path'), ...bodyFields, ...byLocation('query'), ...byLocation('header')];
}

function fieldOf(name: string, schema: SchemaObject | ReferenceObject | undefined): OwnField {
  const plain = schema && !('$ref' in schema) ? schema : {};
  if (plain.format === 'uuid') return { name, message: `${name} must be a UUID` };
  if (name === 'limit') return { name, message: `limit must be a whole number from ${plain.minimum} to ${plain.maximum}` };
  return { name, message: FIELD_MESSAGES[name] ?? `${name} is invalid` };
}

/**
 * A 400 example must name a field of this operation: the generic one names `amount`, which most
 * operations do not have. Operations that read a body also show the answer to malformed JSON.
 */
function nameOwnField(response: ResponseObject, fields: OwnField[], { readsBody, path }: { readsBody: boolean; path: string }): void {
  const media = response.content?.[PROBLEM_CONTENT_TYPE];
  if (!media) return;
  const examples: Record<string, { summary?: string; value?: Record<string, unknown> }> = { ...(media.examples as object) };
  const names = new Set(fields.map((field) => field.name));
  for (const [key, example] of Object.entries(examples)) {
    const named = (example.value?.errors as { field: string }[] | undefined)?.[0]?.field;
    if (named !== undefined && !names.has(named)) delete examples[key];
  }
  const validation = Object.values(examples).some((example) => example.value?.code === 'VALIDATION_FAILED');
  const first = fields[0];
  if (!validation && first) {
    examples.VALIDATION_FAILED = {
      summary: `VALIDATION_FAILED (${first.name})`,
      value: problemBody({ status: 400, detail: `Invalid request: ${first.name}`, errors: [{ field: first.name, message: first.message }] }, 'VALIDATION_FAILED'),
    };
  }
  if (readsBody && !examples.INVALID_JSON) {
    examples.INVALID_JSON = { summary: 'INVALID_JSON (BAD_REQUEST)', value: problemBody(PROBLEM_EXAMPLES.INVALID_JSON, 'INVALID_JSON') };
  }
  if (Object.keys(examples).length === 0) throw new Error(`400 of ${path} has no example naming one of its fields`);
  media.examples = examples;
}

function sortByStatus(responses: Record<string, ResponseObject>): Record<string, ResponseObject> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** A tag without a description fails the build of the document, so a new module cannot forget it. */
function assertTagsDescribed(document: OpenAPIObject): void {
  const described = new Set((document.tags ?? []).filter((tag) => tag.description).map((tag) => tag.name));
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as OperationObject[]) {
      for (const tag of operation.tags ?? []) {
        if (!described.has(tag)) throw new Error(`OpenAPI tag "${tag}" has no description: add it in src/swagger.ts`);
      }
    }
  }
}

export type { ProblemCode };
