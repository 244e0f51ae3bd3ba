import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fetchKmsPublicKey } from '../lib/adapters/kms-digest-signer';
import { createS3ObjectStore } from '../lib/adapters/s3-object-store';
import { createSqsAuditSink } from '../lib/adapters/sqs-audit-sink';
import type { AuditSink } from '../lib/ports/audit-sink';
import type { ObjectStore } from '../lib/ports/object-store';

/** The audit log of one deployment, as the CLI reaches it. */
export interface AuditDeployment {
  /** Where it is, for messages: "the local stack in .modelgate" or "bucket x (us-east-1)". */
  description: string;
  store: ObjectStore;
  /** Where the CLI's own reads are recorded (every read of the audit log is audited). */
  readsAudit: AuditSink;
  /** Who is reading, as the audit record of the read names them. */
  reader: string;
  /** The digest signing key's public half and id, for verify. */
  signingKey(override?: string): Promise<{ publicKey: KeyObject; keyId: string | undefined }>;
}

/** Nothing to read from: says how to point the CLI at a deployment. */
export class NoDeploymentError extends Error {
  override name = 'NoDeploymentError';
}

interface StackJson {
  auditBucket?: string;
  auditSigningPublicKeyFile?: string;
  auditSigningKeyId?: string;
  environment?: Record<string, string>;
}

/**
 * Finds the deployment to work on. Environment variables win (a deployed stack: the names its
 * functions use, from the stack's outputs); otherwise the local stack's `stack.json` in
 * MODELGATE_HOME (default `.modelgate`), which `npm start` writes.
 */
export function resolveAuditDeployment(env: NodeJS.ProcessEnv, cwd: string): AuditDeployment {
  const reader = `cli:${safeUser()}@${hostname()}`;
  if (env.AUDIT_BUCKET) {
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    // Keys in the given environment win; otherwise the SDK's usual chain (profiles, SSO, roles).
    const credentials =
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
        : undefined;
    const s3 = new S3Client({ region, endpoint: env.AWS_ENDPOINT_URL_S3, forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true', credentials });
    const store = createS3ObjectStore(s3, { bucket: env.AUDIT_BUCKET, kmsKeyId: env.AUDIT_KMS_KEY_ID });
    return {
      description: `bucket ${env.AUDIT_BUCKET} (${region})`,
      store,
      readsAudit: queueSink(env.AUDIT_READS_QUEUE_URL, new SQSClient({ region, endpoint: env.AWS_ENDPOINT_URL_SQS, credentials }), store),
      reader,
      async signingKey(override) {
        if (override) return { publicKey: readPublicKey(resolve(cwd, override)), keyId: undefined };
        if (env.MODELGATE_AUDIT_PUBLIC_KEY) return { publicKey: readPublicKey(resolve(cwd, env.MODELGATE_AUDIT_PUBLIC_KEY)), keyId: undefined };
        if (!env.AUDIT_SIGNING_KEY_ID) throw new NoDeploymentError('set AUDIT_SIGNING_KEY_ID (the stack output AuditSigningKeyArn) or pass --public-key <pem file>');
        return { publicKey: await fetchKmsPublicKey(new KMSClient({ region, credentials }), env.AUDIT_SIGNING_KEY_ID), keyId: env.AUDIT_SIGNING_KEY_ID };
      },
    };
  }

  const home = resolve(cwd, env.MODELGATE_HOME ?? '.modelgate');
  const stackFile = join(home, 'stack.json');
  if (!existsSync(stackFile)) {
    throw new NoDeploymentError(
      `no deployment found: ${stackFile} does not exist. Start the local stack with "npm start", ` +
        'or point at a deployed one with AUDIT_BUCKET, AUDIT_READS_QUEUE_URL, AUDIT_SIGNING_KEY_ID and AWS_REGION (its stack outputs).',
    );
  }
  const stack = JSON.parse(readFileSync(stackFile, 'utf8')) as StackJson;
  const local = stack.environment ?? {};
  const bucket = stack.auditBucket ?? local.AUDIT_BUCKET;
  if (!bucket) throw new NoDeploymentError(`${stackFile} names no audit bucket; restart the local stack`);
  const region = local.AWS_REGION ?? 'us-east-1';
  const credentials = { accessKeyId: local.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: local.AWS_SECRET_ACCESS_KEY ?? 'local' };
  const s3 = new S3Client({ region, endpoint: local.AWS_ENDPOINT_URL_S3, forcePathStyle: true, credentials, requestHandler: { connectionTimeout: 2_000 } });
  const store = createS3ObjectStore(s3, { bucket, kmsKeyId: local.AUDIT_KMS_KEY_ID });
  const sqs = new SQSClient({ region, endpoint: local.AWS_ENDPOINT_URL_SQS, credentials, requestHandler: { connectionTimeout: 2_000 } });
  return {
    description: `the local stack in ${home}`,
    store,
    readsAudit: queueSink(local.AUDIT_READS_QUEUE_URL, sqs, store),
    reader,
    async signingKey(override) {
      const file = override ? resolve(cwd, override) : stack.auditSigningPublicKeyFile;
      if (!file) throw new NoDeploymentError(`${stackFile} names no signing key; pass --public-key <pem file>`);
      return { publicKey: readPublicKey(isAbsolute(file) ? file : resolve(cwd, file)), keyId: override ? undefined : stack.auditSigningKeyId };
    },
  };
}

function queueSink(queueUrl: string | undefined, sqs: SQSClient, store: ObjectStore): AuditSink {
  if (!queueUrl) {
    return {
      record: async () => {
        throw new NoDeploymentError('set AUDIT_READS_QUEUE_URL (the stack output AuditReadsQueueUrl): every read of the audit log is recorded through it, and this one could not be');
      },
    };
  }
  return createSqsAuditSink(sqs, { queueUrl, bodies: store });
}

function readPublicKey(file: string): KeyObject {
  return createPublicKey(readFileSync(file, 'utf8'));
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
