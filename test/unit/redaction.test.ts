import { describe, expect, it } from 'vitest';
import { auditPolicySchema, defaultAuditPolicy } from '../../lib/core/audit-policy';
import { buildAuditRecord, type AuditRecord } from '../../lib/core/audit-record';
import { createEndpointRegistry } from '../../lib/core/endpoint-registry';
import { applyFieldPath, parseFieldPath } from '../../lib/core/field-path';
import { redactAuditRecord } from '../../lib/core/redact-audit-record';
import { isSecretMemberName, maskSensitiveText, SENSITIVE_TEXT_SCAN } from '../../lib/core/sensitive-text';
import { SECRET_SHAPED } from '../fixtures/secret-shaped';

const encoder = new TextEncoder();

function record(request: unknown, response: unknown = { predictions: ['ok'] }, extra: Partial<Parameters<typeof buildAuditRecord>[0]> = {}): AuditRecord {
  const requestBody = encoder.encode(JSON.stringify(request));
  const responseBody = encoder.encode(JSON.stringify(response));
  return buildAuditRecord({
    requestId: '01a1ffdf-0000-7000-8000-000000000001',
    receivedAt: new Date('2026-11-21T10:00:00Z'),
    endpointName: 'support-bot',
    principal: { keyId: 'key_1', tenant: 'acme', roles: ['invoke'], endpoints: ['*'] },
    servedEntity: 'bot-v1',
    status: 200,
    error: undefined,
    latencyMs: 1,
    backendLatencyMs: 1,
    clientIp: '203.0.113.9',
    userAgent: 'curl/8.5',
    requestBody,
    requestJson: request,
    responseBody,
    responseJson: response,
    ...extra,
  });
}

describe('masking sensitive values in text', () => {
  it.each([
    ['a bearer token', 'Authorization: Bearer abc.def-ghi_jklmnop', 'Authorization: Bearer [REDACTED:secret]'],
    ['a modelgate key', `use mgk_${'A'.repeat(43)} here`, 'use [REDACTED:secret] here'],
    ['an OpenAI-style key', 'key sk-proj-abcdefghijklmnopqrstuvwxyz123456', 'key [REDACTED:secret]'],
    ['an AWS access key id', `id ${SECRET_SHAPED.awsAccessKeyId}.`, 'id [REDACTED:secret].'],
    ['an AWS secret access key', `aws_secret_access_key = ${SECRET_SHAPED.awsSecretAccessKey}`, 'aws_secret_access_key = [REDACTED:secret]'],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', '[REDACTED:secret]'],
    ['a password assignment', 'login with password=hunter22 now', 'login with password=[REDACTED:secret] now'],
    ['a password in a URL', 'postgres://admin:s3cret@db/x', 'postgres://admin:[REDACTED:secret]@db/x'],
    ['a private key', SECRET_SHAPED.privateKeyBlock, '[REDACTED:secret]'],
    ['an e-mail address', 'write to jane.doe+ml@example.co.uk.', 'write to [REDACTED:email].'],
    ['an e-mail address right after a token', `sk-${'a'.repeat(30)}x.john@example.com`, '[REDACTED:secret].[REDACTED:email]'],
    ['an e-mail address right after a phone number', '+1 555 123 4567.john@example.com', '[REDACTED:phone].[REDACTED:email]'],
    ['a password in a URL whose scheme follows a dash or digits', 'see -redis://default:pw@cache:6379 or 2.postgres://admin:hunter2@db', 'see -redis://default:[REDACTED:secret]@cache:6379 or 2.postgres://admin:[REDACTED:secret]@db'],
    ['a card number with spaces', 'card 4111 1111 1111 1111 exp', 'card [REDACTED:card] exp'],
    ['a card number without', 'pan=5500005555555559', 'pan=[REDACTED:card]'],
    ['an international phone number', 'call +44 20 7946 0958', 'call [REDACTED:phone]'],
    ['a North American phone number', 'call (415) 555-2671 or 415.555.2671', 'call [REDACTED:phone] or [REDACTED:phone]'],
  ])('masks %s', (_what, text, expected) => {
    expect(maskSensitiveText(text)).toBe(expected);
  });

  it.each([
    ['an AWS access key id of letters only', SECRET_SHAPED.awsAccessKeyIdOfLetters],
    ['a Google API key of letters only', SECRET_SHAPED.googleApiKeyOfLetters],
  ])('masks %s standing alone, with nothing beside it that looks sensitive', (_what, text) => {
    expect(maskSensitiveText(text)).toBe('[REDACTED:secret]');
  });

  it.each([
    ['a bearer token', 'Bearer abcdefghijkl', 'Bearer [REDACTED:secret]'],
    ['a token after a tab', 'token\tabcdefghijkl', 'token\t[REDACTED:secret]'],
    ['a modelgate key', `mgk_${'a'.repeat(24)}`, '[REDACTED:secret]'],
    ['an OpenAI-style key', `sk-${'a'.repeat(24)}`, '[REDACTED:secret]'],
    ['a Stripe key', `sk_live_${'a'.repeat(20)}`, '[REDACTED:secret]'],
    ['a GitHub token', `ghp_${'a'.repeat(36)}`, '[REDACTED:secret]'],
    ['a GitHub fine-grained token', `github_pat_${'a'.repeat(30)}`, '[REDACTED:secret]'],
    ['a Slack token', `xoxb-${'a'.repeat(20)}`, '[REDACTED:secret]'],
    ['a JWT', `eyJ${'a'.repeat(10)}.eyJ${'b'.repeat(10)}.${'c'.repeat(12)}`, '[REDACTED:secret]'],
  ])('masks %s of letters only, standing alone', (_what, text, expected) => {
    expect(maskSensitiveText(text)).toBe(expected);
  });

  it('looks for every pattern wherever one could match: the cheap guard before the scan never skips such a text', () => {
    // Every text of one, two or three of the parts the patterns are made of.
    const parts = ['sk-', 'sk_live_', 'rk_test_', 'mgk_', 'ghp_', 'github_pat_', 'xoxb-', 'AIza', 'AKIA', 'ASIA', 'eyJ', '.', '-', '_', '+',
      '-----BEGIN PRIVATE KEY-----', '-----END PRIVATE KEY-----', 'Bearer', 'BASIC', 'token', ' ', '\t', '\n',
      'password', 'api_key', 'secret', 'aws_secret_access_key', '=', ':', '//', '@', 'example.com', '"', '(',
      '1', '4111 1111 1111 1111', 'a', 'abcdefghij', 'ABCDEFGHIJKLMNOP', 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ', 'eyJabcdef.eyJabcdef.abcdefghij'];
    const { pattern, guard } = SENSITIVE_TEXT_SCAN;
    let matched = 0;
    const skipped: string[] = [];
    const check = (text: string) => {
      pattern.lastIndex = 0;
      const matches = pattern.test(text);
      pattern.lastIndex = 0;
      if (!matches) return;
      matched += 1;
      if (!guard.test(text)) skipped.push(text);
    };
    for (const a of parts) {
      check(a);
      for (const b of parts) {
        check(a + b);
        for (const c of parts) check(a + b + c);
      }
    }
    // And every spelling of every key's prefix and scheme word the patterns take, made of letters
    // only after it, alone, after a word and after a bracket.
    const keyPrefixes = [
      'sk-', 'sk-proj-', 'sk-ant-', 'mgk_', 'github_pat_', 'AIza', 'eyJabcdef.eyJabcdef.',
      ...['sk', 'rk', 'pk'].flatMap((kind) => [`${kind}_live_`, `${kind}_test_`]),
      ...[...'pousr'].map((kind) => `gh${kind}_`),
      ...[...'abposr'].map((kind) => `xox${kind}-`),
      ...['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AIDA', 'AROA', 'AIPA', 'ANPA', 'ANVA', 'APKA'],
      ...['Bearer ', 'bearer\t', 'BASIC ', 'Token\n'],
    ];
    for (const prefix of keyPrefixes) {
      for (const tail of ['abcdefghijklmnopqrstuvwxyzABCDEFGHIJ', 'ABCDEFGHIJKLMNOP']) for (const lead of ['', 'a ', '(']) check(lead + prefix + tail);
    }
    expect(skipped.slice(0, 5)).toEqual([]);
    // Enough texts must match for the check to mean anything.
    expect(matched).toBeGreaterThan(5_000);
  });

  it.each([
    ['dates and times', '2026-11-21T10:15:30.000Z on 2026-11-21'],
    ['request ids', '01a1ffdf-0000-7000-8000-000000000001 and 12345678-1234-7123-8123-123456789012'],
    ['IP addresses and versions', '203.0.113.9 v1.2.3'],
    ['measurements and short numbers', '5.1 3.5 1.4 0.2, 1234567, 12345678901'],
    ['a 16-digit number that fails the card check', 'order 4111111111111112'],
    ['ordinary prose about tokens', 'the model used 512 tokens and the token budget'],
  ])('leaves %s alone', (_what, text) => {
    expect(maskSensitiveText(text)).toBe(text);
  });

  it.each([
    ['a run of dotted words without an @', 'a.'.repeat(100_000)],
    ['a run of digits', '1'.repeat(200_000)],
    ['schemes without a URL', 'a+'.repeat(100_000)],
    ['private key headers without an end', '-----BEGIN PRIVATE KEY-----'.repeat(30_000)],
  ])('scans %s (200 kB and more) in linear time (a quadratic scan took minutes, and the request went unaudited)', (_what, text) => {
    const started = performance.now();
    expect(maskSensitiveText(text)).toBe(text);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('still masks a private key whose body runs to a few kilobytes, and an e-mail address right after other text', () => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${'MIIJKAIBAAKCAgEA'.repeat(200)}\n-----END RSA PRIVATE KEY-----`;
    expect(maskSensitiveText(`key: ${key} done`)).toBe('key: [REDACTED:secret] done');
    expect(maskSensitiveText('(mail: jane@example.com)')).toBe('(mail: [REDACTED:email])');
  });

  it('masks e-mail, phone and card values only when the policy asks; secrets always', () => {
    const text = 'jane@example.com +1 415 555 2671 4111111111111111 Bearer abcdefghijkl';
    expect(maskSensitiveText(text, new Set())).toBe('jane@example.com +1 415 555 2671 4111111111111111 Bearer [REDACTED:secret]');
  });
});

describe('field paths', () => {
  it('parses members, indexes, wildcards, quoted and deep members', () => {
    expect(parseFieldPath('request.dataframe_records[*].email').segments).toEqual([
      { kind: 'member', name: 'dataframe_records' },
      { kind: 'anyElement' },
      { kind: 'member', name: 'email' },
    ]);
    expect(parseFieldPath('$.response..ssn["full name"][0].*')).toMatchObject({
      body: 'response',
      segments: [{ kind: 'deepMember', name: 'ssn' }, { kind: 'member', name: 'full name' }, { kind: 'index', index: 0 }, { kind: 'anyMember' }],
    });
  });

  it.each([['body.x', /must start with "request" or "response"/], ['request.', /expected a member name/], ['request[x]', /unexpected/], ['request["a]', /unterminated/]])(
    'refuses %s',
    (source, message) => {
      expect(() => parseFieldPath(source)).toThrow(message);
    },
  );

  it('drops array elements and members, masks values, and counts them', () => {
    const body = { rows: [{ a: 1, b: 2 }, { a: 3 }], meta: { a: 'x', deep: { a: 'y' } } };
    expect(applyFieldPath(body, parseFieldPath('request.rows[*].a').segments, 'mask')).toBe(2);
    expect(applyFieldPath(body, parseFieldPath('request..a').segments, 'drop')).toBe(4);
    expect(body).toEqual({ rows: [{ b: 2 }, {}], meta: { deep: {} } });
    expect(applyFieldPath(body, parseFieldPath('request.rows[0]').segments, 'drop')).toBe(1);
    expect(body.rows).toEqual([{}]);
  });
});

describe('the audit policy in the endpoint config', () => {
  it('defaults to fail-closed auditing with every pattern masked', () => {
    expect(defaultAuditPolicy()).toEqual({ required: true, redaction: { drop: [], mask: [], patterns: ['email', 'phone', 'card'] } });
    const registry = createEndpointRegistry({ version: 1, endpoints: [{ name: 'x', task: 'custom', servedEntities: [{ name: 'x-v1', backend: 'sagemaker', endpointName: 'x' }] }] });
    expect(registry.get('x')?.audit).toEqual(defaultAuditPolicy());
  });

  it('names a bad field path or an unknown pattern with where it is', () => {
    const config = (audit: unknown) => ({ version: 1, endpoints: [{ name: 'x', task: 'custom', audit, servedEntities: [{ name: 'x-v1', backend: 'sagemaker', endpointName: 'x' }] }] });
    expect(() => createEndpointRegistry(config({ redaction: { mask: ['body.ssn'] } }))).toThrow(/endpoints\[0\]\.audit\.redaction\.mask\[0\]: invalid field path: must start with "request" or "response"/);
    expect(() => createEndpointRegistry(config({ redaction: { patterns: ['ssn'] } }))).toThrow(/endpoints\[0\]\.audit\.redaction\.patterns\[0\]/);
    expect(() => createEndpointRegistry(config({ required: 'no' }))).toThrow(/endpoints\[0\]\.audit\.required/);
    expect(auditPolicySchema.parse({ required: false })).toMatchObject({ required: false, redaction: { patterns: ['email', 'phone', 'card'] } });
  });
});

describe('redactAuditRecord', () => {
  const policy = auditPolicySchema.parse({
    redaction: { drop: ['request.params.debug', 'response..internal'], mask: ['request.dataframe_records[*].name'] },
  });

  it('masks secrets, e-mails, phones and cards in bodies, member names, messages and the user agent, then drops and masks by path', () => {
    // Prepare
    const original = record(
      {
        dataframe_records: [{ name: 'Jane Roe', email: 'jane@example.com', note: 'call +1 415 555 2671' }],
        params: { debug: true, api_key: 'plain-looking-value', 'ops@example.com': 1 },
        card: 4111111111111111,
      },
      { predictions: [{ label: 'ok', internal: { score: 1 } }] },
      { error: { code: 'MODEL_REJECTED_INPUT', message: 'cannot parse jane@example.com' }, userAgent: 'bot (admin@example.com)' },
    );
    const snapshot = structuredClone(original);
    // Act
    const redacted = redactAuditRecord(original, policy);
    // Assess
    expect(redacted.request.body).toEqual({
      dataframe_records: [{ name: '[REDACTED]', email: '[REDACTED:email]', note: 'call [REDACTED:phone]' }],
      params: { api_key: '[REDACTED:secret]', '[REDACTED:email]': 1 },
      card: '[REDACTED:card]',
    });
    expect(redacted.response.body).toEqual({ predictions: [{ label: 'ok' }] });
    expect(redacted.errorMessage).toBe('cannot parse [REDACTED:email]');
    expect(redacted.client.userAgent).toBe('bot ([REDACTED:email])');
    expect(redacted.redaction).toEqual({ dropped: 2, masked: 1, detected: { email: 4, phone: 1, secret: 1, card: 1 } });
    expect(redacted.request.bytes).toBe(original.request.bytes);
    expect(original).toEqual(snapshot);
  });

  it('can drop a whole body, keeping its size', () => {
    const redacted = redactAuditRecord(record({ inputs: ['private'] }), auditPolicySchema.parse({ redaction: { drop: ['request'] } }));
    expect(redacted.request).toEqual({ bytes: 22 });
  });

  it('adds nothing when nothing was redacted', () => {
    expect(redactAuditRecord(record({ instances: [[1, 2]] })).redaction).toBeUndefined();
  });

  it('replaces absurdly deep values whole instead of failing the request', () => {
    const text = `{"inputs": ${'['.repeat(3_000)}"jane@example.com"${']'.repeat(3_000)}}`;
    const original = { ...record({}), request: { bytes: text.length, body: JSON.parse(text) as unknown } };
    const redacted = redactAuditRecord(original);
    expect(JSON.stringify(redacted.request.body)).not.toContain('jane@example.com');
    expect(JSON.stringify(redacted.request.body)).toContain('[REDACTED:too-deep]');
  });

  it('still knows the member names of credentials after callers have sent thousands of names of their own', () => {
    // Prepare: more names than the member-name memo keeps.
    for (let i = 0; i < 3_000; i += 1) isSecretMemberName(`field_${i}`);
    // Act
    const redacted = redactAuditRecord(record({ new_field_3001: 'kept', 'Client-Secret': 'plain-looking-value', apiKey: 'plain-looking-value' }));
    // Assess
    expect(redacted.request.body).toEqual({ new_field_3001: 'kept', 'Client-Secret': '[REDACTED:secret]', apiKey: '[REDACTED:secret]' });
  });

  it('keeps a member called __proto__ as data', () => {
    const body = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const redacted = redactAuditRecord(record(body));
    expect(Object.keys(redacted.request.body as object)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
