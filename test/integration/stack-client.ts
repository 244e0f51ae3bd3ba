import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../local/fault-proxy/fault-proxy';
import { createDynamoDbAbuseStore } from '../../lib/adapters/dynamodb-abuse-store';
import { createDynamoDbKeyStore } from '../../lib/adapters/dynamodb-key-store';
import { createDynamoDbQuotaCounters } from '../../lib/adapters/dynamodb-quota-counters';
import { createDynamoDbTenantBudgets } from '../../lib/adapters/dynamodb-tenant-budgets';
import { createDynamoDbUsageLedger } from '../../lib/adapters/dynamodb-usage-ledger';
import { createS3ObjectStore } from '../../lib/adapters/s3-object-store';
import { findAuditRecord } from '../../lib/core/audit-log/search';
import { generateApiKey, type ApiKeyRecord, type KeyLimits, type Role } from '../../lib/core/api-key';
import type { AuditRecord } from '../../lib/core/audit-record';
import type { UsageEvent } from '../../lib/core/usage-event';

/** What an integration test needs to reach and inspect the running local stack. */
export function stackClient() {
  const stack = inject('stack');
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.emulatorUrl, forcePathStyle: true, credentials });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.emulatorUrl, credentials });
  const dynamoDb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: stack.dynamoDbUrl, credentials }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const keyStore = createDynamoDbKeyStore(dynamoDb, { tableName: stack.tables.KeysTable, cacheTtlMs: 0 });
  const archive = createS3ObjectStore(s3, { bucket: stack.auditBucket });
  const ledger = createDynamoDbUsageLedger(dynamoDb, { tableName: stack.tables.UsageTable });

  return {
    stack,
    s3,
    sqs,

    /** A fault-injecting proxy on a port of its own, in front of the stack's OpenAI-compatible server. */
    faultProxyToOpenAiServer(): Promise<FaultProxy> {
      const target = new URL(stack.openaiServerUrl);
      return startFaultProxy({ port: 0, target: { host: target.hostname, port: Number(target.port) } });
    },

    /** POSTs a scoring request the way a client would. */
    async invoke(endpoint: string, body: unknown, options: { key?: string | null; headers?: Record<string, string>; raw?: string } = {}) {
      const key = options.key === undefined ? stack.demoApiKey : options.key;
      const response = await fetch(`${stack.apiUrl}/serving-endpoints/${endpoint}/invocations`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(key === null ? {} : { authorization: `Bearer ${key}` }),
          ...options.headers,
        },
        body: options.raw ?? JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: JSON.parse(text) as Record<string, unknown>, text };
    },

    /** POSTs an asynchronous submission the way a client would. */
    async submitAsync(endpoint: string, body: unknown, options: { key?: string | null; headers?: Record<string, string>; raw?: string } = {}) {
      const key = options.key === undefined ? stack.demoApiKey : options.key;
      const response = await fetch(`${stack.apiUrl}/serving-endpoints/${endpoint}/async-invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...options.headers },
        body: options.raw ?? JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: JSON.parse(text) as Record<string, unknown>, text };
    },

    /** GET /requests/{id}. */
    async requestStatus(id: string, options: { key?: string } = {}) {
      const response = await fetch(`${stack.apiUrl}/requests/${id}`, { headers: { authorization: `Bearer ${options.key ?? stack.demoApiKey}` } });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: JSON.parse(text) as Record<string, unknown>, text };
    },

    /**
     * Polls GET /requests/{id} until the request succeeded or failed (or `waitMs` passed). A request
     * a producer sent straight onto the queue exists (is not a 404) once the worker has taken it.
     */
    async waitForRequest(id: string, options: { key?: string; waitMs?: number } = {}) {
      const deadline = Date.now() + (options.waitMs ?? 15_000);
      for (;;) {
        const answer = await this.requestStatus(id, options);
        const status = answer.json.status;
        const pending = answer.status === 404 || (answer.status === 200 && status !== 'succeeded' && status !== 'failed');
        if (!pending || Date.now() > deadline) return answer;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },

    /** Sends a message straight onto the async request queue, as an IAM producer would. */
    async sendToRequestQueue(message: unknown) {
      await sqs.send(new SendMessageCommand({ QueueUrl: stack.asyncQueueUrl, MessageBody: typeof message === 'string' ? message : JSON.stringify(message) }));
    },

    /** Issues a key as an admin would (only its hash lands in the store). */
    async createKey(grant: { tenant: string; roles?: Role[]; endpoints: string[]; status?: ApiKeyRecord['status']; limits?: KeyLimits }) {
      const { apiKey, record } = generateApiKey({ tenant: grant.tenant, roles: grant.roles ?? ['invoke'], endpoints: grant.endpoints, now: new Date(), limits: grant.limits });
      await keyStore.create({ ...record, status: grant.status ?? 'active' });
      return { apiKey, record };
    },

    /** The governance tables, as the CLI and the usage aggregator reach them. */
    keys: keyStore,
    ledger,
    abuse: createDynamoDbAbuseStore(dynamoDb, { tableName: stack.tables.AbuseTable }),
    budgets: createDynamoDbTenantBudgets(dynamoDb, { tableName: stack.tables.LimitsTable, cacheTtlMs: 0 }),
    counters: createDynamoDbQuotaCounters(dynamoDb, { tableName: stack.tables.LimitsTable }),

    /** The audit bucket, as the archiver writes it. */
    archive,

    /**
     * The audit record of a request id and the batch object holding it, once the archiver has
     * drained it from the audit queue (waits up to `waitMs`).
     */
    async auditObject(requestId: string, options: { waitMs?: number } = {}): Promise<{ key: string; record: AuditRecord } | undefined> {
      const deadline = Date.now() + (options.waitMs ?? 10_000);
      for (;;) {
        const found = await findAuditRecord(archive, requestId);
        if (found) return { key: found.objectKey, record: found.record };
        if (Date.now() > deadline) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },

    /**
     * The usage events published for a request id, once the usage aggregator has counted them
     * (waits up to `waitMs`): the event as the ledger holds it, once per distinct message that
     * carried it (a request published twice shows up twice).
     */
    async usageEvents(requestId: string, options: { waitMs?: number } = {}): Promise<UsageEvent[]> {
      const deadline = Date.now() + (options.waitMs ?? 5_000);
      for (;;) {
        const entry = await ledger.find(requestId);
        if (entry?.state === 'applied') return Array.from({ length: 1 + entry.duplicatePublishes }, () => entry.event);
        if (Date.now() > deadline) return entry ? [entry.event] : [];
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },

    /** Makes the model server's `faulty-v1` endpoint fail or stall, through its control API. */
    async setFault(endpoint: string, fault: Record<string, unknown> | undefined) {
      const response = await fetch(`${stack.modelServerUrl}/_faults/${endpoint}`, {
        method: fault ? 'PUT' : 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: fault ? JSON.stringify(fault) : null,
      });
      if (!response.ok && response.status !== 404) throw new Error(`could not set fault: ${response.status}`);
    },

    /** Makes a model of the local OpenAI- or Anthropic-compatible server fail, through its control API. */
    async setProviderFault(provider: 'openai' | 'anthropic', model: string, fault: Record<string, unknown> | undefined) {
      const base = provider === 'openai' ? stack.openaiServerUrl : stack.anthropicServerUrl;
      const response = await fetch(`${base}/_faults/${model}`, {
        method: fault ? 'PUT' : 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: fault ? JSON.stringify(fault) : null,
      });
      if (!response.ok && response.status !== 404) throw new Error(`could not set fault: ${response.status}`);
    },

    /** How many calls a model of a local provider server has received. */
    async providerCalls(provider: 'openai' | 'anthropic', model: string): Promise<number> {
      const base = provider === 'openai' ? stack.openaiServerUrl : stack.anthropicServerUrl;
      const stats = (await (await fetch(`${base}/_stats`)).json()) as { invocations: Record<string, number> };
      return stats.invocations[model] ?? 0;
    },
  };
}
