import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../adapters/aws-clients';
import { createDynamoDbAbuseStore } from '../adapters/dynamodb-abuse-store';
import { createDynamoDbKeyStore } from '../adapters/dynamodb-key-store';
import { createDynamoDbQuotaCounters } from '../adapters/dynamodb-quota-counters';
import { createDynamoDbTenantBudgets } from '../adapters/dynamodb-tenant-budgets';
import { createDynamoDbUsageLedger } from '../adapters/dynamodb-usage-ledger';
import { createRequestLimiter, type RequestLimiter } from '../core/limits/request-limiter';
import type { UsageConsumerDeps } from '../core/usage/count-usage-events';
import type { KeyAdminStore } from '../ports/key-store';
import type { Environment } from './environment';
import { loadEndpointConfig } from './load-endpoint-config';

let dynamoDb: DynamoDBDocumentClient | undefined;

/** One DynamoDB client per container, whichever entry point asks first. */
export function dynamoDbClient(env: Environment): DynamoDBDocumentClient {
  dynamoDb ??= createDynamoDbClient(env);
  return dynamoDb;
}

/** The keys table, cached per container for KEY_CACHE_TTL_SECONDS (the revocation bound). */
export function wireKeyStore(env: Environment): KeyAdminStore {
  return createDynamoDbKeyStore(dynamoDbClient(env), {
    tableName: env.KEYS_TABLE,
    cacheTtlMs: env.KEY_CACHE_TTL_SECONDS * 1000,
    negativeCacheTtlMs: env.KEY_NEGATIVE_CACHE_TTL_SECONDS * 1000,
  });
}

/** The limit step: shared counters and budgets in the limits table, priced from the endpoint config. */
export function wireRequestLimiter(env: Environment): RequestLimiter {
  const client = dynamoDbClient(env);
  return createRequestLimiter({
    counters: createDynamoDbQuotaCounters(client, { tableName: env.LIMITS_TABLE }),
    budgets: createDynamoDbTenantBudgets(client, { tableName: env.LIMITS_TABLE, cacheTtlMs: env.KEY_CACHE_TTL_SECONDS * 1000 }),
    pricing: loadEndpointConfig(env.ENDPOINTS_CONFIG).pricing,
  });
}

/** The usage consumer's adapters: the ledger, the abuse table, the keys it may suspend, the price table and rules. */
export function wireUsageConsumer(env: Environment, functionTimeoutSeconds: number): UsageConsumerDeps {
  const client = dynamoDbClient(env);
  const config = loadEndpointConfig(env.ENDPOINTS_CONFIG);
  const endpoints = new Set(config.endpoints.map((endpoint) => endpoint.name));
  const now = () => new Date();
  return {
    ledger: createDynamoDbUsageLedger(client, { tableName: env.USAGE_TABLE }),
    pricing: config.pricing,
    knownEndpoint: (name) => endpoints.has(name),
    abuse: {
      store: createDynamoDbAbuseStore(client, { tableName: env.ABUSE_TABLE }),
      keys: wireKeyStore(env),
      policy: config.abuse,
      now,
    },
    // A claim must outlive the consumer holding it; Lambda stops the function at its timeout.
    leaseMs: (functionTimeoutSeconds + 30) * 1000,
    now,
  };
}
