import type { AbuseFinding } from '../../lib/core/abuse/abuse-finding';
import { checkKeyUpdateFits, type ApiKeyRecord, type KeyLimits } from '../../lib/core/api-key';
import type { TenantBudget } from '../../lib/core/limits/tenant-budget';
import type { AbuseCounterIncrement, AbuseStore } from '../../lib/ports/abuse-store';
import type { KeyAdminStore, KeyStatusChange } from '../../lib/ports/key-store';
import type { QuotaAdjustment, QuotaCharge, QuotaCounters, ReserveResult } from '../../lib/ports/quota-counters';
import type { TenantBudgetAdmin } from '../../lib/ports/tenant-budgets';

/** Counters in memory, with the same all-or-none, never-past-max semantics as the DynamoDB adapter. */
export class MemoryQuotaCounters implements QuotaCounters {
  readonly values = new Map<string, number>();
  reserves = 0;
  failWith: Error | undefined;

  async reserve(charges: readonly QuotaCharge[]): Promise<ReserveResult> {
    this.reserves += 1;
    if (this.failWith) throw this.failWith;
    const refused = charges.find((charge) => (this.values.get(charge.counter) ?? 0) + charge.amount > charge.max);
    if (refused) return { admitted: false, refused };
    for (const charge of charges) this.values.set(charge.counter, (this.values.get(charge.counter) ?? 0) + charge.amount);
    return { admitted: true };
  }

  async adjust(adjustments: readonly QuotaAdjustment[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const adjustment of adjustments) this.values.set(adjustment.counter, (this.values.get(adjustment.counter) ?? 0) + adjustment.delta);
  }

  async read(counters: readonly string[]): Promise<Map<string, number>> {
    return new Map(counters.map((counter) => [counter, this.values.get(counter) ?? 0]));
  }

  /** The value of the only counter whose name contains `part`. */
  valueOf(part: string): number {
    const matching = [...this.values.entries()].filter(([counter]) => counter.includes(part));
    if (matching.length !== 1) throw new Error(`${matching.length} counters contain ${part}`);
    return matching[0]![1];
  }
}

export class MemoryTenantBudgets implements TenantBudgetAdmin {
  readonly budgets = new Map<string, TenantBudget>();
  async budgetOf(tenant: string) {
    return this.budgets.get(tenant);
  }
  async setBudget(budget: TenantBudget) {
    this.budgets.set(budget.tenant, budget);
  }
  async removeBudget(tenant: string) {
    this.budgets.delete(tenant);
  }
  async list() {
    return [...this.budgets.values()];
  }
}

export class MemoryKeyAdminStore implements KeyAdminStore {
  readonly byHash = new Map<string, ApiKeyRecord>();
  constructor(records: ApiKeyRecord[] = []) {
    for (const record of records) this.byHash.set(record.keyHash, record);
  }
  private byId(keyId: string) {
    return [...this.byHash.values()].find((record) => record.keyId === keyId);
  }
  async findByHash(keyHash: string) {
    return this.byHash.get(keyHash);
  }
  async create(record: ApiKeyRecord) {
    if (this.byHash.has(record.keyHash)) throw new Error('exists');
    this.byHash.set(record.keyHash, record);
  }
  async get(keyId: string) {
    return this.byId(keyId);
  }
  async list(filter: { tenant?: string } = {}) {
    return [...this.byHash.values()].filter((record) => filter.tenant === undefined || record.tenant === filter.tenant);
  }
  async changeStatus(keyId: string, change: KeyStatusChange) {
    checkKeyUpdateFits(keyId, { statusReason: change.reason, suspendedByFinding: change.suspendedByFinding });
    const record = this.byId(keyId);
    if (!record) return undefined;
    if (!change.from.includes(record.status)) return { changed: false, record };
    const { suspendedByFinding: _previousFinding, ...rest } = record;
    // As the DynamoDB store: a change that names no finding (a lift, a revoke) clears the old one.
    const next: ApiKeyRecord = { ...rest, status: change.to, statusReason: change.reason, statusChangedAt: change.at.toISOString() };
    if (change.suspendedByFinding !== undefined) next.suspendedByFinding = change.suspendedByFinding;
    this.byHash.set(record.keyHash, next);
    return { changed: true, record: next };
  }
  async setLimits(keyId: string, limits: KeyLimits | undefined) {
    checkKeyUpdateFits(keyId, { limits });
    const record = this.byId(keyId);
    if (!record) return undefined;
    const next = { ...record, limits };
    this.byHash.set(record.keyHash, next);
    return next;
  }
  async markRotated(keyId: string, rotation: { rotatedTo: string; at: Date; expiresAt?: Date }) {
    checkKeyUpdateFits(keyId, { rotatedTo: rotation.rotatedTo });
    const record = this.byId(keyId);
    if (!record || record.status !== 'active' || record.rotatedTo !== undefined) return undefined;
    const next: ApiKeyRecord = rotation.expiresAt
      ? { ...record, rotatedTo: rotation.rotatedTo, expiresAt: rotation.expiresAt.toISOString() }
      : { ...record, rotatedTo: rotation.rotatedTo, status: 'revoked' };
    this.byHash.set(record.keyHash, next);
    return next;
  }
}

export class MemoryAbuseStore implements AbuseStore {
  readonly counters = new Map<string, number>();
  readonly findings = new Map<string, AbuseFinding>();
  async count(increments: readonly AbuseCounterIncrement[]) {
    const totals = new Map<string, number>();
    for (const increment of increments) {
      const total = (this.counters.get(increment.counter) ?? 0) + increment.amount;
      this.counters.set(increment.counter, total);
      totals.set(increment.counter, total);
    }
    return totals;
  }
  async totals(counters: readonly string[]) {
    return new Map(counters.map((counter) => [counter, this.counters.get(counter) ?? 0]));
  }
  async recordFinding(finding: AbuseFinding) {
    const stored = this.findings.get(finding.findingId);
    if (stored) return { created: false, stored: { ...stored } };
    this.findings.set(finding.findingId, { ...finding });
    return { created: true, stored: { ...finding } };
  }
  async setActionTaken(finding: AbuseFinding, actionTaken: NonNullable<AbuseFinding['actionTaken']>) {
    const stored = this.findings.get(finding.findingId);
    if (stored) stored.actionTaken = actionTaken;
  }
  async listFindings({ from, to }: { from: Date; to: Date }) {
    return [...this.findings.values()].filter((finding) => finding.windowStart >= from.toISOString() && finding.windowStart < to.toISOString());
  }
}
