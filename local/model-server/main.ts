import { startModelServer } from './server';

/**
 * Runs the local model server until SIGINT or SIGTERM:
 * `MODEL_SERVER_PORT=8081 npx tsx local/model-server/main.ts`.
 */
const port = readPort('MODEL_SERVER_PORT', 8081);
const server = await startModelServer({ port }).catch((error: unknown) => {
  // A busy port is an operator's everyday mistake: one line, not a stack trace.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
const endpoints = Object.entries(server.endpoints).map(([name, model]) => `${name} (${model})`).join(', ');
console.log(`model server listening on ${server.url} — endpoints: ${endpoints}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('model server did not close cleanly', error);
        process.exit(1);
      },
    );
  });
}

function readPort(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`${variable} must be a port number (0-65535), got '${raw}'`);
  }
  return port;
}
