import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalStack } from '../../local/stack';

describe('npm start\'s local stack', () => {
  it('refuses a busy port with one line naming it', async () => {
    // Prepare: occupy a port.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busyPort = (blocker.address() as { port: number }).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'modelgate-busy-'));
    try {
      // Act / Assess
      await expect(startLocalStack({ dataDir, emulatorPort: busyPort })).rejects.toThrow(
        `port ${busyPort} on 127.0.0.1 is already in use (S3/SQS emulator; set MODELGATE_EMULATOR_PORT)`,
      );
    } finally {
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
