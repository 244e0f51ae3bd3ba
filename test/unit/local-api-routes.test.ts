import { describe, expect, it } from 'vitest';
import { buildApiGatewayEvent } from '../../local/api/api-gateway-event';
import { matchRoute, readRoutes } from '../../local/api/routes';

const routes = readRoutes('serverless.yml');

describe('local API routes, read from serverless.yml', () => {
  it('routes an invocation to the invoke function with the endpoint name as path parameter', () => {
    const matched = matchRoute(routes, 'POST', '/serving-endpoints/sentiment/invocations');
    expect(matched?.route.handler).toBe('functions/invoke.handler');
    expect(matched?.pathParameters).toEqual({ name: 'sentiment' });
    expect(matched?.route.timeoutSeconds).toBeLessThan(29);
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
