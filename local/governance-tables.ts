import { readFileSync } from 'node:fs';
import { CreateTableCommand, ResourceInUseException, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';

/** The governance tables, by their logical id in serverless.yml. */
export const GOVERNANCE_TABLES = ['KeysTable', 'LimitsTable', 'UsageTable', 'AbuseTable'] as const;
export type GovernanceTable = (typeof GOVERNANCE_TABLES)[number];

interface TableResource {
  Type: string;
  Properties: {
    TableName: string;
    AttributeDefinitions: CreateTableCommandInput['AttributeDefinitions'];
    KeySchema: CreateTableCommandInput['KeySchema'];
    GlobalSecondaryIndexes?: Array<{ IndexName: string; KeySchema: CreateTableCommandInput['KeySchema']; Projection: { ProjectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE' } }>;
  };
}

/**
 * Creates the governance tables exactly as serverless.yml declares them (keys, attributes and
 * indexes read from its resources, the stage in the name becoming `local`), through the AWS API.
 * Encryption, point-in-time recovery and TTL are AWS's; the emulator has none of them.
 */
export async function createGovernanceTables(client: DynamoDBClient, serverlessYmlPath: string): Promise<Record<GovernanceTable, string>> {
  const document = parse(readFileSync(serverlessYmlPath, 'utf8')) as { resources?: { Resources?: Record<string, TableResource> } };
  const resources = document.resources?.Resources ?? {};
  const names = {} as Record<GovernanceTable, string>;
  for (const logicalId of GOVERNANCE_TABLES) {
    const table = resources[logicalId];
    if (table?.Type !== 'AWS::DynamoDB::Table') throw new Error(`serverless.yml declares no DynamoDB table ${logicalId}`);
    const name = table.Properties.TableName.replace('${sls:stage}', 'local');
    try {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: table.Properties.AttributeDefinitions,
          KeySchema: table.Properties.KeySchema,
          GlobalSecondaryIndexes: table.Properties.GlobalSecondaryIndexes?.map((index) => ({ IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection })),
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    names[logicalId] = name;
  }
  return names;
}
