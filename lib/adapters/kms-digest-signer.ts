import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DigestSigner } from '../ports/digest-signer';

/**
 * Signs audit digests with an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`): the private key
 * never leaves KMS, and the digest function's role may only call `kms:Sign` on it. KMS is sent the
 * SHA-256 of the message (`MessageType: DIGEST`), which is what `ECDSA_SHA_256` signs.
 */
export function createKmsDigestSigner(client: KMSClient, keyId: string): DigestSigner {
  return {
    keyId,
    algorithm: 'ECDSA_SHA_256',
    async sign(message) {
      const digest = createHash('sha256').update(message).digest();
      const { Signature } = await client.send(
        new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      if (!Signature) throw new Error(`KMS returned no signature for key ${keyId}`);
      return Signature;
    },
  };
}

/** The public half of a KMS signing key, for `verify` (needs `kms:GetPublicKey`). */
export async function fetchKmsPublicKey(client: KMSClient, keyId: string): Promise<KeyObject> {
  const { PublicKey } = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!PublicKey) throw new Error(`KMS returned no public key for ${keyId}`);
  return createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' });
}
