/**
 * How a child process of the local stack tells its parent it is serving: one JSON line on
 * stdout, `{"ready": true, "url": ...}`. Failing to start is one line on stderr and exit 1.
 */
export const READY_PREFIX = '{"ready":true';

export function announceReady(url: string): void {
  process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);
}

export function exitWithOneLine(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

/** Stops the child cleanly when the stack shuts down (Ctrl-C reaches the whole process group). */
export function closeOnSignals(close: () => Promise<void>): void {
  const stop = () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The parent going away (a crash, a killed terminal) must not leave orphans on our ports.
  process.once('disconnect', stop);
}
