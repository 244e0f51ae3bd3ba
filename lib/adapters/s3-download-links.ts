import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DownloadLinks } from '../ports/download-links';

/** Presigned GET URLs for objects of one bucket, signed with the function's own (least-privilege) role. */
export function createS3DownloadLinks(client: S3Client, bucket: string): DownloadLinks {
  return {
    urlFor: (key, expiresInSeconds) => getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSeconds }),
  };
}
