import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { decodePathSegment, FaultBoard } from '../fault-board';
import { startLocalHttpServer, waitUnlessClosing } from '../local-http-server';
import { readBody } from '../read-body';
import { fragment, writeStream } from '../write-stream';
import { faultApplies, faultSchema, type Fault } from './fault';
import { invokeLlmContainer, type LlmContainerReply } from './llm-container';
import { modelRegistry, type HostedModel, type ModelName } from './models/model-registry';
import { payloadPartMessage, streamExceptionMessage } from './response-stream';
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

export type { Fault } from './fault';
export type { ModelName } from './models/model-registry';

/** How to start the local model server. */
export interface ModelServerOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` (the default) picks a free one. */
  port?: number;
  /** Endpoint name → hosted model; default {@link defaultModelServerEndpoints}. */
  endpoints?: Record<string, ModelName>;
}

/** A running local model server. */
export interface ModelServer {
  /** Base URL to give the SDK as `endpoint`, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  readonly port: number;
  /** Endpoint name → hosted model, as configured. */
  readonly endpoints: Readonly<Record<string, ModelName>>;
  /** Makes invocations of `endpoint` fail, wait or break as `fault` says, until cleared with `undefined` (or its `times` are spent). */
  setFault(endpoint: string, fault: Fault | undefined): void;
  /** Invocations `endpoint` has received, faulted ones included (not those SageMaker rejects up front). */
  invocationCount(endpoint: string): number;
  /** Stops listening, drops open connections and cancels pending delays. */
  close(): Promise<void>;
}

/** The endpoints a server hosts when given none: two classic models and three LLM ones. */
export const defaultModelServerEndpoints: Readonly<Record<string, ModelName>> = {
  'sentiment-v1': 'sentiment',
  'iris-v1': 'iris',
  'chat-llm-v1': 'toy-llm',
  'completions-llm-v1': 'toy-llm',
  'embed-llm-v1': 'toy-embedder',
};

/** InvokeEndpoint's payload limit for real-time endpoints. */
const maxPayloadBytes = 6 * 1024 * 1024;
const defaultVariant = 'AllTraffic';
const invocationsSuffix = '/invocations';
const responseStreamSuffix = '/invocations-response-stream';
const eventStreamContentType = 'application/vnd.amazon.eventstream';

type ParsedFault = z.output<typeof faultSchema>;

interface HostedEndpoint {
  readonly modelName: ModelName;
  readonly hosted: HostedModel;
}

/**
 * Starts a local server that speaks the SageMaker Runtime protocol — InvokeEndpoint and
 * InvokeEndpointWithResponseStream — so the official SDK works against it unchanged, errors
 * included. It hosts real classic models behind MLflow's scoring protocol and the toy LLM behind
 * an OpenAI-compatible LLM container. It also serves `GET /ping`, and a control API for other
 * processes: `PUT|DELETE /_faults/{endpoint}` and `GET /_stats`.
 */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 0;
  const endpointModels = options.endpoints ?? defaultModelServerEndpoints;
  const endpoints = new Map<string, HostedEndpoint>();
  for (const [name, modelName] of Object.entries(endpointModels)) {
    // Checked at run time too: JavaScript callers and config files are not type-checked.
    if (!Object.hasOwn(modelRegistry, modelName)) {
      const known = Object.keys(modelRegistry).join(', ');
      throw new Error(`endpoint ${name} names unknown model '${modelName}' (known: ${known})`);
    }
    endpoints.set(name, { modelName, hosted: modelRegistry[modelName] });
  }
  const board = new FaultBoard<ParsedFault, Fault>(endpoints.keys(), faultSchema, 'endpoint');

  async function route(request: IncomingMessage, response: ServerResponse, closing: AbortSignal): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    const method = request.method ?? 'GET';
    if (method === 'POST' && path.startsWith('/endpoints/')) {
      for (const [suffix, responseStream] of [[invocationsSuffix, false], [responseStreamSuffix, true]] as const) {
        if (path.endsWith(suffix)) {
          const endpointName = decodePathSegment(path.slice('/endpoints/'.length, -suffix.length));
          return invoke(request, response, { endpointName, responseStream, closing });
        }
      }
    }
    if (method === 'GET' && path === '/ping') {
      response.writeHead(200, { 'Content-Length': '0' }).end();
      return;
    }
    if (await board.serveControl(request, response, path, sendJson)) return;
    await readBody(request, 0);
    send(response, unknownOperationReply());
  }

  async function invoke(
    request: IncomingMessage,
    response: ServerResponse,
    { endpointName, responseStream, closing }: { endpointName: string; responseStream: boolean; closing: AbortSignal },
  ): Promise<void> {
    // The whole body is read before any answer, so that a client still sending never sees a reset.
    const body = await readBody(request, maxPayloadBytes);
    const endpoint = endpoints.get(endpointName);
    if (endpoint === undefined) return send(response, endpointNotFoundReply(endpointName));
    if (body.overLimit) return send(response, payloadTooLargeReply(body.size, maxPayloadBytes));
    board.record(endpointName);

    const fault = board.take(endpointName, (candidate) => faultApplies(candidate, responseStream));
    switch (fault?.kind) {
      case 'throttle':
        return send(response, throttlingReply());
      case 'not-ready':
        return send(response, modelNotReadyReply(endpointName));
      case 'unavailable':
        return send(response, serviceUnavailableReply());
      case 'model-error':
        return send(
          response,
          modelErrorReply(endpointName, { status: fault.originalStatus, body: fault.message ?? `Injected model error (${fault.originalStatus})` }),
        );
      case 'delay':
        if (!(await waitUnlessClosing(fault.ms, closing))) return;
        break;
      default:
        break;
    }

    const contentType = request.headers['content-type'];
    const container: LlmContainerReply =
      endpoint.hosted.container === 'mlflow'
        ? invokeScoringContainer(endpoint.hosted.model, body.bytes, contentType)
        : invokeLlmContainer(endpoint.modelName, endpoint.hosted.model, body.bytes, contentType);
    if (container.status >= 300 && 'body' in container) return send(response, modelErrorReply(endpointName, container));
    const variant = headerValue(request, 'x-amzn-sagemaker-target-variant') ?? defaultVariant;

    // What the container sent, as SageMaker relays it: the parts of a stream, or one whole body.
    const malformed = fault?.kind === 'malformed';
    const parts =
      'stream' in container
        ? malformed
          ? [container.stream[0] ?? '', 'data: {"id": "chatcmpl-broken", "choices": [\n\n']
          : container.stream
        : [malformed ? '{"predictions": [' : container.body];
    const partsContentType = 'stream' in container ? 'text/event-stream' : (container.contentType ?? 'application/json');

    if (!responseStream) {
      // InvokeEndpoint buffers a streamed answer: the caller gets the container's whole output.
      return send(response, invocationReply({ status: 200, body: parts.join(''), contentType: partsContentType }, variant));
    }

    const payloads = fault?.kind === 'fragmented-stream' ? fragment(parts, fault.bytes) : parts.map((part) => Buffer.from(part, 'utf8'));
    let events = payloads.map((payload) => payloadPartMessage(new Uint8Array(payload)));
    if (fault?.kind === 'stream-error') {
      const message = fault.message ?? (fault.exception === 'ModelStreamError' ? 'Your model stream has been interrupted.' : 'Internal stream failure.');
      events = [...events.slice(0, fault.afterChunks), streamExceptionMessage(fault.exception, message)];
    }
    if (response.destroyed) return;
    response.writeHead(200, {
      'Content-Type': eventStreamContentType,
      'X-Amzn-SageMaker-Content-Type': partsContentType,
      'x-Amzn-Invoked-Production-Variant': variant,
      'x-amzn-RequestId': randomUUID(),
    });
    await writeStream(response, events, {
      intervalMs: fault?.kind === 'slow-stream' ? fault.intervalMs : undefined,
      cutAfter: fault?.kind === 'stream-cut' ? fault.afterChunks : undefined,
      signal: closing,
    });
  }

  const server = await startLocalHttpServer({
    host,
    port: requestedPort,
    what: 'model server',
    handle: route,
    fail: (response) => send(response, internalFailureReply()),
  });
  return {
    url: server.url,
    port: server.port,
    endpoints: { ...endpointModels },
    setFault: (endpointName, fault) => board.set(endpointName, fault),
    invocationCount: (endpointName) => board.count(endpointName),
    close: server.close,
  };
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
