import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, paginateQuery, PutCommand, UpdateCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { abuseFindingSchema, type AbuseFinding } from '../core/abuse/abuse-finding';
import type { AbuseStore } from '../ports/abuse-store';

/** Counters are kept a day past their window: long enough for any baseline the rules may read. */
const COUNTER_KEEP_SECONDS = 86_400;
/** Findings are kept for the security team for 400 days. */
const FINDING_KEEP_SECONDS = 400 * 86_400;
const DAY_MS = 86_400_000;

/**
 * The abuse table (`pk`/`sk`): counters at `counter#<rule>#<kind>#<subject>#<window>` / `count`,
 * findings at `findings#<day of window start>` / `<window start>#<finding id>`, so a period's
 * findings are one query per day.
 */
export function createDynamoDbAbuseStore(client: DynamoDBDocumentClient, options: { tableName: string }): AbuseStore {
  const table = options.tableName;
  const findingKey = (finding: Pick<AbuseFinding, 'windowStart' | 'findingId'>) => ({
    pk: `findings#${finding.windowStart.slice(0, 10)}`,
    sk: `${finding.windowStart}#${finding.findingId}`,
  });

  return {
    async count(increments) {
      const totals = new Map<string, number>();
      await Promise.all(
        increments.map(async (increment) => {
          const { Attributes } = await client.send(
            new UpdateCommand({
              TableName: table,
              Key: { pk: `counter#${increment.counter}`, sk: 'count' },
              UpdateExpression: 'ADD #value :amount SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
              ExpressionAttributeNames: { '#value': 'value' },
              ExpressionAttributeValues: { ':amount': increment.amount, ':expiresAt': Math.ceil(increment.windowEndsAt.getTime() / 1000) + COUNTER_KEEP_SECONDS },
              ReturnValues: 'UPDATED_NEW',
            }),
          );
          totals.set(increment.counter, Number(Attributes?.value ?? increment.amount));
        }),
      );
      return totals;
    },

    async totals(counters) {
      const totals = new Map<string, number>(counters.map((counter) => [counter, 0]));
      const unique = [...new Set(counters)];
      for (let start = 0; start < unique.length; start += 100) {
        let keys: Array<Record<string, unknown>> | undefined = unique.slice(start, start + 100).map((counter) => ({ pk: `counter#${counter}`, sk: 'count' }));
        for (let attempt = 0; keys && keys.length > 0 && attempt < 5; attempt += 1) {
          const response: BatchGetCommandOutput = await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys } } }));
          for (const item of response.Responses?.[table] ?? []) totals.set(String(item.pk).slice('counter#'.length), Number(item.value ?? 0));
          keys = response.UnprocessedKeys?.[table]?.Keys;
        }
      }
      return totals;
    },

    async recordFinding(finding) {
      try {
        await client.send(
          new PutCommand({
            TableName: table,
            Item: { ...findingKey(finding), ...abuseFindingSchema.parse(finding), expiresAt: Math.ceil(Date.parse(finding.detectedAt) / 1000) + FINDING_KEEP_SECONDS },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return { created: true, stored: finding };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      const { Item } = await client.send(new GetCommand({ TableName: table, Key: findingKey(finding), ConsistentRead: true }));
      return { created: false, stored: Item ? toFinding(Item) : finding };
    },

    async setActionTaken(finding, actionTaken) {
      await client.send(
        new UpdateCommand({
          TableName: table,
          Key: findingKey(finding),
          UpdateExpression: 'SET actionTaken = :actionTaken',
          ExpressionAttributeValues: { ':actionTaken': actionTaken },
        }),
      );
    },

    async listFindings({ from, to }) {
      const findings: AbuseFinding[] = [];
      for (let day = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()); day < to.getTime(); day += DAY_MS) {
        const pages = paginateQuery(
          { client },
          {
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':pk': `findings#${new Date(day).toISOString().slice(0, 10)}`, ':from': from.toISOString(), ':to': to.toISOString() },
          },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) {
            const finding = toFinding(item);
            if (finding.windowStart < to.toISOString()) findings.push(finding);
          }
        }
      }
      return findings;
    },
  };
}

function toFinding(item: Record<string, unknown>): AbuseFinding {
  const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...finding } = item;
  return abuseFindingSchema.parse(finding);
}
