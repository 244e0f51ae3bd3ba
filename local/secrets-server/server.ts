import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOrExplain } from '../listen';
import { readBody } from '../read-body';
import { OPERATIONS } from './operations';
import { AwsJsonError, SecretVault } from './secret-vault';

export { SecretVault } from './secret-vault';

/** How to start the local secrets server. */
export interface SecretsServerOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` (the default) picks a free one. */
  port?: number;
  /** Region and account the ARNs it hands out name; default `us-east-1`, `000000000000`. */
  region?: string;
  account?: string;
}

/** A running local secrets server. */
export interface SecretsServer {
  /** Give the SSM and Secrets Manager clients this as `endpoint`. */
  readonly url: string;
  readonly port: number;
  /** The in-memory parameters and secrets, for seeding without a client. */
  readonly vault: SecretVault;
  /** Requests served for an operation (`AmazonSSM.GetParameter`, ...), refused ones included. */
  operationCount(target: string): number;
  close(): Promise<void>;
}

/** Secrets Manager's limit is 64 KiB per value; nothing legitimate comes near this. */
const maxBodyBytes = 256 * 1024;

/**
 * Starts a local server speaking the AWS JSON 1.1 protocol of SSM Parameter Store
 * (`GetParameter`, `PutParameter`, `DeleteParameter`) and Secrets Manager (`GetSecretValue`,
 * `CreateSecret`, `PutSecretValue`, `DeleteSecret`) on one port, dispatching on `X-Amz-Target`,
 * so the official SDK clients work against it with only their endpoint changed, errors included
 * (`ParameterNotFound`, `ResourceNotFoundException`, ...). It accepts any SigV4 signature but
 * refuses unsigned requests. State lives in memory.
 */
export async function startSecretsServer(options: SecretsServerOptions = {}): Promise<SecretsServer> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '000000000000';
  const vault = new SecretVault({
    ssm: `arn:aws:ssm:${region}:${account}:parameter`,
    secretsManager: `arn:aws:secretsmanager:${region}:${account}:secret:`,
  });
  const counts = new Map<string, number>();

  const server = createServer({ noDelay: true }, (request, response) => {
    serve(request, response).catch(() => {
      if (!response.headersSent) reply(response, 500, { __type: 'InternalServerError', message: 'Internal error' }, 'InternalServerError');
    });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request, maxBodyBytes);
    const target = String(request.headers['x-amz-target'] ?? '');
    counts.set(target, (counts.get(target) ?? 0) + 1);
    try {
      if (request.method !== 'POST') throw new AwsJsonError('UnknownOperationException', 'Use POST', 404);
      if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
        throw new AwsJsonError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      }
      const operation = OPERATIONS[target];
      if (operation === undefined) throw new AwsJsonError('UnknownOperationException', `Unknown operation ${target.slice(0, 100)}`);
      if (body.overLimit) throw new AwsJsonError('ValidationException', `Request body is over ${maxBodyBytes} bytes`);
      let json: unknown;
      try {
        json = JSON.parse(body.bytes.toString('utf8') || '{}');
      } catch {
        throw new AwsJsonError('SerializationException', 'Request body is not valid JSON');
      }
      reply(response, 200, operation.handle(vault, json));
    } catch (error) {
      if (!(error instanceof AwsJsonError)) throw error;
      reply(response, error.status, { __type: error.type, message: error.message }, error.type);
    }
  }

  const port = await listenOrExplain(server, { host, port: options.port ?? 0, what: 'secrets server' });

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    vault,
    operationCount: (target) => counts.get(target) ?? 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function reply(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  response
    .writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
    })
    .end(text);
}
