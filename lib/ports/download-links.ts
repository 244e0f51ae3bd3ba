/** Short-lived links to stored objects too large to answer inline (S3 presigned GET URLs). */
export interface DownloadLinks {
  urlFor(key: string, expiresInSeconds: number): Promise<string>;
}
