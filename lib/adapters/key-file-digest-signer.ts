import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DigestSigner } from '../ports/digest-signer';

/**
 * A digest signer holding its key in process: the local stack's stand-in for KMS (the key is a
 * P-256 PEM file in the stack's home folder). Same algorithm and signature encoding as KMS
 * `ECDSA_SHA_256`, so digests verify the same way. Not for production: there the private key
 * never leaves KMS.
 */
export function createKeyObjectDigestSigner(privateKey: KeyObject): DigestSigner {
  return {
    keyId: localSigningKeyId(createPublicKey(privateKey)),
    algorithm: 'ECDSA_SHA_256',
    async sign(message) {
      return sign('sha256', message, privateKey);
    },
  };
}

export function createKeyFileDigestSigner(path: string): DigestSigner {
  return createKeyObjectDigestSigner(createPrivateKey(readFileSync(path, 'utf8')));
}

/** A local key's id: `local:` and the start of the SHA-256 of its public key. */
export function localSigningKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `local:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}
