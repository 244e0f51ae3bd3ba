import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretStore } from '../../../lib/adapters/secret-store';
import { ConfigError } from '../../../lib/core/errors';
import { startSecretsServer, type SecretsServer } from '../../../local/secrets-server/server';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const GET_PARAMETER = 'AmazonSSM.GetParameter';
const GET_SECRET_VALUE = 'secretsmanager.GetSecretValue';

let server: SecretsServer;
let clients: { ssm: SSMClient; secretsManager: SecretsManagerClient };
beforeAll(async () => {
  server = await startSecretsServer({ port: 0 });
  clients = {
    ssm: new SSMClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 }),
    secretsManager: new SecretsManagerClient({ region: 'us-east-1', endpoint: server.url, credentials, maxAttempts: 1 }),
  };
});
afterAll(() => server.close());

describe('secret store (SSM and Secrets Manager through the real SDK clients)', () => {
  it('reads a SecureString parameter decrypted and a secret\'s SecretString, trimmed', async () => {
    // Prepare
    server.vault.putParameter('/modelgate/store/openai', 'sk-openai-value\n', { type: 'SecureString' });
    server.vault.createSecret('modelgate/store/anthropic', { secretString: '  sk-ant-value ' });
    const store = createSecretStore({ ...clients, cacheTtlMs: 60_000 });
    // Act
    const fromSsm = await store.read({ ssmParameter: '/modelgate/store/openai' });
    const fromSecretsManager = await store.read({ secretsManager: 'modelgate/store/anthropic' });
    // Assess
    expect([fromSsm, fromSecretsManager]).toEqual(['sk-openai-value', 'sk-ant-value']);
  });

  it('serves a value from its cache (read, or at once with cached) until the TTL passes, then reads the rotated one', async () => {
    // Prepare
    let now = 1_000_000;
    server.vault.putParameter('/modelgate/store/rotating', 'sk-before');
    const store = createSecretStore({ ...clients, cacheTtlMs: 300_000, now: () => now });
    const ref = { ssmParameter: '/modelgate/store/rotating' };
    const before = server.operationCount(GET_PARAMETER);
    // Act
    const cachedBeforeRead = store.cached(ref);
    const first = await store.read(ref);
    server.vault.putParameter('/modelgate/store/rotating', 'sk-after', { overwrite: true });
    now += 299_999;
    const cachedAtOnce = store.cached(ref);
    const cached = await store.read(ref);
    now += 2;
    const cachedAfterTtl = store.cached(ref);
    const reread = await store.read(ref);
    // Assess
    expect([first, cached, reread]).toEqual(['sk-before', 'sk-before', 'sk-after']);
    expect([cachedBeforeRead, cachedAtOnce, cachedAfterTtl]).toEqual([undefined, 'sk-before', undefined]);
    expect(server.operationCount(GET_PARAMETER) - before).toBe(2);
  });

  it('makes one call for many concurrent reads of the same reference', async () => {
    // Prepare
    server.vault.createSecret('modelgate/store/busy', { secretString: 'sk-busy' });
    const store = createSecretStore({ ...clients, cacheTtlMs: 60_000 });
    const before = server.operationCount(GET_SECRET_VALUE);
    // Act
    const values = await Promise.all(Array.from({ length: 20 }, () => store.read({ secretsManager: 'modelgate/store/busy' })));
    // Assess
    expect(new Set(values)).toEqual(new Set(['sk-busy']));
    expect(server.operationCount(GET_SECRET_VALUE) - before).toBe(1);
  });

  it.each([
    [{ ssmParameter: '/modelgate/store/nowhere' }, 'Could not read SSM parameter /modelgate/store/nowhere: ParameterNotFound'],
    [{ secretsManager: 'modelgate/store/nowhere' }, 'Could not read Secrets Manager secret modelgate/store/nowhere: ResourceNotFoundException'],
  ])('throws a ConfigError naming %j when it does not exist', async (ref, message) => {
    const store = createSecretStore({ ...clients, cacheTtlMs: 60_000 });
    const error = await store.read(ref).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(message);
  });

  it('does not cache a failure: the next read tries again and finds a key created since', async () => {
    // Prepare
    const store = createSecretStore({ ...clients, cacheTtlMs: 60_000 });
    const ref = { ssmParameter: '/modelgate/store/late' };
    await expect(store.read(ref)).rejects.toBeInstanceOf(ConfigError);
    server.vault.putParameter('/modelgate/store/late', 'sk-late');
    // Act
    const value = await store.read(ref);
    // Assess
    expect(value).toBe('sk-late');
  });

  it('refuses a binary secret without repeating its contents', async () => {
    server.vault.createSecret('modelgate/store/binary', { secretBinary: Buffer.from('sk-binary').toString('base64') });
    const store = createSecretStore({ ...clients, cacheTtlMs: 60_000 });
    const error = (await store.read({ secretsManager: 'modelgate/store/binary' }).catch((thrown: unknown) => thrown)) as Error;
    expect(error.message).toBe('Secrets Manager secret modelgate/store/binary holds no SecretString (binary secrets are not read)');
  });
});
