import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbAbuseStore } from '../lib/adapters/dynamodb-abuse-store';
import { createDynamoDbKeyStore } from '../lib/adapters/dynamodb-key-store';
import { createDynamoDbQuotaCounters } from '../lib/adapters/dynamodb-quota-counters';
import { createDynamoDbTenantBudgets } from '../lib/adapters/dynamodb-tenant-budgets';
import { createDynamoDbUsageLedger } from '../lib/adapters/dynamodb-usage-ledger';
import { loadEndpointConfig } from '../lib/config/load-endpoint-config';
import type { EndpointConfig } from '../lib/core/endpoint-config';
import type { AbuseStore } from '../lib/ports/abuse-store';
import type { KeyAdminStore } from '../lib/ports/key-store';
import type { QuotaCounters } from '../lib/ports/quota-counters';
import type { TenantBudgetAdmin } from '../lib/ports/tenant-budgets';
import type { UsageLedger } from '../lib/ports/usage-ledger';
import { NoDeploymentError } from './deployment';

/** The governance tables of one deployment, as the keys, budgets, usage and abuse commands reach them. */
export interface GovernanceDeployment {
  description: string;
  keys: KeyAdminStore;
  budgets: TenantBudgetAdmin;
  counters: QuotaCounters;
  ledger: UsageLedger;
  abuse: AbuseStore;
  /** The endpoint config the deployment serves (price table and currency, abuse rules). */
  config(): EndpointConfig;
}

const TABLE_VARIABLES = ['KEYS_TABLE', 'LIMITS_TABLE', 'USAGE_TABLE', 'ABUSE_TABLE'] as const;

/**
 * Finds the deployment's tables: from KEYS_TABLE, LIMITS_TABLE, USAGE_TABLE and ABUSE_TABLE (a
 * deployed stack's outputs, with the caller's AWS credentials), else from the local stack's
 * `stack.json` in MODELGATE_HOME (default `.modelgate`).
 */
export function resolveGovernanceDeployment(env: NodeJS.ProcessEnv, cwd: string): GovernanceDeployment {
  let variables: Record<string, string | undefined>;
  let description: string;
  let local = false;
  if (env.KEYS_TABLE) {
    const missing = TABLE_VARIABLES.filter((name) => !env[name]);
    if (missing.length > 0) throw new NoDeploymentError(`set ${missing.join(', ')} too (the stack outputs KeysTableName, LimitsTableName, UsageTableName, AbuseTableName)`);
    variables = env;
    description = `tables ${env.KEYS_TABLE} … (${env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1'})`;
  } else {
    const home = resolve(cwd, env.MODELGATE_HOME ?? '.modelgate');
    const stackFile = join(home, 'stack.json');
    if (!existsSync(stackFile)) {
      throw new NoDeploymentError(
        `no deployment found: ${stackFile} does not exist. Start the local stack with "npm start", or point at a deployed one with ` +
          'KEYS_TABLE, LIMITS_TABLE, USAGE_TABLE, ABUSE_TABLE and AWS_REGION (its stack outputs).',
      );
    }
    variables = (JSON.parse(readFileSync(stackFile, 'utf8')) as { environment?: Record<string, string> }).environment ?? {};
    if (!variables.KEYS_TABLE) throw new NoDeploymentError(`${stackFile} names no keys table; restart the local stack`);
    description = `the local stack in ${home}`;
    local = true;
  }
  const region = variables.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  // Keys in the given environment win; otherwise the SDK's usual chain (profiles, SSO, roles).
  const credentials = local
    ? { accessKeyId: variables.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: variables.AWS_SECRET_ACCESS_KEY ?? 'local' }
    : env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region, endpoint: variables.AWS_ENDPOINT_URL_DYNAMODB, credentials, requestHandler: { connectionTimeout: 2_000 } }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const configPath = env.MODELGATE_ENDPOINTS_CONFIG ?? variables.ENDPOINTS_CONFIG ?? 'config/endpoints.json';
  let config: EndpointConfig | undefined;
  return {
    description,
    keys: createDynamoDbKeyStore(client, { tableName: variables.KEYS_TABLE!, cacheTtlMs: 0 }),
    budgets: createDynamoDbTenantBudgets(client, { tableName: variables.LIMITS_TABLE!, cacheTtlMs: 0 }),
    counters: createDynamoDbQuotaCounters(client, { tableName: variables.LIMITS_TABLE! }),
    ledger: createDynamoDbUsageLedger(client, { tableName: variables.USAGE_TABLE! }),
    abuse: createDynamoDbAbuseStore(client, { tableName: variables.ABUSE_TABLE! }),
    config() {
      config ??= loadEndpointConfig(resolve(cwd, configPath));
      return config;
    },
  };
}
