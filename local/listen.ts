import type { AddressInfo, Server } from 'node:net';

/** A port that is already taken, as one line that names it and how to pick another. */
export class PortInUseError extends Error {
  constructor(host: string, port: number, what: string) {
    super(`port ${port} on ${host} is already in use (${what})`);
    this.name = 'PortInUseError';
  }
}

/** Starts listening; resolves with the bound port (useful with port 0). */
export function listenOrExplain(server: Server, options: { host: string; port: number; what: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(options.host, options.port, options.what) : error);
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
