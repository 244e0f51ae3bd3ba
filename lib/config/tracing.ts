/**
 * Whether X-Ray tracing is wanted, with Powertools' own settings: inside Lambda (`AWS_EXECUTION_ENV`
 * set) unless `POWERTOOLS_TRACE_ENABLED=false` (the local stack, the tests). Apart from
 * `readEnvironment` and its zod schema: the tracer decides when its module loads, also in
 * functions that read nothing else (notFound's bundle carries no zod).
 */
export function isTracingWanted(source: NodeJS.ProcessEnv = process.env): boolean {
  return isInLambda(source) && (source.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() !== 'false';
}

/** Whether this process runs in Lambda itself (which sets `AWS_EXECUTION_ENV`), not on the local stack. */
export function isInLambda(source: { AWS_EXECUTION_ENV?: string | undefined }): boolean {
  return (source.AWS_EXECUTION_ENV ?? '') !== '';
}
