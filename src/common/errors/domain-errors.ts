import { FIELD_ERRORS_MAX, FIELD_MESSAGE_LENGTH_MAX, FIELD_NAME_LENGTH_MAX } from './problem-details';

/**
 * What went wrong, in domain terms. Services throw these; one exception filter turns them into
 * problem details. `kind` decides the HTTP status, `code` is the stable machine-readable name.
 */
export type ErrorKind =
  | 'bad_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'payment_required'
  | 'conflict'
  | 'unprocessable'
  | 'rate_limited'
  | 'unavailable';

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class RequestValidationError extends DomainError {
  constructor(errors: FieldError[]) {
    // Field names come from the client (unknown keys): bounded in number and length, as documented.
    const bounded = errors.slice(0, FIELD_ERRORS_MAX).map(({ field, message }) => ({
      field: cut(field, FIELD_NAME_LENGTH_MAX),
      message: cut(message, FIELD_MESSAGE_LENGTH_MAX),
    }));
    const fields = [...new Set(bounded.map((error) => error.field))].join(', ');
    super('bad_request', 'VALIDATION_FAILED', `Invalid request: ${fields}`, { errors: bounded });
  }
}

/** `text` cut to `length` characters, the last one an ellipsis when it was longer. */
function cut(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Missing or malformed identity') {
    super('unauthenticated', 'UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'This operation is for administrators') {
    super('forbidden', 'FORBIDDEN', message);
  }
}

export class NotFoundError extends DomainError {
  constructor(resource: string, code = `${resource.toUpperCase().replace(/\s+/g, '_')}_NOT_FOUND`) {
    super('not_found', code, `${resource[0]!.toUpperCase()}${resource.slice(1)} not found`);
  }
}

export class DependencyUnavailableError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('unavailable', 'SERVICE_UNAVAILABLE', message, { details, retryAfterSeconds: 1 });
  }
}
