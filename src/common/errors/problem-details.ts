import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MESSAGE_LENGTH_MAX } from '../http/api-schema';

/** A field name or header name as a client sent it, cut to this length in error bodies. */
export const FIELD_NAME_LENGTH_MAX = 100;
/** One field error's message. */
export const FIELD_MESSAGE_LENGTH_MAX = 300;
/** Field errors in one problem at most: a body of thousands of unknown keys gets the first ones. */
export const FIELD_ERRORS_MAX = 20;
/** Node's default header limit (16 KiB) bounds the request line, and so `instance`. */
const INSTANCE_LENGTH_MAX = 16_384;

export class FieldErrorDto {
  @ApiProperty({ type: String, maxLength: FIELD_NAME_LENGTH_MAX, example: 'amount' })
  field!: string;

  @ApiProperty({ type: String, maxLength: FIELD_MESSAGE_LENGTH_MAX, example: 'amount must be an integer number of cents' })
  message!: string;
}

/** RFC 9457 problem details: the one error body every endpoint returns. */
export class ProblemDetailsDto {
  @ApiProperty({
    type: String,
    pattern: '^urn:problem:[a-z0-9-]+$',
    maxLength: 100,
    example: 'urn:problem:insufficient-funds',
    description: 'Identifies the problem type',
  })
  type!: string;

  @ApiProperty({ type: String, maxLength: 100, example: 'Payment Required' })
  title!: string;

  @ApiProperty({ type: 'integer', format: 'int32', minimum: 400, maximum: 599, example: 402 })
  status!: number;

  @ApiProperty({ type: String, maxLength: MESSAGE_LENGTH_MAX * 3, example: 'The wallet balance does not cover 2000 cents' })
  detail!: string;

  @ApiProperty({
    type: String,
    pattern: '^[A-Z0-9_]+$',
    maxLength: 64,
    example: 'INSUFFICIENT_FUNDS',
    description: 'Stable machine-readable error code',
  })
  code!: string;

  @ApiProperty({
    type: String,
    pattern: '^[A-Za-z0-9._:-]{1,128}$',
    maxLength: 128,
    example: '5f0c6a5e-3f5b-4c41-9a5e-2f4f5b1c0d7e',
    description: 'Also in the X-Request-Id header',
  })
  requestId!: string;

  @ApiPropertyOptional({ type: String, maxLength: INSTANCE_LENGTH_MAX, description: 'The request path', example: '/purchases' })
  instance?: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], maxItems: FIELD_ERRORS_MAX, description: 'Present on validation errors' })
  errors?: FieldErrorDto[];

  @ApiPropertyOptional({
    description: 'Readiness only: the state of each dependency',
    type: 'object',
    additionalProperties: { type: 'string', enum: ['up', 'down'] },
    maxProperties: 10,
    example: { postgres: 'up', redis: 'down' },
  })
  checks?: Record<string, 'up' | 'down'>;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
