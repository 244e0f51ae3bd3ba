import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiKeyRecordFor } from '../../lib/core/api-key';
import type { AuditRecord } from '../../lib/core/audit-record';
import { serveAuditRead, type AuditReadDeps, type AuditReadRequest } from '../../lib/core/serve-audit-read';
import { answerBytes, MAX_ANSWER_BYTES } from '../../lib/core/answer-size';
import { archivableRecordFromMessage } from '../../lib/core/audit-log/archivable-record';
import { createAuditArchiveWriter } from '../../lib/core/audit-log/archive-writer';
import { bodyObjectKey } from '../../lib/core/audit-log/layout';
import { sha256Hex } from '../../lib/core/audit-log/sha256';
import { auditRecordFixture } from '../fixtures/audit-records';
import { FakeKeyStore, ManualClock, RecordingAuditSink } from '../fakes/fake-ports';
import { MemoryObjectStore } from '../fakes/memory-object-store';
import { seedAuditLog } from '../fixtures/seed-audit-log';

const AUDITOR = `mgk_${'a'.repeat(43)}`;
const INVOKER = `mgk_${'b'.repeat(43)}`;
const now = new Date('2026-11-21T12:00:00Z');

describe('serveAuditRead (GET /audit/records)', () => {
  const archive = new MemoryObjectStore();
  let requestIds: string[];
  let audit: RecordingAuditSink;
  let deps: AuditReadDeps;

  beforeAll(async () => {
    ({ requestIds } = await seedAuditLog(archive, { records: 200, start: new Date('2026-11-21T10:00:00Z'), spacingMs: 10_000, batchSize: 50 }));
  });

  beforeEach(() => {
    audit = new RecordingAuditSink();
    const keys = new FakeKeyStore([
      apiKeyRecordFor(AUDITOR, { tenant: 'security', roles: ['auditor'], endpoints: [], now }),
      apiKeyRecordFor(INVOKER, { tenant: 'acme', roles: ['invoke'], endpoints: ['*'], now }),
    ]);
    deps = { keys, archive, audit, clock: new ManualClock(now) };
  });

  function request(overrides: Partial<AuditReadRequest>): AuditReadRequest {
    return { requestId: '01a20000-0000-7000-8000-0000000000aa', receivedAt: now, startedAt: 1_000, recordId: undefined, query: {}, authorization: `Bearer ${AUDITOR}`, clientIp: '198.51.100.7', userAgent: 'curl/8', ...overrides };
  }

  const json = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;

  it('shows one record to an auditor, with where it is stored, and audits the read by ids only', async () => {
    // Act
    const outcome = await serveAuditRead(request({ recordId: requestIds[42] }), deps);
    // Assess
    expect(outcome.statusCode).toBe(200);
    expect(json(outcome.body)).toMatchObject({ record: { requestId: requestIds[42] }, location: { objectKey: expect.stringMatching(/^audit\/v1\//), line: expect.any(Number) } });
    expect(audit.records).toEqual([
      expect.objectContaining({
        kind: 'audit-read',
        tenant: 'security',
        endpoint: '/audit/records/{id}',
        status: 200,
        request: expect.objectContaining({ body: { requestId: requestIds[42] } }),
        response: expect.objectContaining({ body: { returned: 1, requestIds: [requestIds[42]] } }),
      }),
    ]);
  });

  it('searches for an auditor, oldest first, with a cursor', async () => {
    const outcome = await serveAuditRead(request({ query: { from: '2026-11-21', tenant: 'acme', limit: '10' } }), deps);
    const body = json(outcome.body) as { records: AuditRecord[]; next: string };
    expect(outcome.statusCode).toBe(200);
    expect(body.records).toHaveLength(10);
    expect(body.records.every((record) => record.tenant === 'acme')).toBe(true);
    expect(body.next).toBe(body.records.at(-1)!.requestId);
    expect((audit.records[0]!.response.body as { requestIds: string[] }).requestIds).toEqual(body.records.map((record) => record.requestId));
  });

  it.each([
    ['a key without the auditor role', { authorization: `Bearer ${INVOKER}` }, 403, 'PERMISSION_DENIED'],
    ['no key', { authorization: undefined }, 401, 'UNAUTHENTICATED'],
    ['an id that is not a request id', { recordId: 'abc' }, 400, 'INVALID_REQUEST'],
    ['an unknown id', { recordId: '01a20000-0000-7000-8000-0000000000ff' }, 404, 'NOT_FOUND'],
    ['a bad filter', { query: { status: '2x' } }, 400, 'INVALID_REQUEST'],
    ['an unknown filter', { query: { tenantt: 'acme' } }, 400, 'INVALID_REQUEST'],
    ['a period too long for the API', { query: { from: '2026-10-01', to: '2026-11-21' } }, 400, 'INVALID_REQUEST'],
  ] as const)('refuses %s and audits the attempt', async (_what, overrides, status, code) => {
    const outcome = await serveAuditRead(request(overrides as Partial<AuditReadRequest>), deps);
    expect(outcome.statusCode).toBe(status);
    expect(json(outcome.body)).toMatchObject({ error: { code, request_id: '01a20000-0000-7000-8000-0000000000aa' } });
    expect(audit.records).toEqual([expect.objectContaining({ kind: 'audit-read', status, errorCode: code })]);
  });

  it('withholds a read that cannot itself be audited (503), and keeps a refusal\'s status', async () => {
    audit.failWith = new Error('queue down');
    const allowed = await serveAuditRead(request({ recordId: requestIds[1] }), deps);
    const refused = await serveAuditRead(request({ recordId: requestIds[1], authorization: `Bearer ${INVOKER}` }), deps);
    expect(allowed.statusCode).toBe(503);
    expect(json(allowed.body)).toMatchObject({ error: { code: 'AUDIT_UNAVAILABLE' } });
    expect(new TextDecoder().decode(allowed.body)).not.toContain(requestIds[1]);
    expect(allowed.handoffError).toBeInstanceOf(Error);
    expect(refused.statusCode).toBe(403);
  });

  describe('answers that would not fit one Lambda response', () => {
    const big = new MemoryObjectStore();
    const time = new Date('2026-11-21T11:00:00Z');
    let bigIds: string[];
    let refId: string;

    beforeAll(async () => {
      // 40 records of about 200 KB each (8 MB in all, twice that escaped: quotes), and one whose two bodies, by reference, are 3 MB each.
      const writer = createAuditArchiveWriter(big);
      const padded = Array.from({ length: 40 }, (_, index) => auditRecordFixture(index, new Date(time.getTime() + index), { request: { bytes: 200_000, body: { text: '"'.repeat(100_000) } } }));
      const bodyText = JSON.stringify({ text: 'y'.repeat(3_000_000) });
      const bytes = new TextEncoder().encode(bodyText);
      const ref = { sha256: sha256Hex(bytes), bytes: bytes.byteLength, s3Key: bodyObjectKey(sha256Hex(bytes)) };
      await big.put(ref.s3Key, bytes);
      const withRefs = auditRecordFixture(99, new Date(time.getTime() + 100), { request: { bytes: ref.bytes, ref }, response: { bytes: ref.bytes, ref } });
      await writer.append([...padded, withRefs].map((record) => archivableRecordFromMessage(JSON.stringify(record))));
      bigIds = padded.map((record) => record.requestId);
      refId = withRefs.requestId;
    });

    it('ends a search page early, within the limit, and its cursor goes on from the last record it holds', async () => {
      // Act: page through the hour.
      const pages: Array<{ bytes: number; records: AuditRecord[]; next: string | null }> = [];
      let after: string | undefined;
      do {
        const outcome = await serveAuditRead(request({ query: { from: '2026-11-21T11:00:00Z', to: '2026-11-21T12:00:00Z', limit: '100', ...(after ? { after } : {}) } }), { ...deps, archive: big });
        const text = new TextDecoder().decode(outcome.body);
        const page = JSON.parse(text) as { records: AuditRecord[]; next: string | null };
        pages.push({ bytes: answerBytes(text), ...page });
        after = page.next ?? undefined;
      } while (after !== undefined && pages.length < 20);
      // Assess: every page fits, each cut page's cursor is its last record, and nothing is lost.
      expect(pages.length).toBeGreaterThan(2);
      for (const page of pages) expect(page.bytes).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
      for (const page of pages.slice(0, -1)) expect(page.next).toBe(page.records.at(-1)!.requestId);
      expect(pages.flatMap((page) => page.records.map((record) => record.requestId))).toEqual([...bigIds, refId]);
    });

    it('keeps bodies too large for one answer as references, and says where to read them', async () => {
      const outcome = await serveAuditRead(request({ recordId: refId }), { ...deps, archive: big });
      expect(outcome.statusCode).toBe(200);
      expect(answerBytes(new TextDecoder().decode(outcome.body))).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
      expect(json(outcome.body)).toMatchObject({ record: { requestId: refId, request: { ref: { s3Key: expect.any(String) } } }, bodiesByReference: expect.stringContaining('modelgate audit show') });
    });
  });
});

