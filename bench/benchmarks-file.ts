import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const INTRO = `# Benchmarks

Figures from the benchmarks in \`bench/\` (not tests; \`npm test\` does not run them). Each section
is rewritten by the benchmark that owns it, between its markers; raw figures are kept as JSON in
\`bench/results/\`. They come from shared development machines, so read them as orders of magnitude
and ratios, not as production numbers.
`;

/**
 * Replaces the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` in BENCHMARKS.md,
 * appending the section when the markers are missing and creating the file when it is, so each
 * benchmark owns its section and leaves the others' alone.
 */
export function writeBenchmarksSection(path: string, name: string, content: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${start}\n${content.trim()}\n${end}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : INTRO;
  const from = current.indexOf(start);
  const to = current.indexOf(end, from);
  const next =
    from !== -1 && to !== -1
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}

/** A run's start as it names the run's files: `2026-12-06T20-07-11Z`. */
export function runStamp(startedAt: Date): string {
  return startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
}

/**
 * Keeps a run's figures as `bench/results/{name}-{stamp}.json` and rewrites the section `name` of
 * BENCHMARKS.md with the report made from them (given the file's path, to name it); returns the report.
 */
export function keepRun(root: string, name: string, startedAt: Date, results: unknown, report: (file: string) => string): string {
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = `bench/results/${name}-${runStamp(startedAt)}.json`;
  writeFileSync(join(root, file), `${JSON.stringify(results, null, 2)}\n`);
  const section = report(file);
  writeBenchmarksSection(join(root, 'BENCHMARKS.md'), name, section);
  return section;
}
