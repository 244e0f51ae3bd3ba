import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readBody } from './read-body';

/** Fault bodies are tiny; anything larger is a mistake. */
const maxControlBodyBytes = 64 * 1024;

/** A fault with an optional budget of calls it applies to. */
interface CountedFault {
  readonly times?: number | undefined;
}

/**
 * The faults and call counts of a local server's targets (endpoints or models), and the control
 * API other processes use to change them: `PUT /_faults/{target}` (a fault as JSON), `DELETE
 * /_faults/{target}`, `GET /_stats` → `{"invocations": {target: count}}`.
 */
export class FaultBoard<Fault extends CountedFault, FaultInput = Fault> {
  readonly #schema: z.ZodType<Fault, FaultInput>;
  /** What the targets are called in messages: `endpoint`, `model`. */
  readonly #noun: string;
  readonly #faults = new Map<string, { fault: Fault; left: number | undefined }>();
  readonly #invocations = new Map<string, number>();

  constructor(targets: Iterable<string>, schema: z.ZodType<Fault, FaultInput>, noun: string) {
    this.#schema = schema;
    this.#noun = noun;
    for (const target of targets) this.#invocations.set(target, 0);
  }

  has(target: string): boolean {
    return this.#invocations.has(target);
  }

  /** Sets (or, with `undefined`, clears) a target's fault; throws for an unknown target or invalid fault. */
  set(target: string, fault: FaultInput | undefined): void {
    if (!this.has(target)) throw new Error(`no ${this.#noun} named ${target}`);
    if (fault === undefined) {
      this.#faults.delete(target);
      return;
    }
    const parsed = this.#schema.parse(fault);
    this.#faults.set(target, { fault: parsed, left: parsed.times });
  }

  /** The fault that applies to this call of a target, if any; spends one of its `times`. */
  take(target: string, applies: (fault: Fault) => boolean = () => true): Fault | undefined {
    const entry = this.#faults.get(target);
    if (entry === undefined || !applies(entry.fault)) return undefined;
    if (entry.left !== undefined) {
      entry.left -= 1;
      if (entry.left <= 0) this.#faults.delete(target);
    }
    return entry.fault;
  }

  /** Counts one call of a target. */
  record(target: string): void {
    this.#invocations.set(target, (this.#invocations.get(target) ?? 0) + 1);
  }

  count(target: string): number {
    return this.#invocations.get(target) ?? 0;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.#invocations);
  }

  /**
   * Serves the control API if the path is one of its routes; resolves `false` (body untouched)
   * otherwise. `send` writes a JSON reply in the server's own way.
   */
  async serveControl(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    send: (response: ServerResponse, status: number, body: unknown) => void,
  ): Promise<boolean> {
    if (path === '/_stats' && request.method === 'GET') {
      send(response, 200, { invocations: this.counts() });
      return true;
    }
    if (!path.startsWith('/_faults/')) return false;
    const target = decodePathSegment(path.slice('/_faults/'.length));
    const body = await readBody(request, maxControlBodyBytes);
    if (!this.has(target)) {
      send(response, 404, { message: `unknown ${this.#noun} ${target}` });
    } else if (request.method === 'DELETE') {
      this.#faults.delete(target);
      response.writeHead(204).end();
    } else if (request.method !== 'PUT') {
      send(response, 405, { message: 'use PUT or DELETE' });
    } else if (body.overLimit) {
      send(response, 413, { message: `fault body over ${maxControlBodyBytes} bytes` });
    } else {
      let candidate: unknown;
      try {
        candidate = JSON.parse(body.bytes.toString('utf8'));
      } catch {
        send(response, 400, { message: 'fault body is not valid JSON' });
        return true;
      }
      const parsed = this.#schema.safeParse(candidate);
      if (!parsed.success) {
        send(response, 400, { message: z.prettifyError(parsed.error) });
      } else {
        this.#faults.set(target, { fault: parsed.data, left: parsed.data.times });
        send(response, 200, { [this.#noun]: target, fault: parsed.data });
      }
    }
    return true;
  }
}

/** Decodes a path segment; a malformed escape is kept as sent (it then names nothing). */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
