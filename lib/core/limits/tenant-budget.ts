import { z } from 'zod';

/** A tenant's monthly spending cap, in nanos of the price table's currency. */
export const tenantBudgetSchema = z
  .object({
    tenant: z.string().min(1).max(64),
    monthlyBudgetNanos: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    currency: z.string().regex(/^[A-Z]{3}$/),
    updatedAt: z.iso.datetime(),
  })
  .strict();

export type TenantBudget = z.infer<typeof tenantBudgetSchema>;
