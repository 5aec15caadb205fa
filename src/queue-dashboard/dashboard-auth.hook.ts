import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IdentityResolver } from '../common/auth/identity-resolver';
import { ForbiddenError } from '../common/errors/domain-errors';
import { ProblemDetailsFilter } from '../common/errors/problem-details.filter';

/**
 * Admits administrators only to every path under `route`: 401 without an identity, 403 for
 * anyone else, rendered by the same problem-details filter as every Nest route.
 */
export function protectDashboard(fastify: FastifyInstance, route: string, identity: IdentityResolver): void {
  const filter = new ProblemDetailsFilter();
  const covers = (url: string) => url === route || url.startsWith(`${route}/`) || url.startsWith(`${route}?`);
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // The matched route pattern as well as the raw URL: the router decodes percent-escapes,
    // so a raw-URL check alone could be sidestepped with an encoded path.
    if (!covers(request.url) && !covers(request.routeOptions.url ?? '')) return;
    try {
      const caller = await identity.resolve(request.headers);
      if (!caller.isAdmin) throw new ForbiddenError('The queue dashboard is for administrators');
    } catch (error) {
      filter.catch(error, new ExecutionContextHost([request, reply]));
      return reply;
    }
  });
}
