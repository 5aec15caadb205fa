import type { FastifyInstance } from 'fastify';
import { RequestValidationError } from '../errors/domain-errors';

/**
 * Request bodies are flat objects; anything nested deeper is refused at parse time. Without a
 * bound, a 16 KiB body of `[[[[...]]]]` parses fine and then overflows the stack of the
 * recursive validation that runs on it, which would answer 500.
 */
export const JSON_DEPTH_MAX = 16;

/** The nesting depth of a parsed JSON value, walked iteratively so that it cannot overflow itself. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Replaces Fastify's JSON parser with the same parser (which already refuses `__proto__` and
 * `constructor` poisoning) followed by the depth check.
 */
export function useBoundedJsonParser(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parseJson(request, body as string, (error, parsed) => {
      if (error) return done(error, undefined);
      if (jsonDepth(parsed) > JSON_DEPTH_MAX) {
        return done(
          new RequestValidationError([{ field: 'body', message: `must not nest deeper than ${JSON_DEPTH_MAX} levels` }]),
          undefined,
        );
      }
      done(null, parsed);
    });
  });
}
