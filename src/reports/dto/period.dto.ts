import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ISO_INSTANT_PATTERN, REPORT_PERIOD_DAYS_MAX } from '../report-period';

/** Dates arrive as text and are parsed by the service, which names the field that is wrong. */
const INSTANT_LENGTH_MAX = 40;

/**
 * How `from` and `to` are documented. The pattern is the service's own (a date, or a date-time
 * with an offset); impossible dates such as 2026-02-30 pass it and are refused by the service.
 */
const FROM = {
  description: `Start of the period, inclusive (ISO 8601 with an offset, or a date meaning UTC midnight). Give both from and to, or neither; at most ${REPORT_PERIOD_DAYS_MAX} days apart`,
  type: String,
  pattern: ISO_INSTANT_PATTERN.source,
  maxLength: INSTANT_LENGTH_MAX,
  example: '2026-10-01T00:00:00.000Z',
} as const;
const TO = {
  description: 'End of the period, exclusive, exact to the millisecond',
  type: String,
  pattern: ISO_INSTANT_PATTERN.source,
  maxLength: INSTANT_LENGTH_MAX,
  example: '2026-11-01T00:00:00.000Z',
} as const;

export class PeriodDto {
  @ApiPropertyOptional(FROM)
  @IsOptional()
  @IsString({ message: 'from must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_LENGTH_MAX, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional(TO)
  @IsOptional()
  @IsString({ message: 'to must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_LENGTH_MAX, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;
}

/**
 * A period that must be given: the author leaderboard has no all-time form, because ranking every
 * author over all history would read rollups in proportion to that history (ADR 0043). The
 * service answers 400 naming `from` and `to` when they are missing.
 */
export class RequiredPeriodDto {
  @ApiProperty({ ...FROM, description: `Start of the period, inclusive (ISO 8601 with an offset, or a date meaning UTC midnight); at most ${REPORT_PERIOD_DAYS_MAX} days before to` })
  @IsOptional()
  @IsString({ message: 'from must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_LENGTH_MAX, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiProperty(TO)
  @IsOptional()
  @IsString({ message: 'to must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_LENGTH_MAX, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;
}
