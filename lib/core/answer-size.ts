/**
 * The most an API answer may hold: a Lambda function answers API Gateway with at most 6 MB, and the
 * JSON text travels in it as a JSON string, escaped (a quote or a backslash takes two bytes there,
 * a control character six).
 */
export const MAX_ANSWER_BYTES = 5_000_000;

/** The bytes JSON text takes inside the Lambda response, as an escaped JSON string. */
export function answerBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text));
}
