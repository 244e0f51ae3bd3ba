import { startLocalApi } from '../api/local-api';
import { announceReady, closeOnSignals, exitWithOneLine } from './ready-line';

// The local API Gateway with the real handlers; configured entirely by environment variables,
// exactly as the Lambda functions are.
try {
  const api = await startLocalApi({ port: Number(process.env.MODELGATE_API_PORT ?? 3000), stage: 'local' });
  closeOnSignals(api.close);
  announceReady(api.url);
} catch (error) {
  exitWithOneLine(error);
}
