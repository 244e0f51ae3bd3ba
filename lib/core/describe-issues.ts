import type { z } from 'zod';

/** Renders a path as a reader writes it: `endpoints[1].servedEntities[0].weight`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/** One line naming each problem's field, so a caller or operator knows what to fix. */
export function describeIssues(issues: ReadonlyArray<z.core.$ZodIssue>, limit = 3): string {
  const lines = issues.slice(0, limit).map((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key)).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > limit ? ` (and ${issues.length - limit} more)` : '';
  return lines.join('; ') + more;
}
