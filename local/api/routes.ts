import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** One `http` event of a function in serverless.yml: what API Gateway would route to it. */
export interface Route {
  functionName: string;
  /** `functions/invoke.handler` → module `functions/invoke`, export `handler`. */
  handler: string;
  method: string;
  /** API Gateway resource path, e.g. `/serving-endpoints/{name}/invocations`. */
  resource: string;
  timeoutSeconds: number;
  pattern: RegExp;
  parameterNames: string[];
}

interface ServerlessDocument {
  provider?: { timeout?: number };
  functions?: Record<
    string,
    { handler: string; timeout?: number; events?: Array<{ http?: { method: string; path: string } }> }
  >;
}

/**
 * Reads the API routes from serverless.yml itself, so the local API serves exactly what
 * `serverless deploy` would put behind API Gateway. (serverless.yml uses long-form intrinsic
 * functions, `Fn::GetAtt`, so it parses as plain YAML.)
 */
export function readRoutes(serverlessYmlPath: string): Route[] {
  const document = parse(readFileSync(serverlessYmlPath, 'utf8')) as ServerlessDocument;
  const routes: Route[] = [];
  for (const [functionName, fn] of Object.entries(document.functions ?? {})) {
    for (const event of fn.events ?? []) {
      if (!event.http) continue;
      const resource = `/${event.http.path.replace(/^\//, '')}`;
      const { pattern, parameterNames } = compileResource(resource);
      routes.push({
        functionName,
        handler: fn.handler,
        method: event.http.method.toUpperCase(),
        resource,
        timeoutSeconds: fn.timeout ?? document.provider?.timeout ?? 6,
        pattern,
        parameterNames,
      });
    }
  }
  // API Gateway prefers literal segments over parameters, and parameters over greedy ones.
  return routes.sort((a, b) => specificity(b.resource) - specificity(a.resource));
}

function compileResource(resource: string): { pattern: RegExp; parameterNames: string[] } {
  const parameterNames: string[] = [];
  const source = resource
    .split('/')
    .map((segment) => {
      const greedy = /^\{(\w+)\+\}$/.exec(segment);
      if (greedy?.[1]) {
        parameterNames.push(greedy[1]);
        return '(.+)';
      }
      const parameter = /^\{(\w+)\}$/.exec(segment);
      if (parameter?.[1]) {
        parameterNames.push(parameter[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { pattern: new RegExp(`^${source}/?$`), parameterNames };
}

function specificity(resource: string): number {
  return resource.split('/').reduce((score, segment) => score + (segment.includes('+') ? 0 : segment.startsWith('{') ? 1 : 2), 0);
}

/** Finds the route for a request; `ANY` routes match every method. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  path: string,
): { route: Route; pathParameters: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method && route.method !== 'ANY') continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    const pathParameters: Record<string, string> = {};
    route.parameterNames.forEach((name, i) => {
      pathParameters[name] = decodeURIComponent(match[i + 1] ?? '');
    });
    return { route, pathParameters };
  }
  return undefined;
}
