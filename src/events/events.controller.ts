import { Controller, Get, Query } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiProblems } from '../common/http/api-docs';
import { PurchaseDto } from '../purchases/dto/purchase.dto';
import { WalletDto } from '../wallets/dto/wallet.dto';
import { WithdrawalDto } from '../payouts/dto/withdrawal.dto';
import { EventPageDto, EventQueryDto } from './dto/event.dto';
import { EventsService } from './events.service';

@ApiTags('events')
@ApiExtraModels(PurchaseDto, WalletDto, WithdrawalDto)
@ApiProblems(401, 429)
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({
    summary: 'The event feed: every money movement, in an order that never skips one (admin: all; others: their wallet)',
    description:
      'Start without `after`, then pass each page\'s `nextCursor` as `after`. A consumer that follows the cursor ' +
      'sees every event exactly once, even when transactions commit out of order: an event appears only once no ' +
      'earlier transaction can still commit one before it (ADR 0030). An empty page means you are up to date.',
  })
  @ApiOkResponse({ type: EventPageDto })
  @ApiProblems(400)
  feed(@CurrentCaller() caller: Caller, @Query() query: EventQueryDto): Promise<EventPageDto> {
    return this.events.feed(caller, query);
  }
}
