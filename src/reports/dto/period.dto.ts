import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { REPORT_PERIOD_DAYS_MAX } from '../report-period';

/** Dates arrive as text and are parsed by the service, which names the field that is wrong. */
const INSTANT_LENGTH_MAX = 40;

export class PeriodDto {
  @ApiPropertyOptional({
    description: `Start of the period, inclusive (ISO 8601 with an offset, or a date meaning UTC midnight). Give both from and to, or neither; at most ${REPORT_PERIOD_DAYS_MAX} days apart`,
    example: '2026-10-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsString({ message: 'from must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_LENGTH_MAX, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({
    description: 'End of the period, exclusive, exact to the millisecond',
    example: '2026-11-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsString({ message: 'to must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_LENGTH_MAX, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;
}
