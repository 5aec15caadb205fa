import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'amount' })
  field!: string;

  @ApiProperty({ example: 'amount must be an integer between 1 and 1000000000' })
  message!: string;
}

/** RFC 9457 problem details: the one error body every endpoint returns. */
export class ProblemDetailsDto {
  @ApiProperty({ example: 'urn:problem:insufficient-funds', description: 'Identifies the problem type' })
  type!: string;

  @ApiProperty({ example: 'Payment Required' })
  title!: string;

  @ApiProperty({ example: 402 })
  status!: number;

  @ApiProperty({ example: 'The wallet balance does not cover 2000 cents' })
  detail!: string;

  @ApiProperty({ example: 'INSUFFICIENT_FUNDS', description: 'Stable machine-readable error code' })
  code!: string;

  @ApiProperty({ example: '5f0c6a5e-3f5b-4c41-9a5e-2f4f5b1c0d7e', description: 'Also in the X-Request-Id header' })
  requestId!: string;

  @ApiPropertyOptional({ example: '/purchases' })
  instance?: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Present on validation errors' })
  errors?: FieldErrorDto[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
