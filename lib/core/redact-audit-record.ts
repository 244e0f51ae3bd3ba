import type { AuditedBody, AuditRecord, RedactionSummary } from './audit-record';
import { defaultAuditPolicy, type AuditPolicy } from './audit-policy';
import { applyFieldPath, parseFieldPath, type FieldPath } from './field-path';
import {
  isCardLikeNumber,
  isSecretMemberName,
  maskedMarker,
  maskSensitiveText,
  type DetectionCounts,
  type MaskablePattern,
} from './sensitive-text';

/** Values nested deeper than this are replaced whole: nothing below is inspected, so nothing leaks. */
const MAX_DEPTH = 128;
const TOO_DEEP = '[REDACTED:too-deep]';

interface CompiledPolicy {
  drop: FieldPath[];
  mask: FieldPath[];
  patterns: ReadonlySet<MaskablePattern>;
}

const compiled = new WeakMap<AuditPolicy, CompiledPolicy>();

function compile(policy: AuditPolicy): CompiledPolicy {
  let result = compiled.get(policy);
  if (!result) {
    const { drop, mask, patterns } = policy.redaction;
    result = { drop: drop.map(parseFieldPath), mask: mask.map(parseFieldPath), patterns: new Set(patterns) };
    compiled.set(policy, result);
  }
  return result;
}

/**
 * Applies an endpoint's redaction policy to an audit record, before it is handed to any sink:
 * secrets are masked everywhere; e-mail, phone and card-like values where the policy says so;
 * then the policy's `drop` and `mask` paths are applied to the bodies. The input is not changed.
 * Records what was removed in `redaction` when anything was.
 */
export function redactAuditRecord(record: AuditRecord, policy: AuditPolicy = defaultAuditPolicy()): AuditRecord {
  const { drop, mask, patterns } = compile(policy);
  const detected: DetectionCounts = {};
  const text = (value: string | null): string | null => (value === null ? null : maskSensitiveText(value, patterns, detected));

  const bodies = {
    request: scrubBody(record.request, patterns, detected),
    response: scrubBody(record.response, patterns, detected),
  };
  let dropped = 0;
  let masked = 0;
  for (const path of drop) {
    const body = bodies[path.body];
    if (path.segments.length === 0) {
      // The whole body goes: only its size stays.
      if (body.body !== undefined) dropped += 1;
      delete body.body;
    } else {
      dropped += applyFieldPath(body.body, path.segments, 'drop');
    }
  }
  for (const path of mask) {
    const body = bodies[path.body];
    if (path.segments.length === 0) {
      if (body.body !== undefined) {
        body.body = '[REDACTED]';
        masked += 1;
      }
    } else {
      masked += applyFieldPath(body.body, path.segments, 'mask');
    }
  }

  const redacted: AuditRecord = {
    ...record,
    endpoint: text(record.endpoint) ?? record.endpoint,
    errorMessage: text(record.errorMessage),
    client: { ip: record.client.ip, userAgent: text(record.client.userAgent) },
    request: bodies.request,
    response: bodies.response,
    // The caller's own idempotency key is free text, like a user agent.
    ...(record.async ? { async: { ...record.async, idempotencyKey: text(record.async.idempotencyKey) } } : {}),
  };
  const summary: RedactionSummary = { dropped, masked, detected };
  if (dropped > 0 || masked > 0 || Object.keys(detected).length > 0) redacted.redaction = summary;
  return redacted;
}

function scrubBody(audited: AuditedBody, patterns: ReadonlySet<MaskablePattern>, detected: DetectionCounts): AuditedBody {
  const copy: AuditedBody = { ...audited };
  if (audited.body !== undefined) copy.body = scrub(audited.body, patterns, detected, 0);
  return copy;
}

/** A deep copy of a JSON value with sensitive values masked. */
function scrub(value: unknown, patterns: ReadonlySet<MaskablePattern>, detected: DetectionCounts, depth: number): unknown {
  if (typeof value === 'string') return maskSensitiveText(value, patterns, detected);
  if (typeof value === 'number') {
    if (patterns.has('card') && isCardLikeNumber(value)) {
      detected.card = (detected.card ?? 0) + 1;
      return maskedMarker('card');
    }
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((item) => scrub(item, patterns, detected, depth + 1));
  const copy: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const child = record[name];
    // Member names are mostly short and repeat row after row; only longer ones can hold a value.
    const safeName = name.length < 6 ? name : maskSensitiveText(name, patterns, detected);
    let safeValue: unknown;
    if (isSecretMemberName(name) && child !== null && typeof child !== 'object') {
      detected.secret = (detected.secret ?? 0) + 1;
      safeValue = maskedMarker('secret');
    } else {
      safeValue = scrub(child, patterns, detected, depth + 1);
    }
    // A member named "__proto__" must stay a member instead of changing the copy's prototype.
    if (safeName === '__proto__') Object.defineProperty(copy, safeName, { value: safeValue, enumerable: true, writable: true, configurable: true });
    else copy[safeName] = safeValue;
  }
  return copy;
}
