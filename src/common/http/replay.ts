import type { FastifyReply } from 'fastify';

/** Marks a response that replays a stored result rather than doing the work again. */
export function withReplayHeader<T>(reply: FastifyReply, outcome: { body: T; replayed: boolean }): T {
  if (outcome.replayed) void reply.header('Idempotent-Replayed', 'true');
  return outcome.body;
}
