import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { createS3KeyStore } from '../lib/adapters/s3-key-store';
import { generateApiKey } from '../lib/core/api-key';

// Stopgap until the key CLI (issue 6): registers one API key in a deployed stack's key bucket,
// stored as a hash, and prints the key once. Uses the caller's AWS credentials and region.
//   npx tsx deploy/create-api-key.ts --bucket <KeysBucketName> --kms-key <DataKeyArn> --tenant acme --endpoints sentiment,iris
const { values } = parseArgs({
  options: {
    bucket: { type: 'string' },
    'kms-key': { type: 'string' },
    tenant: { type: 'string' },
    endpoints: { type: 'string', default: '*' },
  },
});
if (!values.bucket || !values['kms-key'] || !values.tenant) {
  console.error('usage: npx tsx deploy/create-api-key.ts --bucket <KeysBucketName> --kms-key <DataKeyArn> --tenant <tenant> [--endpoints a,b | "*"]');
  process.exit(2);
}

const { apiKey, record } = generateApiKey({
  tenant: values.tenant,
  roles: ['invoke'],
  endpoints: values.endpoints.split(',').map((name) => name.trim()),
  now: new Date(),
});
const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
await createS3KeyStore(s3, { bucket: values.bucket, kmsKeyId: values['kms-key'] }).save(record);
s3.destroy();
console.error(`registered ${record.keyId} for tenant ${record.tenant} (endpoints: ${record.endpoints.join(', ')}); the key is shown once:`);
console.log(apiKey);
