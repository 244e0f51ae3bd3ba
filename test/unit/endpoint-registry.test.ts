import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEndpointRegistry } from '../../lib/core/endpoint-registry';
import { ConfigError } from '../../lib/core/errors';
import { loadEndpointRegistry } from '../../lib/config/load-endpoint-registry';

const valid = {
  version: 1,
  endpoints: [
    { name: 'churn', task: 'custom', servedEntities: [{ name: 'churn-v3', backend: 'sagemaker', endpointName: 'churn-prod' }] },
  ],
};

describe('endpoint registry', () => {
  it('indexes valid endpoints by name and fills in defaults', () => {
    // Act
    const registry = createEndpointRegistry(valid);
    // Assess
    const churn = registry.get('churn');
    expect(churn?.timeoutMs).toBe(10_000);
    expect(churn?.maxRequestBytes).toBe(1_048_576);
    expect(churn?.servedEntities[0]?.weight).toBe(100);
    expect(registry.get('nope')).toBeUndefined();
  });

  it('fails loudly naming the offending field', () => {
    // Prepare
    const bad = structuredClone(valid) as { endpoints: Array<Record<string, unknown>> };
    bad.endpoints[0]!.timeoutMs = 60_000;
    // Act / Assess
    expect(() => createEndpointRegistry(bad)).toThrow(ConfigError);
    expect(() => createEndpointRegistry(bad)).toThrow(/endpoints\[0\]\.timeoutMs/);
  });

  it('refuses a stream timeout that leaves the 900 s streaming function no time to audit the stream', () => {
    // Prepare
    const bad = structuredClone(valid) as { endpoints: Array<Record<string, unknown>> };
    bad.endpoints[0]!.streamTimeoutMs = 900_000;
    // Act / Assess
    expect(() => createEndpointRegistry(bad)).toThrow(/endpoints\[0\]\.streamTimeoutMs/);
    bad.endpoints[0]!.streamTimeoutMs = 870_000;
    expect(createEndpointRegistry(bad).get('churn')?.streamTimeoutMs).toBe(870_000);
  });

  it('refuses a queue producer grant for a name no tenant can have', () => {
    const bad = { ...structuredClone(valid), queueProducers: [{ tenant: 'Acme', endpoints: ['churn'] }] };
    expect(() => createEndpointRegistry(bad)).toThrow(/queueProducers\[0\]\.tenant: must be 1-63 lowercase/);
  });

  it('names a misspelt field in a served entity', () => {
    const bad = structuredClone(valid) as { endpoints: Array<{ servedEntities: Array<Record<string, unknown>> }> };
    bad.endpoints[0]!.servedEntities[0]!.endpoint_name = 'x';
    expect(() => createEndpointRegistry(bad)).toThrow(/unknown field endpoints\[0\]\.servedEntities\[0\]\.endpoint_name/);
  });

  it('refuses duplicate endpoint names', () => {
    const bad = { ...valid, endpoints: [valid.endpoints[0], valid.endpoints[0]] };
    expect(() => createEndpointRegistry(bad)).toThrow(/endpoint names must be unique/);
  });

  it('refuses an endpoint whose served entities all have weight 0', () => {
    const bad = structuredClone(valid) as { endpoints: Array<{ servedEntities: Array<Record<string, unknown>> }> };
    bad.endpoints[0]!.servedEntities[0]!.weight = 0;
    expect(() => createEndpointRegistry(bad)).toThrow(/endpoints\[0\]\.servedEntities: at least one served entity/);
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadEndpointRegistry('config/missing.json')).toThrow(/Cannot read endpoint config .*config\/missing\.json/);
  });

  it('refuses in Lambda a config whose providers are on loopback (the local stack\'s), naming them, and takes it locally', () => {
    expect(() => loadEndpointRegistry('config/endpoints.json', { inLambda: true })).toThrow(
      /served entities assistant\/gpt-external, assistant\/claude-external.* call a provider on loopback, which nothing serves in Lambda/,
    );
    expect(loadEndpointRegistry('config/endpoints.json', { inLambda: false }).names()).toContain('assistant');
  });

  it('refuses in Lambda a provider key stored where the stage\'s functions may not read it, naming the entities, and takes keys under the stage', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'modelgate-config-'));
    const entity = (name: string, apiKey: Record<string, string>) => ({ name, backend: 'openai', model: 'gpt-4o-mini', baseUrl: 'https://api.openai.com/v1', apiKey });
    const write = (name: string, servedEntities: unknown[]) => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify({ version: 1, endpoints: [{ name: 'assistant', task: 'chat', servedEntities }] }));
      return path;
    };
    const inside = write('inside.json', [
      entity('by-parameter', { ssmParameter: '/modelgate/prod/openai' }),
      entity('by-secret-name', { secretsManager: 'modelgate/prod/openai' }),
      entity('by-secret-arn', { secretsManager: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:modelgate/prod/openai-AbCdEf' }),
    ]);
    const outside = write('outside.json', [
      entity('other-stage', { ssmParameter: '/modelgate/dev/openai' }),
      entity('elsewhere', { secretsManager: 'team/openai' }),
      entity('fine', { ssmParameter: '/modelgate/prod/openai' }),
    ]);
    try {
      // Act / Assess
      expect(loadEndpointRegistry(inside, { inLambda: true, stage: 'prod' }).names()).toEqual(['assistant']);
      expect(() => loadEndpointRegistry(outside, { inLambda: true, stage: 'prod' })).toThrow(
        /served entities assistant\/other-stage, assistant\/elsewhere keep their API key where stage prod's functions may not read it/,
      );
      // Locally (the stack's stand-ins grant everything), and without a stage to check against, it is taken.
      expect(loadEndpointRegistry(outside, { inLambda: false, stage: 'prod' }).names()).toEqual(['assistant']);
      expect(loadEndpointRegistry(outside, { inLambda: true }).names()).toEqual(['assistant']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['config/endpoints.json', 'test/fixtures/endpoints.json'])('accepts the shipped config %s', (path) => {
    const registry = createEndpointRegistry(JSON.parse(readFileSync(path, 'utf8')));
    expect(registry.names().length).toBeGreaterThan(0);
  });
});
