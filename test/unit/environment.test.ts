import { describe, expect, it } from 'vitest';
import { readEnvironment } from '../../lib/config/environment';

const complete = {
  AUDIT_BUCKET: 'audit-bucket',
  KEYS_TABLE: 'modelgate-dev-keys',
  LIMITS_TABLE: 'modelgate-dev-limits',
  USAGE_TABLE: 'modelgate-dev-usage',
  ABUSE_TABLE: 'modelgate-dev-abuse',
  USAGE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/modelgate-dev-usage',
  AUDIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/modelgate-dev-audit',
};

describe('readEnvironment', () => {
  it('fills defaults for what AWS does not require us to set', () => {
    const env = readEnvironment(complete);
    expect(env).toMatchObject({ AWS_REGION: 'us-east-1', ENDPOINTS_CONFIG: 'config/endpoints.json', S3_FORCE_PATH_STYLE: false, KEY_CACHE_TTL_SECONDS: 30, KEY_NEGATIVE_CACHE_TTL_SECONDS: 5 });
  });

  it('accepts the queue URLs emulators hand out', () => {
    const env = readEnvironment({ ...complete, USAGE_QUEUE_URL: 'http://sqs.us-east-1.127.0.0.1:4566/000000000000/usage' });
    expect(env.USAGE_QUEUE_URL).toContain('127.0.0.1:4566');
  });

  it('names every missing variable', () => {
    expect(() => readEnvironment({ USAGE_QUEUE_URL: complete.USAGE_QUEUE_URL })).toThrow(/AUDIT_BUCKET: .*KEYS_TABLE: .*LIMITS_TABLE: .*USAGE_TABLE: .*ABUSE_TABLE: /);
  });

  it('names a malformed variable', () => {
    expect(() => readEnvironment({ ...complete, S3_FORCE_PATH_STYLE: 'yes' })).toThrow(/S3_FORCE_PATH_STYLE/);
    // A longer lease would outlast the 900 s SQS delays a message sent again after a failed hand-off.
    expect(() => readEnvironment({ ...complete, ASYNC_LEASE_SECONDS: '721' })).toThrow(/ASYNC_LEASE_SECONDS/);
  });
});
