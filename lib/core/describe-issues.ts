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
  const lines = issues.slice(0, limit).map((reported) => {
    const { issue, fullPath } = closestProblem(reported, []);
    const path = formatPath(fullPath);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key)).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > limit ? ` (and ${issues.length - limit} more)` : '';
  return lines.join('; ') + more;
}

/**
 * What to tell about a value that matched none of a union's shapes ("Invalid input" says nothing):
 * the problem of the shape it came closest to, a shape whose type it had, with the fewest problems
 * (`prompt: ["a", "b"]` is told the array must hold one prompt, not that it is no string). When it
 * had none of the types, the types it could have had.
 */
function closestProblem(issue: z.core.$ZodIssue, prefix: ReadonlyArray<PropertyKey>): { issue: z.core.$ZodIssue; fullPath: PropertyKey[] } {
  const fullPath = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return { issue, fullPath };
  const wrongType = (branch: z.core.$ZodIssue[]) => branch.every((problem) => problem.code === 'invalid_type' && problem.path.length === 0);
  const candidates = issue.errors.filter((branch) => branch.length > 0 && !wrongType(branch));
  if (candidates.length === 0) {
    const expected = [...new Set(issue.errors.flat().map((problem) => (problem.code === 'invalid_type' ? problem.expected : undefined)))].filter(Boolean);
    return { issue: { ...issue, message: `Invalid input: expected ${expected.join(' or ')}` }, fullPath };
  }
  const closest = candidates.reduce((best, branch) => (branch.length < best.length ? branch : best));
  return closestProblem(closest[0]!, fullPath);
}
