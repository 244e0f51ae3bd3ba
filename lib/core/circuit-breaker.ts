/** Where a served entity's circuit stands. */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitPolicy {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** How long an open circuit refuses calls before it lets one probe through. */
  cooldownMs: number;
}

/**
 * What `tryAcquire` lets through: an ordinary call, or the one probe of a half-open circuit. A call
 * reports back with its ticket, so that only the probe's own outcome decides a half-open circuit.
 */
export type CircuitTicket = 'call' | 'probe';

/**
 * A circuit breaker for one served entity, in one Lambda instance's memory: after `failures`
 * consecutive retriable failures it stops sending to the entity for `cooldownMs`, then lets exactly
 * one probe through; the probe's success closes it, its failure opens it for another cooldown.
 * Breakers are per instance on purpose: each instance learns an entity is down from its own calls
 * within `failures` requests, with no shared state on the hot path.
 *
 * Calls that overlap (invocations side by side in one process) can report after the circuit
 * opened: such a late report was sent before the entity was found down and says nothing of now,
 * so it neither closes the circuit, nor frees the probe's slot, nor restarts the cooldown.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private probeInFlight = false;

  constructor(private readonly policy: CircuitPolicy) {}

  /** The state at time `now` (monotonic ms). */
  state(now: number): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return now - this.openedAt >= this.policy.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * Whether a call may go out now, and as what. In half-open state only one caller gets a ticket
   * (the probe) until that probe reports back, so a recovering entity is not flooded.
   */
  tryAcquire(now: number): CircuitTicket | undefined {
    const state = this.state(now);
    if (state === 'closed') return 'call';
    if (state === 'open' || this.probeInFlight) return undefined;
    this.probeInFlight = true;
    return 'probe';
  }

  recordSuccess(ticket: CircuitTicket): void {
    if (ticket === 'call' && this.openedAt !== undefined) return;
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
    this.probeInFlight = false;
  }

  recordFailure(ticket: CircuitTicket, now: number): void {
    if (ticket === 'probe') {
      this.openedAt = now;
      this.probeInFlight = false;
      return;
    }
    if (this.openedAt !== undefined) return;
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures >= this.policy.failures) this.openedAt = now;
  }

  /** A call that neither succeeded nor failed the entity (the caller's 4xx): a probe's frees its slot. */
  recordNeutral(ticket: CircuitTicket): void {
    if (ticket === 'probe') this.probeInFlight = false;
  }
}

/** Breakers by served entity, made on first use; one registry per Lambda instance. */
export class CircuitBreakers {
  private readonly breakers = new Map<string, CircuitBreaker>();

  /** The breaker of `entity` on `endpoint`, with the endpoint's policy. */
  for(endpoint: string, entity: string, policy: CircuitPolicy): CircuitBreaker {
    const key = `${endpoint}\u0000${entity}`;
    let breaker = this.breakers.get(key);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(policy);
      this.breakers.set(key, breaker);
    }
    return breaker;
  }
}
