import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { CENTS } from '../../common/http/api-schema';

export const AMOUNT_CENTS_MIN = 1;
export const AMOUNT_CENTS_MAX = 1_000_000_000;

export class AmountDto {
  @ApiProperty({
    ...CENTS,
    description: 'Integer cents, 1 to 1,000,000,000 (a JSON number, never a string)',
    example: 5000,
    minimum: AMOUNT_CENTS_MIN,
    maximum: AMOUNT_CENTS_MAX,
  })
  @IsInt({ message: 'amount must be an integer number of cents' })
  @Min(AMOUNT_CENTS_MIN, { message: `amount must be at least ${AMOUNT_CENTS_MIN}` })
  @Max(AMOUNT_CENTS_MAX, { message: `amount must be at most ${AMOUNT_CENTS_MAX}` })
  amount!: number;
}
