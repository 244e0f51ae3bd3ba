import { z } from 'zod';
import type { AuditPartition } from './layout';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * One link of the audit chain: it describes one batch object (where it is, the hash of its bytes,
 * of its records and of each record) and carries the hash of the previous entry. Entries are
 * created once, by sequence number, with a conditional write: whoever creates entry n first owns
 * it, so the chain stays linear however many archivers run.
 */
export const chainEntrySchema = z
  .object({
    version: z.literal(1),
    seq: z.number().int().positive(),
    /** SHA-256 of the previous entry's stored bytes (64 zeros for the first entry). */
    previousSha256: sha256,
    dataKey: z.string(),
    partition: z.object({ dt: z.string(), hour: z.string() }),
    /** SHA-256 of the batch object as stored (gzip bytes). */
    objectSha256: sha256,
    /** SHA-256 of the uncompressed JSON lines. */
    recordsSha256: sha256,
    recordCount: z.number().int().positive(),
    firstRequestId: z.string(),
    lastRequestId: z.string(),
    createdAt: z.string(),
    /** Each record's request id and the SHA-256 of its line, in line order: verify names the exact record. */
    records: z.array(z.tuple([z.string(), sha256])),
  })
  .strict();

export type ChainEntry = z.infer<typeof chainEntrySchema> & { partition: AuditPartition };

/** Parses stored entry bytes; `undefined` when they are not an entry (tampered or foreign). */
export function parseChainEntry(bytes: Uint8Array): ChainEntry | undefined {
  try {
    const parsed = chainEntrySchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
