import { createKmsClient, createS3Client, createSqsClient } from '../adapters/aws-clients';
import { createKeyFileDigestSigner } from '../adapters/key-file-digest-signer';
import { createKmsDigestSigner } from '../adapters/kms-digest-signer';
import { createS3ObjectStore } from '../adapters/s3-object-store';
import { createSqsAuditSink } from '../adapters/sqs-audit-sink';
import { createSqsUsageSink } from '../adapters/sqs-usage-sink';
import { systemClock } from '../adapters/system-clock';
import { createAuditArchiveWriter, type AuditArchiveWriter } from '../core/audit-log/archive-writer';
import { ConfigError } from '../core/errors';
import type { AuditReadDeps } from '../core/serve-audit-read';
import type { DigestSigner } from '../ports/digest-signer';
import type { ObjectStore } from '../ports/object-store';
import type { UsageSink } from '../ports/usage-sink';
import type { Environment } from './environment';
import { wireKeyStore } from './wire-governance';

/** The audit bucket, every write SSE-KMS with the customer-managed key. */
export function wireAuditStore(env: Environment): ObjectStore {
  return createS3ObjectStore(createS3Client(env, 'background'), { bucket: env.AUDIT_BUCKET, kmsKeyId: env.AUDIT_KMS_KEY_ID });
}

/**
 * The archiver's writer, made once per container (it remembers the chain head and recent batches),
 * and the usage queue it forwards the usage events riding along with the records to.
 */
export function wireAuditArchiver(env: Environment): { writer: AuditArchiveWriter; usage: UsageSink; readersQueueArn: string } {
  if (!env.AUDIT_READS_QUEUE_ARN) throw new ConfigError("Invalid environment: AUDIT_READS_QUEUE_ARN: required by the archiver, which holds what arrives from the readers' queue to audit reads");
  return {
    writer: createAuditArchiveWriter(wireAuditStore(env)),
    usage: createSqsUsageSink(createSqsClient(env), env.USAGE_QUEUE_URL),
    readersQueueArn: env.AUDIT_READS_QUEUE_ARN,
  };
}

/**
 * The digest function's store and signer: the KMS key in AWS, a key file in the local stack.
 * @throws ConfigError when neither is configured.
 */
export function wireAuditDigest(env: Environment): { store: ObjectStore; signer: DigestSigner } {
  let signer: DigestSigner;
  if (env.AUDIT_SIGNING_KEY_ID) signer = createKmsDigestSigner(createKmsClient(env), env.AUDIT_SIGNING_KEY_ID);
  else if (env.AUDIT_SIGNING_KEY_FILE) signer = createKeyFileDigestSigner(env.AUDIT_SIGNING_KEY_FILE);
  else throw new ConfigError('Invalid environment: AUDIT_SIGNING_KEY_ID: required to sign audit digests (or AUDIT_SIGNING_KEY_FILE locally)');
  return { store: wireAuditStore(env), signer };
}

/** The audit API's adapters: keys to authenticate auditors, the log to read, the sink its reads are audited to. */
export function wireAuditReads(env: Environment): AuditReadDeps {
  const s3 = createS3Client(env, 'behind-api-gateway');
  const archive = createS3ObjectStore(s3, { bucket: env.AUDIT_BUCKET, kmsKeyId: env.AUDIT_KMS_KEY_ID });
  return {
    keys: wireKeyStore(env),
    archive,
    audit: createSqsAuditSink(createSqsClient(env), { queueUrl: env.AUDIT_QUEUE_URL, bodies: archive }),
    clock: systemClock,
  };
}
