/**
 * Whether X-Ray tracing is wanted, with Powertools' own settings: inside Lambda (`AWS_EXECUTION_ENV`
 * set) unless `POWERTOOLS_TRACE_ENABLED=false` (the local stack, the tests). Apart from
 * `readEnvironment` and its zod schema: the tracer decides when its module loads, also in
 * functions that read nothing else (notFound's bundle carries no zod).
 */
export function isTracingWanted(source: NodeJS.ProcessEnv = process.env): boolean {
  return (source.AWS_EXECUTION_ENV ?? '') !== '' && (source.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() !== 'false';
}
