import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** API Gateway's own answers the local API gives, by their gateway response type. */
export type GatewayResponseType = 'MISSING_AUTHENTICATION_TOKEN' | 'REQUEST_TOO_LARGE' | 'INTEGRATION_TIMEOUT' | 'DEFAULT_5XX';

/** What API Gateway answers for each type before serverless.yml customises it. */
const DEFAULTS: Record<GatewayResponseType, { status: number; message: string }> = {
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token' },
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Too Long' },
  INTEGRATION_TIMEOUT: { status: 504, message: 'Endpoint request timed out' },
  DEFAULT_5XX: { status: 502, message: 'Internal server error' },
};

interface GatewayResponseResource {
  Type?: string;
  Properties?: {
    ResponseType?: string;
    StatusCode?: string;
    ResponseParameters?: Record<string, string>;
    ResponseTemplates?: Record<string, string>;
  };
}

/** An answer API Gateway gives itself. */
export interface GatewayAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * API Gateway's own answers (no route, a body too large, a function that crashed or ran out of
 * time) as serverless.yml customises them: its `AWS::ApiGateway::GatewayResponse` resources, with
 * API Gateway's fallback from a specific type to DEFAULT_4XX or DEFAULT_5XX, and its default
 * status and message where nothing is customised. So the local API answers these in the same
 * shape and status as the deployed API.
 */
export function readGatewayResponses(serverlessYmlPath: string): (type: GatewayResponseType, requestId: string) => GatewayAnswer {
  const document = parse(readFileSync(serverlessYmlPath, 'utf8')) as { resources?: { Resources?: Record<string, GatewayResponseResource> } };
  const customised = new Map<string, NonNullable<GatewayResponseResource['Properties']>>();
  for (const resource of Object.values(document.resources?.Resources ?? {})) {
    const properties = resource.Properties;
    if (resource.Type === 'AWS::ApiGateway::GatewayResponse' && properties?.ResponseType) customised.set(properties.ResponseType, properties);
  }
  return (type, requestId) => {
    const defaults = DEFAULTS[type];
    // A type serverless.yml does not customise takes its family's customisation, if any.
    const chosen = customised.get(type) ?? customised.get(defaults.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
    const template = chosen?.ResponseTemplates?.['application/json'];
    const body =
      template === undefined
        ? JSON.stringify({ message: defaults.message })
        : template.replaceAll('$context.requestId', requestId).replaceAll('$context.error.messageString', JSON.stringify(defaults.message));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(chosen?.ResponseParameters ?? {})) {
      const header = /^gatewayresponse\.header\.(.+)$/.exec(name)?.[1];
      const literal = /^'(.*)'$/.exec(value)?.[1];
      if (header !== undefined && literal !== undefined) headers[header] = literal;
    }
    return { status: Number(chosen?.StatusCode ?? defaults.status), headers, body };
  };
}
