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
    const fields = [...new Set(errors.map((error) => error.field))].join(', ');
    super('bad_request', 'VALIDATION_FAILED', `Invalid request: ${fields}`, { errors });
  }
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
