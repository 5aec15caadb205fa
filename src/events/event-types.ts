/** Every event type of the contract; the money functions write the ones whose movements exist. */
export const EVENT_TYPES = [
  'deposit.created',
  'purchase.completed',
  'purchase.authorized',
  'purchase.voided',
  'refund.created',
  'withdrawal.created',
  'withdrawal.paid',
  'withdrawal.failed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
