/**
 * Who minted a request id. Both halves are UUIDv7; producers writing straight onto the async
 * request queue mint theirs with the bit after the UUID variant set (the fourth group starts with
 * a or b), the gateway mints its own with it clear (8 or 9). A producer's message can then never
 * start a request under an id the gateway gave another request: a synchronous request already in
 * the audit log and the bill, whose record and usage event would have the new request's dropped
 * as duplicates, leaving it run but neither audited nor billed.
 */
const PRODUCER_BIT = 0x2;
/** Where the bit is: the first hex digit of the fourth group (`xxxxxxxx-xxxx-7xxx-Yxxx-…`). */
const AT = 19;

export function isProducerRequestId(requestId: string): boolean {
  return (Number.parseInt(requestId.charAt(AT), 16) & PRODUCER_BIT) !== 0;
}

/** A UUIDv7 moved into the producers' half: what a producer sends as `requestId`. */
export function inProducerSpace(uuid: string): string {
  return withDigit(uuid, Number.parseInt(uuid.charAt(AT), 16) | PRODUCER_BIT);
}

/** A UUIDv7 moved into the gateway's half: every id the gateway mints. */
export function inGatewaySpace(uuid: string): string {
  return withDigit(uuid, Number.parseInt(uuid.charAt(AT), 16) & ~PRODUCER_BIT);
}

function withDigit(uuid: string, digit: number): string {
  return `${uuid.slice(0, AT)}${digit.toString(16)}${uuid.slice(AT + 1)}`;
}
