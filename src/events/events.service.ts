import { Injectable } from '@nestjs/common';
import { Caller } from '../common/auth/caller';
import { RequestValidationError } from '../common/errors/domain-errors';
import { EVENT_TYPES, type EventType } from './event-types';
import { EVENT_PAGE_LIMIT_DEFAULT, EventPageDto, toEventPageDto } from './dto/event.dto';
import { decodeEventCursor, FEED_START } from './event-cursor';
import { EventsRepository } from './events.repository';

/** Events examined per read at most; with a `type` filter the cursor moves past the rest. */
export const EVENT_SCAN_MAX = 2_000;

@Injectable()
export class EventsService {
  constructor(private readonly repository: EventsRepository) {}

  /**
   * One page of the feed (ADR 0030). Admins read every event; anyone else the events naming
   * their own wallet (none yet: an empty page).
   */
  async feed(caller: Caller, query: { after?: string; type?: string; limit?: string }): Promise<EventPageDto> {
    const after = query.after === undefined ? FEED_START : decodeEventCursor(query.after);
    const types = query.type === undefined ? undefined : parseTypes(query.type);
    const limit = query.limit === undefined ? EVENT_PAGE_LIMIT_DEFAULT : Number(query.limit);
    let walletId: string | undefined;
    if (!caller.isAdmin) {
      walletId = await this.repository.walletIdOfUser(caller.userId);
      if (walletId === undefined) return toEventPageDto([], after);
    }
    const page = await this.repository.feedPage({ after, limit, types, walletId, scanMax: EVENT_SCAN_MAX });
    return toEventPageDto(page.rows, page.position);
  }
}

export function parseTypes(value: string, field = 'type'): EventType[] {
  const types = [...new Set(value.split(','))];
  const unknown = types.filter((type) => !(EVENT_TYPES as readonly string[]).includes(type));
  if (unknown.length > 0) {
    throw new RequestValidationError([
      { field, message: `unknown event type ${unknown.join(', ')}; known types: ${EVENT_TYPES.join(', ')}` },
    ]);
  }
  return types as EventType[];
}
