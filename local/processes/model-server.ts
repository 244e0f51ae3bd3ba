import { startModelServer, type ModelServerOptions } from '../model-server/server';
import { announceReady, closeOnSignals, exitWithOneLine } from './ready-line';

// The local SageMaker runtime. MODEL_SERVER_ENDPOINTS (JSON, endpoint name → model) lets tests
// host extra endpoints, e.g. one to inject faults into.
try {
  const options: ModelServerOptions = { port: Number(process.env.MODELGATE_MODEL_SERVER_PORT ?? 8081) };
  if (process.env.MODEL_SERVER_ENDPOINTS) {
    options.endpoints = JSON.parse(process.env.MODEL_SERVER_ENDPOINTS) as NonNullable<ModelServerOptions['endpoints']>;
  }
  const server = await startModelServer(options);
  closeOnSignals(server.close);
  announceReady(server.url);
} catch (error) {
  exitWithOneLine(error);
}
