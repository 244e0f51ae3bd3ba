import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AsyncRequest, AsyncRequestLease } from '../core/async/async-request';
import { isSettled } from '../core/async/async-request';
import type { ClaimExpectation, ClaimResult, IdempotencyEntry, JobStore } from '../ports/job-store';

/**
 * The job store in one DynamoDB table (partition key `pk`, TTL attribute `expiresAt`):
 *
 * - `req#<request id>`: a queued request, its status, outcome, hand-offs and lease (the lease in
 *   three flat attributes so conditions can name them);
 * - `idem#<sha256 of tenant and key>`: an idempotency key and the request it stands for.
 *
 * Every change is one conditional write; nothing relies on transactions, so the same code runs on
 * dynalite (which has none) and DynamoDB.
 */
export function createDynamoDbJobStore(documents: DynamoDBDocumentClient, tableName: string): JobStore {
  const requestKey = (requestId: string) => ({ pk: `req#${requestId}` });
  const leaseIs = 'leaseMessageId = :leaseMessageId AND leaseReceive = :leaseReceive';
  const leaseValues = (lease: AsyncRequestLease) => ({ ':leaseMessageId': lease.messageId, ':leaseReceive': lease.receiveCount });

  async function get(requestId: string): Promise<AsyncRequest | undefined> {
    const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: requestKey(requestId), ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  /** Runs a conditional update; `undefined` when its condition did not hold. */
  async function update(command: UpdateCommand): Promise<Record<string, unknown> | undefined> {
    try {
      const { Attributes } = await documents.send(command);
      return Attributes ?? {};
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  return {
    async create(request) {
      try {
        await documents.send(new PutCommand({ TableName: tableName, Item: toItem(request), ConditionExpression: 'attribute_not_exists(pk)' }));
        return { created: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return { created: false, existing: await get(request.requestId) };
      }
    },

    get,

    async claim(requestId, expected, lease, now) {
      const values = {
        ...leaseValues(lease),
        ':leaseUntil': lease.until,
        ':now': now.toISOString(),
        ':one': 1,
      };
      for (let round = 0; round < 5; round += 1) {
        // The common case in one write: a queued request of this tenant, endpoint and body.
        const taken = await update(
          new UpdateCommand({
            TableName: tableName,
            Key: requestKey(requestId),
            UpdateExpression:
              'SET #status = :running, startedAt = if_not_exists(startedAt, :now), leaseMessageId = :leaseMessageId, leaseReceive = :leaseReceive, ' +
              'leaseUntil = :leaseUntil, deliveries = deliveries + :one, version = version + :one, updatedAt = :now',
            ConditionExpression: '#status = :queued AND tenant = :tenant AND endpoint = :endpoint AND #body.sha256 = :sha256',
            ExpressionAttributeNames: { '#status': 'status', '#body': 'body' },
            ExpressionAttributeValues: { ...values, ':running': 'running', ':queued': 'queued', ':tenant': expected.tenant, ':endpoint': expected.endpoint, ':sha256': expected.bodySha256 },
            ReturnValues: 'ALL_NEW',
          }),
        );
        if (taken) return { outcome: 'claimed', request: fromItem(taken) };
        const current = await get(requestId);
        if (current === undefined) return { outcome: 'missing' };
        if (!matches(current, expected)) return { outcome: 'mismatch', request: current };
        if (isSettled(current)) return { outcome: 'settled', request: current };
        if (current.status === 'queued') continue;
        if (!leaseFree(current.lease, lease, now)) return { outcome: 'busy', request: current };
        // Running or ended-unsettled under a lease that is free to take: take it if nothing moved.
        const retaken = await update(
          new UpdateCommand({
            TableName: tableName,
            Key: requestKey(requestId),
            UpdateExpression:
              'SET leaseMessageId = :leaseMessageId, leaseReceive = :leaseReceive, leaseUntil = :leaseUntil, version = version + :one, updatedAt = :now' +
              (current.status === 'running' ? ', deliveries = deliveries + :one' : ''),
            ConditionExpression: 'version = :version',
            ExpressionAttributeValues: { ...values, ':version': current.version },
            ReturnValues: 'ALL_NEW',
          }),
        );
        if (retaken) return { outcome: 'claimed', request: fromItem(retaken) };
      }
      const current = await get(requestId);
      return current === undefined ? { outcome: 'missing' } : { outcome: 'busy', request: current };
    },

    async release(requestId, lease, change) {
      const done = await update(
        new UpdateCommand({
          TableName: tableName,
          Key: requestKey(requestId),
          UpdateExpression:
            'SET #status = :queued, attempts = :attempts, lastError = :lastError, version = version + :one, updatedAt = :now REMOVE leaseMessageId, leaseReceive, leaseUntil',
          ConditionExpression: `${leaseIs} AND #status = :running`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ...leaseValues(lease),
            ':queued': 'queued',
            ':running': 'running',
            ':attempts': change.attempts,
            ':lastError': change.lastError,
            ':one': 1,
            ':now': change.now.toISOString(),
          },
        }),
      );
      return done !== undefined;
    },

    async finish(requestId, lease, change) {
      const done = await update(
        new UpdateCommand({
          TableName: tableName,
          Key: requestKey(requestId),
          UpdateExpression:
            'SET #status = :status, outcome = :outcome, attempts = :attempts, startedAt = :startedAt, finishedAt = :now, version = version + :one, updatedAt = :now REMOVE lastError',
          // Once: a request that already ended keeps its outcome.
          ConditionExpression: `${leaseIs} AND #status = :running`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ...leaseValues(lease),
            ':status': change.status,
            ':running': 'running',
            ':outcome': change.outcome,
            ':attempts': change.attempts,
            ':startedAt': change.startedAt,
            ':one': 1,
            ':now': change.now.toISOString(),
          },
        }),
      );
      return done !== undefined;
    },

    async recordHandoff(requestId, lease, handoff, settled, now) {
      const done = await update(
        new UpdateCommand({
          TableName: tableName,
          Key: requestKey(requestId),
          UpdateExpression:
            'SET handoffAudit = :audit, handoffUsage = :usage, version = version + :one, updatedAt = :now' +
            (settled ? ' REMOVE leaseMessageId, leaseReceive, leaseUntil' : ''),
          ConditionExpression: leaseIs,
          ExpressionAttributeValues: { ...leaseValues(lease), ':audit': handoff.audit, ':usage': handoff.usage, ':one': 1, ':now': now.toISOString() },
        }),
      );
      return done !== undefined;
    },

    async markRequeued(requestId, seenVersion, now) {
      const marked = await update(
        new UpdateCommand({
          TableName: tableName,
          Key: requestKey(requestId),
          UpdateExpression: 'SET version = version + :one, updatedAt = :now',
          ConditionExpression: 'version = :seen AND #status = :queued AND deliveries = :zero',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':one': 1, ':now': now.toISOString(), ':seen': seenVersion, ':queued': 'queued', ':zero': 0 },
        }),
      );
      return marked !== undefined;
    },

    async failSubmission(requestId, error, now) {
      const failed = await update(
        new UpdateCommand({
          TableName: tableName,
          Key: requestKey(requestId),
          // Its refusal was audited and counted at the door: nothing is left to hand off.
          UpdateExpression:
            'SET #status = :failed, outcome = :outcome, finishedAt = :now, handoffAudit = :true, handoffUsage = :true, version = version + :one, updatedAt = :now',
          ConditionExpression: '#status = :queued AND deliveries = :zero',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':queued': 'queued',
            ':zero': 0,
            ':true': true,
            ':one': 1,
            ':now': now.toISOString(),
            ':outcome': { statusCode: 503, error, servedEntity: null, units: null, backendLatencyMs: null, resultBytes: 0, auditRequired: true },
          },
        }),
      );
      return failed !== undefined;
    },

    async reserveKey(entry, now) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: idempotencyKey(entry.tenant, entry.key), ...entry },
            // An expired reservation is free again (DynamoDB's TTL deletes it only eventually).
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds',
            ExpressionAttributeValues: { ':nowSeconds': Math.floor(now.getTime() / 1000) },
          }),
        );
        return { reserved: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: { pk: idempotencyKey(entry.tenant, entry.key) }, ConsistentRead: true }));
      if (!Item) return this.reserveKey(entry, now);
      const { pk: _pk, ...existing } = Item;
      return { reserved: false, existing: existing as IdempotencyEntry };
    },

    async takeOverKey(entry, previousRequestId) {
      const done = await update(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: idempotencyKey(entry.tenant, entry.key) },
          UpdateExpression: 'SET requestId = :requestId, endpoint = :endpoint, bodySha256 = :bodySha256, createdAt = :createdAt, expiresAt = :expiresAt',
          ConditionExpression: 'requestId = :previous',
          ExpressionAttributeValues: {
            ':requestId': entry.requestId,
            ':endpoint': entry.endpoint,
            ':bodySha256': entry.bodySha256,
            ':createdAt': entry.createdAt,
            ':expiresAt': entry.expiresAt,
            ':previous': previousRequestId,
          },
        }),
      );
      return done !== undefined;
    },

    async releaseKey(tenant, key, requestId) {
      try {
        await documents.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { pk: idempotencyKey(tenant, key) },
            ConditionExpression: 'requestId = :requestId',
            ExpressionAttributeValues: { ':requestId': requestId },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },
  };
}

/** Tenants and keys are free text: hashed, they make a key of fixed size and alphabet. */
function idempotencyKey(tenant: string, key: string): string {
  return `idem#${createHash('sha256').update(`${tenant}\n${key}`).digest('hex')}`;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

function matches(request: AsyncRequest, expected: ClaimExpectation): boolean {
  return request.tenant === expected.tenant && request.endpoint === expected.endpoint && request.body.sha256 === expected.bodySha256;
}

/**
 * Whether a delivery may take a lease: none is held, it expired (its holder crashed), or it is held
 * by an earlier delivery of the same message (which has ended: its message came back).
 */
function leaseFree(held: AsyncRequestLease | null, mine: AsyncRequestLease, now: Date): boolean {
  if (held === null || held.until < now.getTime()) return true;
  return held.messageId === mine.messageId && held.receiveCount < mine.receiveCount;
}

/** The stored item: nulls left out (DynamoDB's `if_not_exists` sees a stored null as a value), the lease flattened. */
function toItem(request: AsyncRequest): Record<string, unknown> {
  const { lease, handoff, ...rest } = request;
  const item: Record<string, unknown> = { pk: `req#${request.requestId}`, handoffAudit: handoff.audit, handoffUsage: handoff.usage };
  for (const [name, value] of Object.entries(rest)) if (value !== null) item[name] = value;
  if (lease !== null) Object.assign(item, { leaseMessageId: lease.messageId, leaseReceive: lease.receiveCount, leaseUntil: lease.until });
  return item;
}

function fromItem(item: Record<string, unknown>): AsyncRequest {
  const value = <T>(name: string): T | null => (item[name] === undefined ? null : (item[name] as T));
  const leaseMessageId = value<string>('leaseMessageId');
  return {
    requestId: item.requestId as string,
    tenant: item.tenant as string,
    keyId: value('keyId'),
    keyHash: value('keyHash'),
    endpoint: item.endpoint as string,
    origin: item.origin as AsyncRequest['origin'],
    status: item.status as AsyncRequest['status'],
    submittedAt: item.submittedAt as string,
    startedAt: value('startedAt'),
    finishedAt: value('finishedAt'),
    updatedAt: item.updatedAt as string,
    body: item.body as AsyncRequest['body'],
    idempotencyKey: value('idempotencyKey'),
    client: { ip: null, userAgent: null, ...(item.client as object | undefined) } as AsyncRequest['client'],
    deliveries: Number(item.deliveries ?? 0),
    attempts: (item.attempts as AsyncRequest['attempts'] | undefined) ?? [],
    lastError: value('lastError'),
    outcome: value('outcome'),
    handoff: { audit: item.handoffAudit === true, usage: item.handoffUsage === true },
    lease: leaseMessageId === null ? null : { messageId: leaseMessageId, receiveCount: Number(item.leaseReceive), until: Number(item.leaseUntil) },
    version: Number(item.version ?? 0),
    expiresAt: Number(item.expiresAt),
  };
}
