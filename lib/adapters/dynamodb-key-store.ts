import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, paginateQuery, paginateScan, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { apiKeyRecordSchema, checkKeyUpdateFits, type ApiKeyRecord } from '../core/api-key';
import type { KeyAdminStore, KeyStatusChange } from '../ports/key-store';
import { TtlCache } from './ttl-cache';

/** The keys table's indexes, as serverless.yml declares them. */
export const KEY_ID_INDEX = 'key-id-index';
export const TENANT_INDEX = 'tenant-index';

export interface DynamoDbKeyStoreOptions {
  tableName: string;
  /** How long a found key is trusted before it is read again: the bound on revocation and suspension delay. */
  cacheTtlMs?: number;
  /** How long an unknown hash is remembered as unknown (capped by `cacheTtlMs`). */
  negativeCacheTtlMs?: number;
  now?: () => number;
}

/**
 * API keys in DynamoDB, one item per key with the key's SHA-256 as partition key: the request
 * path's lookup is one strongly consistent GetItem, and only while the per-container cache has
 * nothing younger than the TTL. Admin operations reach keys by id or tenant through two indexes.
 */
export function createDynamoDbKeyStore(client: DynamoDBDocumentClient, options: DynamoDbKeyStoreOptions): KeyAdminStore {
  const table = options.tableName;
  const cache = new TtlCache<ApiKeyRecord>(options.cacheTtlMs ?? 30_000, options.negativeCacheTtlMs ?? 5_000, options.now);

  const getByHash = async (keyHash: string): Promise<ApiKeyRecord | undefined> => {
    const { Item } = await client.send(new GetCommand({ TableName: table, Key: { keyHash }, ConsistentRead: true }));
    return Item === undefined ? undefined : parseRecord(Item);
  };

  const hashOf = async (keyId: string): Promise<string | undefined> => {
    const { Items = [] } = await client.send(
      new QueryCommand({ TableName: table, IndexName: KEY_ID_INDEX, KeyConditionExpression: 'keyId = :keyId', ExpressionAttributeValues: { ':keyId': keyId } }),
    );
    const keyHash = Items[0]?.keyHash;
    return typeof keyHash === 'string' ? keyHash : undefined;
  };

  const update = async (keyHash: string, input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>) => {
    const { Attributes } = await client.send(new UpdateCommand({ TableName: table, Key: { keyHash }, ReturnValues: 'ALL_NEW', ...input }));
    cache.delete(keyHash);
    return Attributes === undefined ? undefined : parseRecord(Attributes);
  };

  return {
    findByHash(keyHash) {
      return cache.getOrLoad(keyHash, async () => {
        const record = await getByHash(keyHash);
        // An item filed under another hash is corrupt; refuse it rather than trust it.
        return record?.keyHash === keyHash ? record : undefined;
      });
    },

    async create(record) {
      await client.send(
        new PutCommand({ TableName: table, Item: apiKeyRecordSchema.parse(record), ConditionExpression: 'attribute_not_exists(keyHash)' }),
      );
      cache.delete(record.keyHash);
    },

    async get(keyId) {
      const keyHash = await hashOf(keyId);
      return keyHash === undefined ? undefined : getByHash(keyHash);
    },

    async list(filter = {}) {
      const records: ApiKeyRecord[] = [];
      const pages =
        filter.tenant === undefined
          ? paginateScan({ client }, { TableName: table })
          : paginateQuery(
              { client },
              { TableName: table, IndexName: TENANT_INDEX, KeyConditionExpression: 'tenant = :tenant', ExpressionAttributeValues: { ':tenant': filter.tenant } },
            );
      for await (const page of pages) for (const item of page.Items ?? []) records.push(parseRecord(item));
      return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
    },

    async changeStatus(keyId, change: KeyStatusChange) {
      // Before the write: an update is not parsed until it is stored, and then the key is unreadable.
      checkKeyUpdateFits(keyId, { statusReason: change.reason, suspendedByFinding: change.suspendedByFinding });
      const keyHash = await hashOf(keyId);
      if (keyHash === undefined) return undefined;
      const values: Record<string, unknown> = { ':to': change.to, ':reason': change.reason, ':at': change.at.toISOString() };
      change.from.forEach((status, index) => (values[`:from${index}`] = status));
      let expression = 'SET #status = :to, statusReason = :reason, statusChangedAt = :at';
      if (change.suspendedByFinding !== undefined) {
        expression += ', suspendedByFinding = :finding';
        values[':finding'] = change.suspendedByFinding;
      } else {
        expression += ' REMOVE suspendedByFinding';
      }
      try {
        const record = await update(keyHash, {
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(keyHash) AND #status IN (${change.from.map((_, index) => `:from${index}`).join(', ')})`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
        });
        return record && { changed: true, record };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const record = await getByHash(keyHash);
        return record && { changed: false, record };
      }
    },

    async setLimits(keyId, limits) {
      // As every update: checked before the write, which nothing parses until a read fails on it.
      checkKeyUpdateFits(keyId, { limits });
      const keyHash = await hashOf(keyId);
      if (keyHash === undefined) return undefined;
      return limits === undefined || Object.keys(limits).length === 0
        ? update(keyHash, { UpdateExpression: 'REMOVE limits', ConditionExpression: 'attribute_exists(keyHash)' })
        : update(keyHash, { UpdateExpression: 'SET limits = :limits', ConditionExpression: 'attribute_exists(keyHash)', ExpressionAttributeValues: { ':limits': limits } });
    },

    async markRotated(keyId, rotation) {
      checkKeyUpdateFits(keyId, { rotatedTo: rotation.rotatedTo, statusReason: `rotated to ${rotation.rotatedTo}` });
      const keyHash = await hashOf(keyId);
      if (keyHash === undefined) return undefined;
      const at = rotation.at.toISOString();
      // Only an active key not rotated yet: one suspended, revoked or rotated meanwhile keeps its state
      // (rotating a key in its grace period again would extend it and leave a second replacement).
      const onlyActive = {
        ConditionExpression: 'attribute_exists(keyHash) AND #status = :active AND attribute_not_exists(rotatedTo)',
        ExpressionAttributeNames: { '#status': 'status' },
      };
      try {
        return await (rotation.expiresAt === undefined
          ? update(keyHash, {
              ...onlyActive,
              UpdateExpression: 'SET rotatedTo = :to, #status = :revoked, statusReason = :reason, statusChangedAt = :at',
              ExpressionAttributeValues: { ':to': rotation.rotatedTo, ':revoked': 'revoked', ':reason': `rotated to ${rotation.rotatedTo}`, ':at': at, ':active': 'active' },
            })
          : update(keyHash, {
              ...onlyActive,
              UpdateExpression: 'SET rotatedTo = :to, expiresAt = :expires',
              ExpressionAttributeValues: { ':to': rotation.rotatedTo, ':expires': rotation.expiresAt.toISOString(), ':active': 'active' },
            }));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw error;
      }
    },
  };
}

function parseRecord(item: Record<string, unknown>): ApiKeyRecord {
  return apiKeyRecordSchema.parse(item);
}
