import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule, InjectBullBoard, type BullBoardInstance, type BullBoardModuleOptions } from '@bull-board/nestjs';
import { Logger, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { IdentityResolver } from '../common/auth/identity-resolver';
import { protectDashboard } from './dashboard-auth.hook';

/**
 * @bull-board/fastify 9.10.1 declares its types against its own copy of @bull-board/api
 * 9.10.1 (it uses it for types only); the classes are the same at run time.
 */
const fastifyBoardAdapter = FastifyAdapter as unknown as BullBoardModuleOptions['adapter'];

/** Where Bull Board is served; everything under it is for administrators only. */
export const QUEUE_DASHBOARD_ROUTE = '/admin/queues';

/**
 * Bull Board for every BullMQ queue the application registers (reports, reconciliation, and
 * any added later): queues are discovered at start-up rather than listed here, so a feature
 * module that registers a queue appears on the board without touching this module. Its
 * routes are a Fastify plugin outside Nest's guards, so an onRequest hook applies the same
 * identity rules as the auth guard.
 */
@Module({
  imports: [
    DiscoveryModule,
    BullBoardModule.forRoot({
      route: QUEUE_DASHBOARD_ROUTE,
      adapter: fastifyBoardAdapter,
      boardOptions: { uiConfig: { boardTitle: 'Wallet queues' } },
    }),
  ],
})
export class QueueDashboardModule implements OnModuleInit {
  private readonly logger = new Logger('QueueDashboard');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly identity: IdentityResolver,
    @InjectBullBoard() private readonly board: BullBoardInstance,
  ) {}

  onModuleInit(): void {
    const queues = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is Queue => instance instanceof Queue);
    const unique = [...new Map(queues.map((queue) => [queue.name, queue])).values()];
    this.board.setQueues(unique.map((queue) => new BullMQAdapter(queue, { readOnlyMode: false })));
    this.logger.debug({ queues: unique.map((queue) => queue.name) }, 'queue dashboard ready');

    // A worker-only process has no HTTP server, so nothing to protect.
    const http = this.adapterHost.httpAdapter;
    if (!http) return;
    protectDashboard(http.getInstance<FastifyInstance>(), QUEUE_DASHBOARD_ROUTE, this.identity);
  }
}
