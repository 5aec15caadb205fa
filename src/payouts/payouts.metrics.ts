import { Injectable, Optional } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { PayoutsRepository } from './payouts.repository';

/** A scrape does not wait longer than this for the payout figures; unknown figures are left out. */
const PAYOUT_FIGURES_TIMEOUT_MS = 1_000;

/**
 * Payouts by state, in cents, read at scrape time from the running totals (16 slot rows, the
 * figures the financial report shows): pending now, paid and failed all time (ADR 0018).
 */
@Injectable()
export class PayoutsMetrics {
  constructor(repository: PayoutsRepository, @Optional() metrics?: MetricsService) {
    if (!metrics) return;
    const gauge: Gauge<'state'> = new Gauge({
      name: 'wallet_payouts_cents',
      help: 'Payouts by state in cents: pending now; paid and failed all time',
      labelNames: ['state'] as const,
      registers: [metrics.registry],
      collect: async () => {
        gauge.reset();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), PAYOUT_FIGURES_TIMEOUT_MS);
        });
        const figures = repository.payoutFigures();
        try {
          const read = await Promise.race([figures, timeout]);
          if (!read) return;
          gauge.set({ state: 'pending' }, read.pendingCents);
          gauge.set({ state: 'paid' }, read.paidCents);
          gauge.set({ state: 'failed' }, read.failedCents);
        } catch {
          // With the database down the figures are unknown, not zero.
        } finally {
          clearTimeout(timer);
          figures.catch(() => undefined);
        }
      },
    });
  }
}
