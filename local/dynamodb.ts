import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { PortInUseError } from './listen';

/** The local stack's DynamoDB: dynalite, in memory. */
export interface LocalDynamoDb {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts dynalite (DynamoDB's API on LevelDB, in memory) on `host:port`. Tables are created
 * through the DynamoDB API by whoever needs them, as a deployment would. dynalite has no
 * transactions and no TTL: the code that runs against it uses neither.
 */
export async function startDynamoDb(options: { host: string; port: number }): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(options.host, options.port, 'DynamoDB emulator; set MODELGATE_DYNAMODB_PORT') : error);
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
