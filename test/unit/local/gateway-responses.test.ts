import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGatewayResponses } from '../../../local/api/gateway-responses';

const dir = mkdtempSync(join(tmpdir(), 'modelgate-gateway-responses-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function serverlessYml(resources: string): string {
  const path = join(dir, `serverless-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(path, `service: x\nresources:\n  Resources:\n${resources}`);
  return path;
}

describe("the local API's own answers, as serverless.yml customises API Gateway's", () => {
  const answer = readGatewayResponses('serverless.yml');

  it.each([
    ['MISSING_AUTHENTICATION_TOKEN', 404, 'NOT_FOUND'],
    ['REQUEST_TOO_LARGE', 413, 'PAYLOAD_TOO_LARGE'],
    ['INTEGRATION_TIMEOUT', 504, 'GATEWAY_TIMEOUT'],
    ['DEFAULT_5XX', 502, 'INTERNAL_ERROR'],
  ] as const)('answers %s with %i and our JSON error, carrying the request id', (type, status, code) => {
    const { status: answered, headers, body } = answer(type, 'req-1');
    expect(answered).toBe(status);
    expect(headers['content-type']).toBe('application/json');
    expect(JSON.parse(body)).toMatchObject({ error: { code, request_id: 'req-1' } });
  });

  it("falls back to the family's customisation, keeping the type's own status, its message and the family's headers", () => {
    const path = serverlessYml(`    Default4xx:
      Type: AWS::ApiGateway::GatewayResponse
      Properties:
        ResponseType: DEFAULT_4XX
        ResponseParameters: { gatewayresponse.header.x-why: "'gateway'" }
        ResponseTemplates:
          application/json: '{"error":{"code":"REQUEST_REFUSED","message":$context.error.messageString,"request_id":"$context.requestId"}}'
`);
    const { status, headers, body } = readGatewayResponses(path)('MISSING_AUTHENTICATION_TOKEN', 'req-2');
    expect([status, headers['x-why'], JSON.parse(body)]).toEqual([
      403,
      'gateway',
      { error: { code: 'REQUEST_REFUSED', message: 'Missing Authentication Token', request_id: 'req-2' } },
    ]);
  });

  it("answers as API Gateway does by default where nothing is customised", () => {
    const { status, body } = readGatewayResponses(serverlessYml('    Nothing: { Type: AWS::SQS::Queue }\n'))('REQUEST_TOO_LARGE', 'req-3');
    expect([status, JSON.parse(body)]).toEqual([413, { message: 'Request Too Long' }]);
  });
});
