import type { FastifyInstance } from 'fastify';
import { visit } from 'jsonc-parser';
import { FieldError, RequestValidationError } from '../errors/domain-errors';

/**
 * Request bodies are flat objects; anything nested deeper is refused at parse time. Without a
 * bound, a 16 KiB body of `[[[[...]]]]` parses fine and then overflows the stack of the
 * recursive validation that runs on it, which would answer 500.
 */
export const JSON_DEPTH_MAX = 16;

/**
 * Names no request field may have: everything `Object.prototype` carries (`__proto__`,
 * `constructor`, `toString`, `hasOwnProperty`, ...) and `prototype`. class-validator's whitelist
 * looks field names up in a plain object, so these pass it as "known" and were silently dropped
 * (or, for `__proto__`, reached code that merges objects); they are refused like unknown fields.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export function isReservedKey(key: string): boolean {
  return RESERVED_KEYS.has(key);
}

/** The message class-validator gives an unknown field, so that both read the same. */
export function unknownFieldMessage(field: string): string {
  return `property ${field} should not exist`;
}

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
 * Field errors for every key of a JSON text that is given twice in one object, or that is
 * reserved. `JSON.parse` keeps the last of two equal keys, so `{"amount":1,"amount":1000000000}`
 * would deposit a billion cents while a log or a gateway that reads the first sees 1 cent; the
 * text is therefore read once more, by jsonc-parser's tokenizer, which reports every property name
 * with its escapes decoded (`"am\u006funt"` is `amount`) and the path of its object. Call it only
 * on text that `JSON.parse` accepted and that nests at most JSON_DEPTH_MAX deep (the tokenizer
 * recurses).
 */
export function jsonKeyErrors(text: string): FieldError[] {
  const errors: FieldError[] = [];
  // One set of seen names per open object; arrays push nothing.
  const open: Array<Set<string> | undefined> = [];
  visit(
    text,
    {
      onObjectBegin: () => {
        open.push(new Set());
      },
      onObjectEnd: () => {
        open.pop();
      },
      onArrayBegin: () => {
        open.push(undefined);
      },
      onArrayEnd: () => {
        open.pop();
      },
      onObjectProperty: (name, _offset, _length, _line, _column, pathSupplier) => {
        const field = [...pathSupplier(), name].join('.');
        const seen = open[open.length - 1];
        if (isReservedKey(name)) {
          errors.push({ field, message: unknownFieldMessage(field) });
        } else if (seen?.has(name)) {
          errors.push({ field, message: `${field} must be given only once` });
        }
        seen?.add(name);
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  return errors;
}

/**
 * Replaces Fastify's JSON parser. Fastify's own parser (secure-json-parse) stays the judge of
 * syntax and answers malformed text as before; the depth bound and the key check then run on
 * what it accepted. Prototype poisoning is refused by the key check, which names the field,
 * rather than by secure-json-parse's anonymous "not valid JSON"; a refused body never reaches
 * any code, so its own `__proto__` property (`JSON.parse` makes it a plain data property, not a
 * prototype) can pollute nothing.
 */
export function useBoundedJsonParser(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('ignore', 'ignore');
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
      const keyErrors = jsonKeyErrors(body as string);
      if (keyErrors.length > 0) return done(new RequestValidationError(keyErrors), undefined);
      done(null, parsed);
    });
  });
}
