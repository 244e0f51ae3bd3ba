import { z } from 'zod';

/**
 * What the fault proxy does to connections, new and open alike:
 * - `latency`: every chunk from the target reaches the client `ms` later (so every answer is
 *   `ms` slower, on fresh and kept-alive connections);
 * - `reset`: open connections are reset (RST), new ones are accepted and reset at once;
 * - `blackhole`: nothing is forwarded either way and nothing is closed, as in a network
 *   partition; new connections are accepted and left hanging; clearing the fault lets held
 *   bytes through;
 * - `refuse`: the target is down: the proxy stops listening (new connections get
 *   ECONNREFUSED) and closes the open ones.
 */
export const proxyFaultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('latency'), ms: z.number().int().min(0).max(600_000) }).strict(),
  z.object({ kind: z.literal('reset') }).strict(),
  z.object({ kind: z.literal('blackhole') }).strict(),
  z.object({ kind: z.literal('refuse') }).strict(),
]);

export type ProxyFault = z.infer<typeof proxyFaultSchema>;
