import { describe, expect, it } from 'vitest';
import { parseTimeBound, parseTimeRange } from '../../../lib/core/audit-log/time-bound';
import { parseAuditSearchParams } from '../../../lib/core/audit-log/search-params';

const now = new Date('2026-11-21T12:34:56Z');

describe('time bounds as a security engineer types them', () => {
  it.each([
    ['2026-11-20', 'start', '2026-11-20T00:00:00.000Z'],
    ['2026-11-20', 'end', '2026-11-21T00:00:00.000Z'],
    ['2026-11-20T09:30:00Z', 'start', '2026-11-20T09:30:00.000Z'],
    ['2026-11-20T09:30:00+02:00', 'start', '2026-11-20T07:30:00.000Z'],
    ['90m', 'start', '2026-11-21T11:04:56.000Z'],
    ['6h', 'end', '2026-11-21T06:34:56.000Z'],
    ['7d', 'start', '2026-11-14T12:34:56.000Z'],
    ['now', 'end', '2026-11-21T12:34:56.000Z'],
  ] as const)('%s (%s) is %s', (text, edge, expected) => {
    expect(parseTimeBound(text, edge, now).toISOString()).toBe(expected);
  });

  it.each(['yesterday', '2026-11-20T09:30', '2026-13-45', '2026-02-31', '5 hours', '999999999d', '99999999999d', 'Nov 21 2026 09:30 (Zurich)', '11/21/2026 z', '2026-11-21Z'])('refuses %s, naming the forms it accepts', (text) => {
    expect(() => parseTimeBound(text, 'start', now)).toThrow(/is not a time: use a day \(2026-11-21\)/);
  });

  it('defaults to the last 24 hours and refuses empty, reversed or too long periods', () => {
    expect(parseTimeRange({}, now, 7)).toEqual({ from: new Date('2026-11-20T12:34:56Z'), to: now });
    expect(() => parseTimeRange({ from: '2026-11-21', to: '2026-11-20' }, now, 7)).toThrow(/is not before/);
    expect(() => parseTimeRange({ from: '30d' }, now, 7)).toThrow(/longer than 7 days/);
  });

  it('turns search filters into a query, naming a bad one', () => {
    expect(parseAuditSearchParams({ from: '2026-11-21', tenant: 'acme', key: 'key_1', status: '4XX', limit: '5' }, now, 7)).toEqual({
      from: new Date('2026-11-21T00:00:00Z'),
      to: now,
      tenant: 'acme',
      keyId: 'key_1',
      status: '4xx',
      limit: 5,
    });
    expect(() => parseAuditSearchParams({ limit: '5000' }, now, 7)).toThrow(/limit/);
    expect(() => parseAuditSearchParams({ after: 'nope' }, now, 7)).toThrow(/after: must be a request id/);
  });
});
