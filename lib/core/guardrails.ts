import { z } from 'zod';

/** Text scanned per request: enough for any prompt worth flagging, bounded so a pattern cannot be made to crawl. */
const SCANNED_CHARACTERS = 200_000;

const contentFlagSchema = z
  .object({
    /** What the flag is called in usage events and abuse findings, e.g. `prompt-injection`. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lowercase letters, digits or "-"'),
    /** A JavaScript regular expression, matched against the request's text. */
    pattern: z.string().min(1).max(500),
    caseSensitive: z.boolean().default(false),
  })
  .strict()
  .transform((flag, context) => {
    try {
      return { name: flag.name, pattern: flag.pattern, regex: new RegExp(flag.pattern, flag.caseSensitive ? 'u' : 'iu') };
    } catch (error) {
      context.addIssue({ code: 'custom', path: ['pattern'], message: `invalid regular expression: ${(error as Error).message}` });
      return z.NEVER;
    }
  });

/**
 * An endpoint's guardrail patterns (`guardrails` on a serving endpoint). A request whose text
 * matches one is served as usual but carries the flag in its usage event; repeated flags are an
 * abuse rule (see `abuse.contentFlags`).
 */
export const guardrailsSchema = z
  .object({
    contentFlags: z
      .array(contentFlagSchema)
      .max(50)
      .default([])
      .refine((flags) => new Set(flags.map((flag) => flag.name)).size === flags.length, 'content flag names must be unique'),
  })
  .strict();

export type Guardrails = z.infer<typeof guardrailsSchema>;

/** Names of the guardrail patterns the request's text matches (its JSON strings, keys excluded). */
export function flagContent(guardrails: Guardrails | undefined, requestJson: unknown): string[] {
  if (!guardrails || guardrails.contentFlags.length === 0 || requestJson === undefined) return [];
  const text = collectText(requestJson);
  return guardrails.contentFlags.filter((flag) => flag.regex.test(text)).map((flag) => flag.name);
}

function collectText(value: unknown): string {
  const parts: string[] = [];
  let length = 0;
  const visit = (node: unknown): void => {
    if (length >= SCANNED_CHARACTERS) return;
    if (typeof node === 'string') {
      parts.push(node);
      length += node.length + 1;
    } else if (Array.isArray(node)) {
      for (const item of node) visit(item);
    } else if (node !== null && typeof node === 'object') {
      for (const item of Object.values(node)) visit(item);
    }
  };
  visit(value);
  return parts.join('\n').slice(0, SCANNED_CHARACTERS);
}
