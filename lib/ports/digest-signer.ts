/** The signature algorithms the audit digest uses (KMS names). */
export type DigestSignatureAlgorithm = 'ECDSA_SHA_256';

/**
 * Signs audit digests. In AWS an asymmetric KMS key that never leaves KMS (`kms:Sign`); locally a
 * key file kept in the local stack's home folder. Signatures are DER-encoded ECDSA over SHA-256
 * of the message, so `crypto.verify('sha256', message, publicKey, signature)` checks either.
 */
export interface DigestSigner {
  /** Names the key in the digest, so a verifier knows which public key to use. */
  readonly keyId: string;
  readonly algorithm: DigestSignatureAlgorithm;
  sign(message: Uint8Array): Promise<Uint8Array>;
}
