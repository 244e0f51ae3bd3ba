import { startEmulator } from '../../local/emulator';
import { announceReady, closeOnSignals, exitWithOneLine } from '../../local/processes/ready-line';

// The local stack's S3 + SQS emulator (fauxqs) alone, for benchmarks that measure one SQS call.
try {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  closeOnSignals(() => emulator.stop());
  announceReady(emulator.url);
} catch (error) {
  exitWithOneLine(error);
}
