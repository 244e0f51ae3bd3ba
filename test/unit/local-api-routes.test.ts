import { describe, expect, it } from 'vitest';
import { buildApiGatewayEvent } from '../../local/api/api-gateway-event';
import { matchRoute, readRoutes } from '../../local/api/routes';

const routes = readRoutes('serverless.yml');

describe('local API routes, read from serverless.yml', () => {
  it('routes an invocation to the invoke function with the endpoint name as path parameter', () => {
    const matched = matchRoute(routes, 'POST', '/serving-endpoints/sentiment/invocations');
    expect(matched?.route.handler).toBe('functions/invoke.handler');
    expect(matched?.pathParameters).toEqual({ name: 'sentiment' });
    // A streaming integration may run to API Gateway's 15-minute streaming limit, no further.
    expect(matched?.route.timeoutSeconds).toBeLessThanOrEqual(900);
  });

  it.each(['/v1/chat/completions', '/v1/completions', '/v1/embeddings'])('routes POST %s to the OpenAI-compatible function', (path) => {
    const matched = matchRoute(routes, 'POST', path);
    expect(matched?.route.handler).toBe('functions/openai.handler');
    expect(matched?.route.resource).toBe(path);
  });

  it('sends every other path and method to the catch-all', () => {
    expect(matchRoute(routes, 'GET', '/serving-endpoints/sentiment/invocations')?.route.functionName).toBe('notFound');
    expect(matchRoute(routes, 'POST', '/v2/anything')?.route.functionName).toBe('notFound');
  });

  it('builds the REST API proxy event a Lambda would receive', () => {
    // Act
    const event = buildApiGatewayEvent({
      method: 'POST',
      path: '/serving-endpoints/iris/invocations',
      query: new URLSearchParams('a=1&a=2'),
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: Buffer.from('{"instances":[1]}'),
      sourceIp: '127.0.0.1',
      resource: '/serving-endpoints/{name}/invocations',
      pathParameters: { name: 'iris' },
      stage: 'local',
    });
    // Assess
    expect(event).toMatchObject({
      httpMethod: 'POST',
      resource: '/serving-endpoints/{name}/invocations',
      pathParameters: { name: 'iris' },
      body: '{"instances":[1]}',
      isBase64Encoded: false,
      multiValueQueryStringParameters: { a: ['1', '2'] },
      requestContext: { stage: 'local', identity: { sourceIp: '127.0.0.1' }, resourcePath: '/serving-endpoints/{name}/invocations' },
    });
  });
});
