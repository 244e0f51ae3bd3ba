import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { PortInUseError } from './listen';

/** The local stack's DynamoDB (dynalite: DynamoDB's API over an in-memory LevelDB). */
export interface LocalDynamoDb {
  url: string;
  port: number;
  stop(): Promise<void>;
}

type Dynalite = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
// dynalite is CommonJS without types; its factory returns a node:http server.
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

/**
 * Starts dynalite on `host:port` (0 picks a free port). Tables become ACTIVE at once, where
 * DynamoDB takes seconds; everything else is created through the AWS API, as a deployment would.
 */
export async function startDynamoDb(options: { host: string; port: number }): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(options.host, options.port, 'DynamoDB emulator; set MODELGATE_DYNAMODB_PORT') : error),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}`,
    port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
