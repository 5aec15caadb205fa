import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError, RequestValidationError } from '../errors/domain-errors';
import { isReservedKey, unknownFieldMessage } from './json-body';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * class-validator's whitelist takes `toString`, `constructor` and the other names of
 * `Object.prototype` for declared fields and drops them silently; this pipe refuses them in
 * bodies and query strings first, as unknown fields. (Bodies are also checked at parse time,
 * nested objects included; query strings are flat.)
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if ((metadata.type === 'body' || metadata.type === 'query') && value !== null && typeof value === 'object') {
      const reserved = Object.keys(value).filter(isReservedKey);
      if (reserved.length > 0) {
        throw new RequestValidationError(reserved.map((field) => ({ field, message: unknownFieldMessage(field) })));
      }
    }
    return super.transform(value, metadata);
  }
}

/** The global pipe: unknown fields are rejected, every error names its field. */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => new RequestValidationError(flatten(errors)),
  });
}
