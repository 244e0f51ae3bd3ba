import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, UpdateCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { QuotaAdjustment, QuotaCharge, QuotaCounters } from '../ports/quota-counters';

/** Counters outlive their window by this much (DynamoDB's TTL deletes them some time after). */
const KEEP_AFTER_WINDOW_SECONDS = 3_600;

/**
 * The shared counters in the limits table: one item per counter and window (`pk` = counter
 * name), changed only by atomic `ADD`s. A charge is a conditional ADD that succeeds only while
 * `value <= max - amount`, so DynamoDB itself serializes concurrent instances on the item and no
 * interleaving can pass a limit. A reservation of several charges adds them in parallel and takes
 * back the ones that succeeded if another was refused; in that moment a concurrent request may see
 * a counter higher than it will end up (a refusal it would not otherwise get), never lower.
 */
export function createDynamoDbQuotaCounters(client: DynamoDBDocumentClient, options: { tableName: string }): QuotaCounters {
  const table = options.tableName;

  const add = (counter: string, delta: number, windowEndsAt: Date, max?: number) =>
    client.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: counter },
        UpdateExpression: 'ADD #value :delta SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ...(max === undefined
          ? {}
          : { ConditionExpression: 'attribute_not_exists(#value) OR #value <= :room' }),
        ExpressionAttributeNames: { '#value': 'value' },
        ExpressionAttributeValues: {
          ':delta': delta,
          ':expiresAt': Math.ceil(windowEndsAt.getTime() / 1000) + KEEP_AFTER_WINDOW_SECONDS,
          ...(max === undefined ? {} : { ':room': max - delta }),
        },
      }),
    );

  return {
    async reserve(charges) {
      const impossible = charges.find((charge) => charge.amount > charge.max);
      if (impossible) return { admitted: false, refused: impossible };
      const results = await Promise.allSettled(charges.map((charge) => add(charge.counter, charge.amount, charge.windowEndsAt, charge.max)));
      const failedAt = results.findIndex((result) => result.status === 'rejected');
      if (failedAt === -1) return { admitted: true };
      // Give back what was taken; a give-back that fails leaves the counter high until its window ends (the safe side).
      await Promise.allSettled(
        charges
          .filter((_, index) => results[index]!.status === 'fulfilled')
          .map((charge) => add(charge.counter, -charge.amount, charge.windowEndsAt)),
      );
      const refusedAt = results.findIndex((result) => result.status === 'rejected' && result.reason instanceof ConditionalCheckFailedException);
      const unexpected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected' && !(result.reason instanceof ConditionalCheckFailedException));
      if (unexpected) throw unexpected.reason;
      return { admitted: false, refused: charges[refusedAt] as QuotaCharge };
    },

    async adjust(adjustments: readonly QuotaAdjustment[]) {
      const results = await Promise.allSettled(adjustments.map((adjustment) => add(adjustment.counter, adjustment.delta, adjustment.windowEndsAt)));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },

    async read(counters) {
      const values = new Map<string, number>(counters.map((counter) => [counter, 0]));
      for (let start = 0; start < counters.length; start += 100) {
        let keys: Array<Record<string, unknown>> | undefined = counters.slice(start, start + 100).map((counter) => ({ pk: counter }));
        for (let attempt = 0; keys && keys.length > 0 && attempt < 5; attempt += 1) {
          const response: BatchGetCommandOutput = await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
          for (const item of response.Responses?.[table] ?? []) values.set(String(item.pk), Number(item.value ?? 0));
          keys = response.UnprocessedKeys?.[table]?.Keys;
        }
      }
      return values;
    },
  };
}
