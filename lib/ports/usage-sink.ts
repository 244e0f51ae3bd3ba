import type { UsageEvent } from '../core/usage-event';

/** Where usage events go. Both resolve only once every event is durably accepted. */
export interface UsageSink {
  publish(event: UsageEvent): Promise<void>;
  /** Many at once (the audit archiver forwarding what rode along with its records); none when empty. */
  publishAll(events: readonly UsageEvent[]): Promise<void>;
}
