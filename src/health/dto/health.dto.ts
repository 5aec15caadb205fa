import { ApiProperty } from '@nestjs/swagger';

export class LivenessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';

  @ApiProperty({
    description: 'Each dependency checked, all `up`',
    type: 'object',
    additionalProperties: { type: 'string', enum: ['up'] },
    maxProperties: 10,
    example: { postgres: 'up', redis: 'up' },
  })
  checks!: Record<string, 'up'>;
}
