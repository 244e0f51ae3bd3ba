import { describe, expect, it } from 'vitest';
import { servingEndpointSchema } from '../../lib/core/endpoint-config';
import { pickServedEntity } from '../../lib/core/pick-served-entity';

const endpoint = servingEndpointSchema.parse({
  name: 'churn',
  task: 'custom',
  servedEntities: [
    { name: 'champion', backend: 'sagemaker', endpointName: 'churn-a', weight: 90 },
    { name: 'challenger', backend: 'sagemaker', endpointName: 'churn-b', weight: 10 },
    { name: 'retired', backend: 'sagemaker', endpointName: 'churn-c', weight: 0 },
  ],
});

describe('pickServedEntity', () => {
  it('splits traffic by weight within a percentage point over 10,000 requests', () => {
    // Act
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const entity = pickServedEntity(endpoint, `request-${i}`);
      counts.set(entity.name, (counts.get(entity.name) ?? 0) + 1);
    }
    // Assess
    expect(Math.abs((counts.get('champion') ?? 0) / 10_000 - 0.9)).toBeLessThan(0.01);
    expect(counts.get('retired')).toBeUndefined();
  });

  it('sends the same request id to the same entity every time', () => {
    const first = pickServedEntity(endpoint, '01a1ffdf-4c7a-722e-9d08-568595c6e272');
    for (let i = 0; i < 20; i++) expect(pickServedEntity(endpoint, '01a1ffdf-4c7a-722e-9d08-568595c6e272')).toBe(first);
  });
});
