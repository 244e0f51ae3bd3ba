import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRunOptions } from '../fixtures/run-cli';

// An async API as the CLI sees it over HTTP, on 127.0.0.1: submissions accepted, and status reads
// that first fail the way a proxy in front of the API does (a 502 page), then succeed.
let server: Server;
let apiUrl: string;
let submitted = 0;
const reads = new Map<string, number>();

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'POST') {
        submitted += 1;
        const id = `01a1fd23-0000-7000-8000-${String(submitted).padStart(12, '0')}`;
        response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ request_id: id, status: 'queued' }));
        return;
      }
      const id = request.url!.split('/').at(-1)!;
      const read = (reads.get(id) ?? 0) + 1;
      reads.set(id, read);
      if (read === 1) {
        response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ request_id: id, status: 'succeeded', status_code: 200, result: { predictions: [1] } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The CLI pointed at the API above, working in `home`. */
function againstTheApi(home: string): CliRunOptions {
  return { env: { MODELGATE_HOME: home, MODELGATE_API_URL: apiUrl, MODELGATE_API_KEY: `mgk_${'a'.repeat(43)}` }, cwd: home };
}

describe('modelgate submit jobs', () => {
  it('reads a status again after a failed read (a 502 page) instead of giving up on every job, and keeps the results to its user', async () => {
    // Act
    const home = mkdtempSync(join(tmpdir(), 'modelgate-submit-'));
    const out = join(home, 'results.jsonl');
    const result = await runCli(['submit', 'jobs', 'sentiment', '--count', '3', '--timeout', '20', '--out', out, '--json'], againstTheApi(home));
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ submitted: 3, accepted: 3, succeeded: 3, unfinished: 0 });
    const jobs = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { requestId: string; status: string });
    expect(jobs.map((job) => job.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  }, 30_000);

  it('refuses an --out that is a directory before submitting anything', async () => {
    const home = mkdtempSync(join(tmpdir(), 'modelgate-submit-'));
    const before = submitted;
    const result = await runCli(['submit', 'jobs', 'sentiment', '--count', '3', '--out', home], againstTheApi(home));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is a directory; name a file');
    expect(submitted).toBe(before);
  });
});
