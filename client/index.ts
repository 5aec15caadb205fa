/**
 * A typed fetch helper for the Wallet & Royalty Service, generated types from docs/openapi.json
 * (`npm run client:generate`). No dependencies: copy this folder into an integrating project,
 * or use openapi-fetch with the same `paths` type.
 *
 *   const api = createClient({ baseUrl: 'http://localhost:3000', headers: { 'X-User-Id': userId } });
 *   const result = await api.request('post', '/purchases', {
 *     header: { 'Idempotency-Key': key },
 *     body: { buyerWalletId, authorWalletId, itemPrice: 99 },
 *   });
 *   if (result.ok) console.log(result.data.authorAmount); else console.log(result.problem.code);
 */
// The extension lets the folder compile under every module resolution, nodenext included.
import type { components, paths } from './schema.js';

export type { components, paths };
export type ProblemDetails = components['schemas']['ProblemDetailsDto'];

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** Paths that have an operation for `M`. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined | never ? never : P;
}[keyof paths];

type Params<Op> = Op extends { parameters: infer Ps } ? Ps : never;
type Part<Op, K extends string> = K extends keyof Params<Op>
  ? undefined extends Params<Op>[K]
    ? { [Q in K]?: Exclude<Params<Op>[K], undefined> }
    : { [Q in K]: Params<Op>[K] }
  : unknown;
type JsonBody<Op> = Op extends { requestBody: { content: { 'application/json': infer B } } }
  ? { body: B }
  : Op extends { requestBody?: { content: { 'application/json': infer B } } }
    ? { body?: B }
    : unknown;

/** What a call takes: path, query and header parameters and the JSON body, each typed from the document. */
export type RequestInput<Op> = Part<Op, 'path'> & Part<Op, 'query'> & Part<Op, 'header'> & JsonBody<Op>;

type Responses<Op> = Op extends { responses: infer R } ? R : never;
type Success<Op> = {
  [S in keyof Responses<Op>]: S extends 200 | 201 | 202
    ? Responses<Op>[S] extends { content: { 'application/json': infer B } }
      ? B
      : Responses<Op>[S] extends { content: { 'text/plain': infer T } }
        ? T
        : never
    : never;
}[keyof Responses<Op>];

export type ApiResult<T> =
  | { ok: true; status: number; data: T; headers: Headers; replayed: boolean }
  | { ok: false; status: number; problem: ProblemDetails; headers: Headers };

export interface ClientOptions {
  baseUrl: string;
  /** Sent with every request: `X-User-Id` (header mode) or `Authorization: Bearer ...` (jwt mode). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export function createClient(options: ClientOptions) {
  const fetchImpl = options.fetch ?? fetch;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');

  async function request<M extends Method, P extends PathsWith<M>>(
    method: M,
    path: P,
    input: RequestInput<Operation<P, M>>,
  ): Promise<ApiResult<Success<Operation<P, M>>>> {
    const parts = input as { path?: Record<string, string>; query?: Record<string, unknown>; header?: Record<string, string>; body?: unknown };
    let url = String(path).replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(parts.path?.[name] ?? '')));
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(parts.query ?? {})) {
      if (value !== undefined) query.set(name, String(value));
    }
    if ([...query.keys()].length > 0) url += `?${query.toString()}`;
    const headers: Record<string, string> = { ...options.headers, ...parts.header };
    if (parts.body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetchImpl(`${baseUrl}${url}`, {
      method: method.toUpperCase(),
      headers,
      body: parts.body === undefined ? undefined : JSON.stringify(parts.body),
    });
    const text = await response.text();
    const parsed: unknown = (response.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
    if (response.ok) {
      return {
        ok: true,
        status: response.status,
        data: parsed as Success<Operation<P, M>>,
        headers: response.headers,
        replayed: response.headers.get('Idempotent-Replayed') === 'true',
      };
    }
    return { ok: false, status: response.status, problem: parsed as ProblemDetails, headers: response.headers };
  }

  return { request };
}
