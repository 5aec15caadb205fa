import { Body, Controller, Get, Param, Put, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiProblems } from '../common/http/api-docs';
import { ITEM_ID_LENGTH_MAX, ITEM_ID_PATTERN } from './dto/purchase.dto';
import { PutRoyaltyTermsDto, RoyaltyTermsDto } from './dto/royalty-terms.dto';
import { RoyaltyTermsService } from './royalty-terms.service';

const ITEM_ID_PARAM = {
  name: 'itemId',
  description: 'The item (URL-encode a `/` in it as `%2F`)',
  schema: { type: 'string', pattern: ITEM_ID_PATTERN.source, minLength: 1, maxLength: ITEM_ID_LENGTH_MAX },
  example: 'ebook:978-0-13-468599-1',
} as const;

@ApiTags('purchases')
@ApiProblems(401, 429)
@Controller('royalty-terms')
export class RoyaltyTermsController {
  constructor(private readonly terms: RoyaltyTermsService) {}

  @Put(':itemId')
  @ApiOperation({
    summary: "Set an item's royalty terms: its payees and their shares (admin)",
    description:
      'Purchases naming this `itemId` from now on split `itemPrice * royaltyPercent` centi-cents among the payees by share ' +
      '(largest remainder, ties to the earlier payee), each payee credited its part with its own centi-cent carry; ' +
      '`authorWalletId` may then be omitted. A change adds a version (201); purchases record the version they used, so ' +
      'past purchases and their refunds keep theirs. The same terms again change nothing (200). Example: three co-authors at ' +
      '3333/3333/3334 and 70%: a 99-cent sale is 6930 centi-cents, 2310 each; with empty carries each gets 23 cents and ' +
      'keeps 10 centi-cents, and the platform 30 cents. No payee may be the buyer of a purchase (400 SELF_PURCHASE).',
  })
  @ApiParam(ITEM_ID_PARAM)
  @ApiCreatedResponse({ type: RoyaltyTermsDto, description: 'A new version is in force' })
  @ApiOkResponse({ type: RoyaltyTermsDto, description: 'These terms were already in force; nothing changed' })
  @ApiProblems('VALIDATION_FAILED', 403, 503)
  async put(
    @CurrentCaller() caller: Caller,
    @Param('itemId') itemId: string,
    @Body() body: PutRoyaltyTermsDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RoyaltyTermsDto> {
    const { terms, created } = await this.terms.put(caller, itemId, body);
    void reply.status(created ? 201 : 200);
    return terms;
  }

  @Get(':itemId')
  @ApiOperation({ summary: "The item's royalty terms in force (admin)" })
  @ApiParam(ITEM_ID_PARAM)
  @ApiOkResponse({ type: RoyaltyTermsDto })
  @ApiProblems(400, 'ROYALTY_TERMS_NOT_FOUND')
  get(@CurrentCaller() caller: Caller, @Param('itemId') itemId: string): Promise<RoyaltyTermsDto> {
    return this.terms.get(caller, itemId);
  }
}
