import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localSigningKeyId } from '../lib/adapters/key-file-digest-signer';

export interface LocalAuditSigningKey {
  /** P-256 private key (PEM, mode 600): what the local digest function signs with. */
  privateKeyFile: string;
  /** Its public half (PEM): what `modelgate audit verify` checks digests with. */
  publicKeyFile: string;
  keyId: string;
}

/**
 * The local stand-in for the KMS signing key, kept in the stack's home folder so digests signed
 * before a restart still verify after it. In AWS the private key never leaves KMS.
 */
export function readOrCreateAuditSigningKey(dataDir: string): LocalAuditSigningKey {
  const privateKeyFile = join(dataDir, 'audit-signing-key.pem');
  const publicKeyFile = join(dataDir, 'audit-signing-key.pub.pem');
  if (!existsSync(privateKeyFile)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    chmodSync(privateKeyFile, 0o600);
  }
  const publicKey = createPublicKey(createPrivateKey(readFileSync(privateKeyFile, 'utf8')));
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKeyFile, publicKeyFile, keyId: localSigningKeyId(publicKey) };
}
