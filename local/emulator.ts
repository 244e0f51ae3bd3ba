import type { AddressInfo } from 'node:net';
import { buildApp } from 'fauxqs';
import { PortInUseError } from './listen';

/** The S3 + SQS emulator of the local stack. */
export interface LocalEmulator {
  url: string;
  port: number;
  /**
   * Stops answering (connections are refused, as when S3 and SQS are unreachable) while keeping
   * every bucket, object, queue and message: the fail-closed tests stop the emulator with this.
   */
  pause(): Promise<void>;
  /** Answers again on the same port, with the same state. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs (S3 + SQS in memory) on `host:port`. Built from fauxqs's app rather than its
 * `startFauxqs`, which listens on every interface and cannot pause.
 */
export async function startEmulator(options: { host: string; port: number }): Promise<LocalEmulator> {
  const app = buildApp({ logger: false, host: options.host });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(options.host, options.port, 'S3/SQS emulator; set MODELGATE_EMULATOR_PORT');
    }
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  let paused = false;
  return {
    url: `http://${options.host}:${port}`,
    port,
    async pause() {
      if (paused) return;
      paused = true;
      app.server.closeAllConnections();
      await new Promise<void>((resolve) => app.server.close(() => resolve()));
    },
    async resume() {
      if (!paused) return;
      await new Promise<void>((resolve, reject) => {
        app.server.once('error', reject);
        app.server.listen(port, options.host, () => {
          app.server.off('error', reject);
          resolve();
        });
      });
      paused = false;
    },
    async stop() {
      if (!paused) app.server.closeAllConnections();
      // A paused server is already closed; fastify's own close then only has hooks left to run.
      await app.close().catch((error: unknown) => {
        if (!paused) throw error;
      });
    },
  };
}
