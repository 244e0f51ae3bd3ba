import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { faultSchema, type Fault } from './fault';
import { modelRegistry, type ModelName } from './models/model-registry';
import type { ServedModel } from './models/served-model';
import {
  endpointNotFoundReply,
  internalFailureReply,
  invocationReply,
  modelErrorReply,
  modelNotReadyReply,
  payloadTooLargeReply,
  serviceUnavailableReply,
  throttlingReply,
  unknownOperationReply,
  type SageMakerReply,
} from './sagemaker-replies';
import { invokeScoringContainer } from './scoring-container';
import { listenOrExplain } from '../listen';
import { readBody } from '../read-body';

export type { Fault } from './fault';
export type { ModelName } from './models/model-registry';

/** How to start the local model server. */
export interface ModelServerOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` (the default) picks a free one. */
  port?: number;
  /** Endpoint name → hosted model; default `{ 'sentiment-v1': 'sentiment', 'iris-v1': 'iris' }`. */
  endpoints?: Record<string, ModelName>;
}

/** A running local model server. */
export interface ModelServer {
  /** Base URL to give the SDK as `endpoint`, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  readonly port: number;
  /** Endpoint name → hosted model, as configured. */
  readonly endpoints: Readonly<Record<string, ModelName>>;
  /** Makes every invocation of `endpoint` fail or wait as `fault` says, until cleared with `undefined`. */
  setFault(endpoint: string, fault: Fault | undefined): void;
  /** Invocations `endpoint` has received, faulted ones included (not those SageMaker rejects up front). */
  invocationCount(endpoint: string): number;
  /** Stops listening, drops open connections and cancels pending delays. */
  close(): Promise<void>;
}

/** InvokeEndpoint's payload limit for real-time endpoints. */
const maxPayloadBytes = 6 * 1024 * 1024;
/** Fault bodies are tiny; anything larger is a mistake. */
const maxControlBodyBytes = 64 * 1024;
const defaultVariant = 'AllTraffic';
const defaultEndpoints: Readonly<Record<string, ModelName>> = { 'sentiment-v1': 'sentiment', 'iris-v1': 'iris' };

interface HostedEndpoint {
  readonly model: ServedModel;
  fault: Fault | undefined;
  invocations: number;
}

/**
 * Starts a local server that speaks the SageMaker Runtime InvokeEndpoint protocol (so the
 * official SDK works against it unchanged, errors included) and hosts real models behind
 * MLflow's scoring protocol. It also serves `GET /ping`, and a control API for other processes:
 * `PUT|DELETE /_faults/{endpoint}` and `GET /_stats`.
 */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 0;
  const endpointModels = options.endpoints ?? defaultEndpoints;
  const endpoints = new Map<string, HostedEndpoint>();
  for (const [name, modelName] of Object.entries(endpointModels)) {
    // Checked at run time too: JavaScript callers and config files are not type-checked.
    if (!Object.hasOwn(modelRegistry, modelName)) {
      const known = Object.keys(modelRegistry).join(', ');
      throw new Error(`endpoint ${name} names unknown model '${modelName}' (known: ${known})`);
    }
    endpoints.set(name, { model: modelRegistry[modelName], fault: undefined, invocations: 0 });
  }
  // Aborted on close so that requests waiting out a `delay` fault stop waiting.
  const closing = new AbortController();

  const server = createServer({ noDelay: true }, (request, response) => {
    route(request, response).catch(() => {
      if (!response.headersSent) send(response, internalFailureReply());
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    const method = request.method ?? 'GET';
    if (method === 'POST' && path.startsWith('/endpoints/') && path.endsWith('/invocations')) {
      const endpointName = decodePathSegment(path.slice('/endpoints/'.length, -'/invocations'.length));
      return invoke(request, response, endpointName);
    }
    if (method === 'GET' && path === '/ping') {
      response.writeHead(200, { 'Content-Length': '0' }).end();
      return;
    }
    if (path.startsWith('/_faults/')) {
      return controlFault(request, response, decodePathSegment(path.slice('/_faults/'.length)));
    }
    if (method === 'GET' && path === '/_stats') {
      const invocations = Object.fromEntries([...endpoints].map(([name, { invocations: count }]) => [name, count]));
      sendJson(response, 200, { invocations });
      return;
    }
    await readBody(request, 0);
    send(response, unknownOperationReply());
  }

  async function invoke(request: IncomingMessage, response: ServerResponse, endpointName: string): Promise<void> {
    // The whole body is read before any answer, so that a client still sending never sees a reset.
    const body = await readBody(request, maxPayloadBytes);
    const endpoint = endpoints.get(endpointName);
    if (endpoint === undefined) return send(response, endpointNotFoundReply(endpointName));
    if (body.overLimit) return send(response, payloadTooLargeReply(body.size, maxPayloadBytes));
    endpoint.invocations += 1;

    const fault = endpoint.fault;
    if (fault !== undefined) {
      switch (fault.kind) {
        case 'throttle':
          return send(response, throttlingReply());
        case 'not-ready':
          return send(response, modelNotReadyReply(endpointName));
        case 'unavailable':
          return send(response, serviceUnavailableReply());
        case 'model-error':
          return send(
            response,
            modelErrorReply(endpointName, {
              status: fault.originalStatus,
              body: fault.message ?? `Injected model error (${fault.originalStatus})`,
            }),
          );
        case 'delay':
          try {
            await sleep(fault.ms, undefined, { signal: closing.signal });
          } catch {
            return; // the server is closing; its connections are being dropped
          }
          break;
      }
    }

    const container = invokeScoringContainer(endpoint.model, body.bytes, request.headers['content-type']);
    const variant = headerValue(request, 'x-amzn-sagemaker-target-variant') ?? defaultVariant;
    const reply = container.status < 300 ? invocationReply(container, variant) : modelErrorReply(endpointName, container);
    send(response, reply);
  }

  async function controlFault(request: IncomingMessage, response: ServerResponse, endpointName: string): Promise<void> {
    const body = await readBody(request, maxControlBodyBytes);
    const endpoint = endpoints.get(endpointName);
    if (endpoint === undefined) return sendJson(response, 404, { message: `unknown endpoint ${endpointName}` });
    if (request.method === 'DELETE') {
      endpoint.fault = undefined;
      response.writeHead(204).end();
      return;
    }
    if (request.method !== 'PUT') return sendJson(response, 405, { message: 'use PUT or DELETE' });
    if (body.overLimit) return sendJson(response, 413, { message: `fault body over ${maxControlBodyBytes} bytes` });
    let candidate: unknown;
    try {
      candidate = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      return sendJson(response, 400, { message: 'fault body is not valid JSON' });
    }
    const parsed = faultSchema.safeParse(candidate);
    if (!parsed.success) return sendJson(response, 400, { message: z.prettifyError(parsed.error) });
    endpoint.fault = parsed.data;
    sendJson(response, 200, { endpoint: endpointName, fault: parsed.data });
  }

  const port = await listenOrExplain(server, { host, port: requestedPort, what: 'model server' });

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    endpoints: { ...endpointModels },
    setFault(endpointName, fault) {
      const endpoint = endpoints.get(endpointName);
      if (endpoint === undefined) throw new Error(`model server has no endpoint ${endpointName}`);
      endpoint.fault = fault === undefined ? undefined : faultSchema.parse(fault);
    },
    invocationCount(endpointName) {
      return endpoints.get(endpointName)?.invocations ?? 0;
    },
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
      });
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Decodes a path segment; a malformed escape is kept as sent (it then names no endpoint). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(response: ServerResponse, reply: SageMakerReply): void {
  // A caller that gave up (e.g. timed out during a delay) has nobody left to answer.
  if (response.destroyed) return;
  response.writeHead(reply.status, {
    ...reply.headers,
    'Content-Length': Buffer.byteLength(reply.body),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(reply.body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}
