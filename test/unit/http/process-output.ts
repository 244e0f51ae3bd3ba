import { vi } from 'vitest';

/**
 * Captures what the process writes to standard output and error until `vi.restoreAllMocks()`:
 * Powertools logs through a Console of its own on the process's streams (with POWERTOOLS_DEV
 * unset, as in Lambda), warnings and errors to standard error.
 */
export function captureProcessOutput(): string[] {
  const written: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((text: string | Uint8Array) => {
      written.push(String(text));
      return true;
    });
  }
  return written;
}
