import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The endpoint config the local API serves: the given one, with the local providers' default
 * addresses (`http://127.0.0.1:8082` for the OpenAI-compatible server, `:8083` for the Anthropic
 * one, as config/endpoints.json names them) replaced by where they actually listen — another port
 * when `MODELGATE_*_PORT` says so, or a free one in tests. Written to `target`; returns its path.
 */
export function localizeEndpointsConfig(source: string, target: string, addresses: Readonly<Record<string, string>>): string {
  let text = readFileSync(source, 'utf8');
  for (const [configured, actual] of Object.entries(addresses)) {
    // Only whole base URLs in JSON strings: `"http://127.0.0.1:8082` followed by `/` or `"`.
    text = text.replace(new RegExp(`"${escape(configured)}(?=[/"])`, 'g'), `"${actual}`);
  }
  writeFileSync(target, text);
  return target;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
