import asyncHooks from 'node:async_hooks';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * Changes the in-process handler loop can make to its own process, to measure what a part of the
 * hot path costs by taking it away (never used for the headline figures):
 * - `no-cls-hooked`: the X-Ray SDK's cls-hooked namespace gets an inert async hook (tracing is off
 *   locally, so nothing reads it; its init/destroy hooks still run on every promise otherwise);
 * - `stub-sqs`: `SQSClient.send` answers at once without serialising, signing or sending;
 * - `http-fetch`: global `fetch` (undici) replaced by node:http on a keep-alive agent, buffering
 *   the answer into a `Response`, for the backend call.
 */
export type WhatIf = 'no-cls-hooked' | 'stub-sqs' | 'http-fetch';

/** Applied before the handler module is imported (the X-Ray SDK installs its hook at import). */
export async function applyWhatIfs(whatIfs: readonly WhatIf[]): Promise<void> {
  if (whatIfs.includes('no-cls-hooked')) inertClsHooked();
  if (whatIfs.includes('stub-sqs')) await stubSqs();
  if (whatIfs.includes('http-fetch')) fetchOverNodeHttp();
}

function inertClsHooked(): void {
  const createHook = asyncHooks.createHook;
  const inert = { enable: () => inert, disable: () => inert } as unknown as asyncHooks.AsyncHook;
  (asyncHooks as { createHook: typeof createHook }).createHook = (callbacks) =>
    new Error().stack?.includes('cls-hooked') ? inert : createHook(callbacks);
}

async function stubSqs(): Promise<void> {
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  let id = 0;
  SQSClient.prototype.send = function stubbedSend() {
    id += 1;
    return Promise.resolve({ MessageId: `stub-${id}`, $metadata: {} });
  } as typeof SQSClient.prototype.send;
}

function fetchOverNodeHttp(): void {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, noDelay: true });
  globalThis.fetch = (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const outgoing = httpRequest(
        { agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: init?.method ?? 'GET', headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('error', reject);
          answer.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: answer.statusCode ?? 502, headers: flatHeaders(answer.headers) })));
        },
      );
      outgoing.on('error', reject);
      init?.signal?.addEventListener('abort', () => outgoing.destroy(init.signal?.reason as Error), { once: true });
      outgoing.end(typeof init?.body === 'string' ? init.body : undefined);
    });
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}
