import { Injectable, PipeTransform } from '@nestjs/common';
import { RequestValidationError } from '../errors/domain-errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path parameter that must be a UUID; a 400 naming it otherwise. */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  constructor(private readonly name: string) {}

  transform(value: string): string {
    if (!UUID.test(value)) throw new RequestValidationError([{ field: this.name, message: `${this.name} must be a UUID` }]);
    return value.toLowerCase();
  }
}
