import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultBoard } from '../fault-board';
import { startLocalHttpServer, waitUnlessClosing } from '../local-http-server';
import { providerFaultApplies, providerFaultSchema, type ProviderFault } from '../provider-fault';
import { readBody } from '../read-body';
import { fragment, writeStream } from '../write-stream';
import {
  apiError,
  authenticationError,
  invalidRequestError,
  notFoundError,
  overloadedError,
  promptTooLongError,
  rateLimitError,
  requestTooLargeError,
  type AnthropicErrorReply,
} from './anthropic-error';
import { answerMessages, type MessageStreamEvent } from './answer-messages';

export type { ProviderFault } from '../provider-fault';

/** How to start the local Anthropic-compatible server. */
export interface AnthropicServerOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` (the default) picks a free one. */
  port?: number;
  /** The key callers must send as `x-api-key`; without one, any key (or none) is accepted. */
  apiKey?: string;
  /** Model names served (all by the toy model); default {@link defaultAnthropicModels}. */
  models?: readonly string[];
}

/** A running local Anthropic-compatible server. */
export interface AnthropicServer {
  /** Base URL, e.g. `http://127.0.0.1:8083` (Anthropic's is `https://api.anthropic.com`; paths start with `/v1`). */
  readonly url: string;
  readonly port: number;
  readonly models: readonly string[];
  /** Makes calls of `model` fail, wait or break as `fault` says, until cleared with `undefined` (or its `times` are spent). */
  setFault(model: string, fault: ProviderFault | undefined): void;
  /** Calls `model` has received: authenticated, naming it, faulted or refused by the model included. */
  invocationCount(model: string): number;
  /** Stops listening, drops open connections and cancels pending delays. */
  close(): Promise<void>;
}

/** The models a server hosts when given none. */
export const defaultAnthropicModels: readonly string[] = ['toy-claude'];

/** The `anthropic-version` values the API accepts. */
const knownVersions = new Set(['2023-06-01', '2023-01-01']);
/** The Messages API's request size limit. */
const maxBodyBytes = 32 * 1024 * 1024;

/**
 * Starts a local server that speaks Anthropic's Messages API (`POST /v1/messages`, `GET
 * /v1/models`) with the toy model: `x-api-key` and `anthropic-version` checks, Anthropic's
 * message and error shapes, and its streaming event sequence. Control API for tests:
 * `PUT|DELETE /_faults/{model}`, `GET /_stats`.
 */
export async function startAnthropicServer(options: AnthropicServerOptions = {}): Promise<AnthropicServer> {
  const host = options.host ?? '127.0.0.1';
  const models = [...(options.models ?? defaultAnthropicModels)];
  const board = new FaultBoard<ProviderFault>(models, providerFaultSchema, 'model');

  async function route(request: IncomingMessage, response: ServerResponse, closing: AbortSignal): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    const method = request.method ?? 'GET';
    if (await board.serveControl(request, response, path, sendJson)) return;

    const body = await readBody(request, maxBodyBytes);
    if (path.startsWith('/v1/')) {
      const sentKey = headerValue(request, 'x-api-key');
      if (options.apiKey !== undefined && sentKey !== options.apiKey) return sendError(response, authenticationError(sentKey));
      const version = headerValue(request, 'anthropic-version');
      if (version === undefined) return sendError(response, invalidRequestError('anthropic-version: header is required'));
      if (!knownVersions.has(version)) return sendError(response, invalidRequestError('anthropic-version: invalid version'));
    }
    if (method === 'POST' && path === '/v1/messages') return createMessage(response, body, closing);
    if (method === 'GET' && path === '/v1/models') {
      const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }));
      return sendJson(response, 200, { data, has_more: false, first_id: models[0] ?? null, last_id: models.at(-1) ?? null });
    }
    sendError(response, notFoundError('Not Found'));
  }

  async function createMessage(response: ServerResponse, body: Awaited<ReturnType<typeof readBody>>, closing: AbortSignal): Promise<void> {
    if (body.overLimit) return sendError(response, requestTooLargeError());
    let payload: unknown;
    try {
      payload = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      return sendError(response, invalidRequestError('There was an issue with your request body: it is not valid JSON.'));
    }
    const modelName = isObject(payload) ? payload.model : undefined;
    if (typeof modelName !== 'string') return sendError(response, invalidRequestError('model: Field required'));
    if (!board.has(modelName)) return sendError(response, notFoundError(`model: ${modelName}`));
    board.record(modelName);

    const streamed = isObject(payload) && payload.stream === true;
    const fault = board.take(modelName, (candidate) => providerFaultApplies(candidate, streamed));
    switch (fault?.kind) {
      case 'throttle':
        return sendError(response, rateLimitError(), fault.retryAfterSeconds);
      case 'unavailable':
        return sendError(response, overloadedError());
      case 'server-error':
        return sendError(response, apiError());
      case 'bad-request':
        return sendError(response, promptTooLongError());
      case 'delay':
        if (!(await waitUnlessClosing(fault.ms, closing))) return;
        break;
      default:
        break;
    }

    const answer = answerMessages(payload);
    if (answer.kind === 'error') return sendError(response, answer.error);
    if (answer.kind === 'json') {
      if (fault?.kind === 'malformed') return sendRaw(response, 200, '{"id": "msg_broken", "type": "message", "content": [');
      return sendJson(response, 200, answer.body);
    }

    const frames = answer.events.map(sseFrame);
    let events = frames;
    if (fault?.kind === 'malformed') events = [frames[0] ?? '', 'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {\n\n'];
    if (fault?.kind === 'stream-error') {
      // What the real API sends when it is overloaded mid-stream.
      events = [...frames.slice(0, fault.afterChunks), sseFrame({ event: 'error', data: { ...overloadedError().body } })];
    }
    const writes = fault?.kind === 'fragmented-stream' ? fragment(events, fault.bytes) : events;
    response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'request-id': requestId() });
    await writeStream(response, writes, {
      intervalMs: fault?.kind === 'slow-stream' ? fault.intervalMs : undefined,
      cutAfter: fault?.kind === 'stream-cut' ? fault.afterChunks : undefined,
      signal: closing,
    });
  }

  const server = await startLocalHttpServer({
    host,
    port: options.port ?? 0,
    what: 'Anthropic-compatible server',
    handle: route,
    fail: (response) => sendError(response, apiError()),
  });
  return {
    url: server.url,
    port: server.port,
    models,
    setFault: (model, fault) => board.set(model, fault),
    invocationCount: (model) => board.count(model),
    close: server.close,
  };
}

function sseFrame(event: MessageStreamEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** A header's value; an empty one counts as not sent. */
function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requestId(): string {
  return `req_${randomBytes(12).toString('hex')}`;
}

function sendError(response: ServerResponse, error: AnthropicErrorReply, retryAfterSeconds?: number): void {
  const id = requestId();
  const headers: Record<string, string> = { 'request-id': id };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  sendRaw(response, error.status, JSON.stringify({ ...error.body, request_id: id }), headers);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  sendRaw(response, status, JSON.stringify(body), { 'request-id': requestId() });
}

function sendRaw(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  // A caller that gave up (e.g. timed out during a delay) has nobody left to answer.
  if (response.destroyed) return;
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  response.end(body);
}
