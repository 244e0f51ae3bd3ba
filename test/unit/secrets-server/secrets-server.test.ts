import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecretsServer, type SecretsServer } from '../../../local/secrets-server/server';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let server: SecretsServer;
let ssm: SSMClient;
let secretsManager: SecretsManagerClient;
beforeAll(async () => {
  server = await startSecretsServer({ port: 0 });
  ssm = new SSMClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
  secretsManager = new SecretsManagerClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 });
});
afterAll(() => server.close());

describe('local secrets server: SSM Parameter Store', () => {
  it('stores a SecureString through PutParameter and returns it decrypted only when asked', async () => {
    // Prepare
    await ssm.send(new PutParameterCommand({ Name: '/modelgate/test/openai', Value: 'sk-one', Type: 'SecureString' }));
    // Act
    const decrypted = await ssm.send(new GetParameterCommand({ Name: '/modelgate/test/openai', WithDecryption: true }));
    const encrypted = await ssm.send(new GetParameterCommand({ Name: '/modelgate/test/openai' }));
    // Assess
    expect(decrypted.Parameter).toMatchObject({ Name: '/modelgate/test/openai', Type: 'SecureString', Value: 'sk-one', Version: 1 });
    expect(decrypted.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    expect(decrypted.Parameter?.ARN).toBe('arn:aws:ssm:us-east-1:000000000000:parameter/modelgate/test/openai');
    expect(encrypted.Parameter?.Value).not.toContain('sk-one');
  });

  it('finds a parameter by its ARN too', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/modelgate/test/by-arn', Value: 'v', Type: 'String' }));
    const byArn = await ssm.send(new GetParameterCommand({ Name: 'arn:aws:ssm:us-east-1:000000000000:parameter/modelgate/test/by-arn' }));
    expect(byArn.Parameter?.Value).toBe('v');
  });

  it('refuses to overwrite without Overwrite, and versions the parameter with it', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/modelgate/test/rotated', Value: 'old', Type: 'SecureString' }));
    await expect(ssm.send(new PutParameterCommand({ Name: '/modelgate/test/rotated', Value: 'new', Type: 'SecureString' }))).rejects.toBeInstanceOf(
      ParameterAlreadyExists,
    );
    const put = await ssm.send(new PutParameterCommand({ Name: '/modelgate/test/rotated', Value: 'new', Type: 'SecureString', Overwrite: true }));
    expect(put.Version).toBe(2);
  });

  it('answers ParameterNotFound, as the SDK knows it, for a parameter it does not hold', async () => {
    const error = await ssm.send(new GetParameterCommand({ Name: '/modelgate/test/missing', WithDecryption: true })).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ParameterNotFound);
    expect((error as ParameterNotFound).$metadata.httpStatusCode).toBe(400);
  });
});

describe('local secrets server: Secrets Manager', () => {
  it('creates a secret, updates it and returns the current SecretString by name or ARN', async () => {
    // Prepare
    const created = await secretsManager.send(new CreateSecretCommand({ Name: 'modelgate/test/anthropic', SecretString: 'sk-ant-one' }));
    await secretsManager.send(new PutSecretValueCommand({ SecretId: 'modelgate/test/anthropic', SecretString: 'sk-ant-two' }));
    // Act
    const byName = await secretsManager.send(new GetSecretValueCommand({ SecretId: 'modelgate/test/anthropic' }));
    const byArn = await secretsManager.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    // Assess
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:modelgate\/test\/anthropic-.{6}$/);
    expect(byName).toMatchObject({ Name: 'modelgate/test/anthropic', SecretString: 'sk-ant-two', VersionStages: ['AWSCURRENT'] });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect(byArn.SecretString).toBe('sk-ant-two');
  });

  it('answers ResourceExistsException and ResourceNotFoundException as the SDK knows them', async () => {
    await secretsManager.send(new CreateSecretCommand({ Name: 'modelgate/test/twice', SecretString: 'x' }));
    await expect(secretsManager.send(new CreateSecretCommand({ Name: 'modelgate/test/twice', SecretString: 'x' }))).rejects.toBeInstanceOf(
      ResourceExistsException,
    );
    await expect(secretsManager.send(new GetSecretValueCommand({ SecretId: 'modelgate/test/none' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('local secrets server: protocol', () => {
  it('refuses an unsigned request and an unknown operation with AWS JSON errors', async () => {
    // Act
    const unsigned = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.GetParameter' },
      body: JSON.stringify({ Name: '/modelgate/test/openai' }),
    });
    const unknown = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.DescribeParameters', authorization: 'AWS4-HMAC-SHA256 Credential=x' },
      body: '{}',
    });
    // Assess
    expect([unsigned.status, await unsigned.json()]).toEqual([403, { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' }]);
    expect([unknown.status, ((await unknown.json()) as { __type: string }).__type]).toEqual([400, 'UnknownOperationException']);
  });

  it('counts the operations it served, so tests can tell a cached read from a fresh one', async () => {
    const before = server.operationCount('AmazonSSM.GetParameter');
    await ssm.send(new GetParameterCommand({ Name: '/modelgate/test/openai', WithDecryption: true }));
    expect(server.operationCount('AmazonSSM.GetParameter')).toBe(before + 1);
  });
});
