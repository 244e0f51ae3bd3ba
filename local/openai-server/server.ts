import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodePathSegment, FaultBoard } from '../fault-board';
import { startLocalHttpServer, waitUnlessClosing } from '../local-http-server';
import { answerOpenAi, type OpenAiOperation } from '../openai-protocol/answer-openai';
import {
  authenticationError,
  contextLengthError,
  invalidRequestError,
  invalidUrlError,
  modelNotFoundError,
  overloadedError,
  rateLimitError,
  requestTooLargeError,
  serverError,
  type OpenAiErrorReply,
} from '../openai-protocol/openai-error';
import { providerFaultApplies, providerFaultSchema, type ProviderFault } from '../provider-fault';
import { readBody } from '../read-body';
import { toyModelSchema, type ToyModel } from '../toy-llm/toy-model';
import { fragment, writeStream } from '../write-stream';

export type { ProviderFault } from '../provider-fault';
export type { ToyModel } from '../toy-llm/toy-model';

/** How to start the local OpenAI-compatible server. */
export interface OpenAiServerOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` (the default) picks a free one. */
  port?: number;
  /** The key callers must send as `Authorization: Bearer <key>`; without one, no key is asked for (as vLLM without `--api-key`). */
  apiKey?: string;
  /** Model name → toy model; default {@link defaultOpenAiModels}. */
  models?: Record<string, ToyModel>;
}

/** A running local OpenAI-compatible server. */
export interface OpenAiServer {
  /** Root URL, e.g. `http://127.0.0.1:8082`; the OpenAI base URL is this plus `/v1`. */
  readonly url: string;
  readonly port: number;
  readonly models: Readonly<Record<string, ToyModel>>;
  /** Makes calls of `model` fail, wait or break as `fault` says, until cleared with `undefined` (or its `times` are spent). */
  setFault(model: string, fault: ProviderFault | undefined): void;
  /** Calls `model` has received: authenticated, naming it, faulted or refused by the model included. */
  invocationCount(model: string): number;
  /** Stops listening, drops open connections and cancels pending delays. */
  close(): Promise<void>;
}

/** The models a server hosts when given none. */
export const defaultOpenAiModels: Readonly<Record<string, ToyModel>> = {
  'toy-gpt': { kind: 'generate' },
  'toy-gpt-no-usage': { kind: 'generate', omitUsage: true },
  'toy-embedding': { kind: 'embed' },
};

const maxBodyBytes = 8 * 1024 * 1024;
const operations: Readonly<Record<string, OpenAiOperation>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};
/** Every model reports this creation time, so `/v1/models` answers the same on every run. */
const modelCreated = 1_700_000_000;

/**
 * Starts a local server that speaks OpenAI's HTTP API (`/v1/chat/completions`,
 * `/v1/completions`, `/v1/embeddings`, `/v1/models`) with the toy model, so the official
 * `openai` client and the gateway's OpenAI backend work against it unchanged, streams and
 * errors included. Control API for tests: `PUT|DELETE /_faults/{model}`, `GET /_stats`.
 */
export async function startOpenAiServer(options: OpenAiServerOptions = {}): Promise<OpenAiServer> {
  const host = options.host ?? '127.0.0.1';
  const models = new Map<string, ToyModel>();
  for (const [name, model] of Object.entries(options.models ?? defaultOpenAiModels)) {
    // Checked at run time too: models often come from a JSON environment variable.
    models.set(name, toyModelSchema.parse(model));
  }
  const board = new FaultBoard<ProviderFault>(models.keys(), providerFaultSchema, 'model');

  async function route(request: IncomingMessage, response: ServerResponse, closing: AbortSignal): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    const method = request.method ?? 'GET';
    if (await board.serveControl(request, response, path, sendJson)) return;

    const body = await readBody(request, maxBodyBytes);
    if (path.startsWith('/v1/') && options.apiKey !== undefined) {
      const sentKey = bearerToken(request);
      if (sentKey !== options.apiKey) return sendError(response, authenticationError(sentKey));
    }
    const operation = operations[path];
    if (method === 'POST' && operation !== undefined) return invoke(response, operation, body, closing);
    if (method === 'GET' && path === '/v1/models') {
      return sendJson(response, 200, { object: 'list', data: [...models.keys()].map(modelEntry) });
    }
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      const name = decodePathSegment(path.slice('/v1/models/'.length));
      return models.has(name) ? sendJson(response, 200, modelEntry(name)) : sendError(response, modelNotFoundError(name));
    }
    sendError(response, invalidUrlError(method, path));
  }

  async function invoke(
    response: ServerResponse,
    operation: OpenAiOperation,
    body: Awaited<ReturnType<typeof readBody>>,
    closing: AbortSignal,
  ): Promise<void> {
    if (body.overLimit) return sendError(response, requestTooLargeError(maxBodyBytes));
    let payload: unknown;
    try {
      payload = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      return sendError(
        response,
        invalidRequestError(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        ),
      );
    }
    const modelName = isObject(payload) ? payload.model : undefined;
    if (typeof modelName !== 'string') return sendError(response, invalidRequestError('you must provide a model parameter', 'model'));
    const model = models.get(modelName);
    if (model === undefined) return sendError(response, modelNotFoundError(modelName));
    board.record(modelName);

    const streamed = isObject(payload) && payload.stream === true;
    const fault = board.take(modelName, (candidate) => providerFaultApplies(candidate, streamed));
    switch (fault?.kind) {
      case 'throttle':
        return sendError(response, rateLimitError(modelName), fault.retryAfterSeconds);
      case 'unavailable':
        return sendError(response, overloadedError());
      case 'server-error':
        return sendError(response, serverError());
      case 'bad-request':
        return sendError(response, contextLengthError());
      case 'delay':
        if (!(await waitUnlessClosing(fault.ms, closing))) return;
        break;
      default:
        break;
    }

    const answer = answerOpenAi(operation, payload, { modelName, model });
    if (answer.kind === 'error') return sendError(response, answer.error);
    if (answer.kind === 'json') {
      if (fault?.kind === 'malformed') return sendRaw(response, 200, '{"id": "chatcmpl-broken", "object": "chat.compl');
      return sendJson(response, 200, answer.body);
    }

    const frames = answer.chunks.map(sseFrame);
    let events = [...frames, 'data: [DONE]\n\n'];
    if (fault?.kind === 'malformed') events = [frames[0] ?? '', 'data: {"id": "chatcmpl-broken", "choices": [\n\n', 'data: [DONE]\n\n'];
    if (fault?.kind === 'stream-error') events = [...frames.slice(0, fault.afterChunks), sseFrame(serverError().body)];
    const writes = fault?.kind === 'fragmented-stream' ? fragment(events, fault.bytes) : events;
    response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'x-request-id': requestId() });
    await writeStream(response, writes, {
      intervalMs: fault?.kind === 'slow-stream' ? fault.intervalMs : undefined,
      cutAfter: fault?.kind === 'stream-cut' ? fault.afterChunks : undefined,
      signal: closing,
    });
  }

  const server = await startLocalHttpServer({
    host,
    port: options.port ?? 0,
    what: 'OpenAI-compatible server',
    handle: route,
    fail: (response) => sendError(response, serverError()),
  });
  return {
    url: server.url,
    port: server.port,
    models: Object.fromEntries(models),
    setFault: (model, fault) => board.set(model, fault),
    invocationCount: (model) => board.count(model),
    close: server.close,
  };
}

function modelEntry(name: string) {
  return { id: name, object: 'model', created: modelCreated, owned_by: 'modelgate-local' };
}

function sseFrame(chunk: unknown): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requestId(): string {
  return `req_${randomBytes(16).toString('hex')}`;
}

function sendError(response: ServerResponse, error: OpenAiErrorReply, retryAfterSeconds?: number): void {
  sendRaw(response, error.status, JSON.stringify(error.body), retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  sendRaw(response, status, JSON.stringify(body));
}

function sendRaw(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  // A caller that gave up (e.g. timed out during a delay) has nobody left to answer.
  if (response.destroyed) return;
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'x-request-id': requestId(),
    ...headers,
  });
  response.end(body);
}
