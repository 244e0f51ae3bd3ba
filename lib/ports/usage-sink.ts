import type { UsageEvent } from '../core/usage-event';

/** Where usage events go. `publish` resolves only once the event is durably accepted. */
export interface UsageSink {
  publish(event: UsageEvent): Promise<void>;
}
