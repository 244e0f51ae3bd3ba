import { randomBytes, randomUUID } from 'node:crypto';

/** An SSM parameter as Parameter Store keeps it. */
export interface StoredParameter {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  /** What GetParameter answers for a SecureString read without decryption: opaque, never the value. */
  ciphertext: string;
  version: number;
  lastModified: Date;
}

/** A Secrets Manager secret, with only its current version kept. */
export interface StoredSecret {
  name: string;
  arn: string;
  secretString: string | undefined;
  secretBinary: string | undefined;
  versionId: string;
  created: Date;
}

/** A failure the AWS JSON protocol reports as `{"__type": name, "message": ...}`. */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/**
 * The local secrets server's in-memory state: SSM parameters and Secrets Manager secrets, as the
 * real services name, version and refuse them. Seed it directly or through the AWS APIs.
 */
export class SecretVault {
  private readonly parameters = new Map<string, StoredParameter>();
  private readonly secrets = new Map<string, StoredSecret>();

  constructor(private readonly arnPrefix: { ssm: string; secretsManager: string }) {}

  /** PutParameter: a new parameter, or a new version of one when `overwrite` is set. */
  putParameter(name: string, value: string, options: { type?: StoredParameter['type']; overwrite?: boolean } = {}): StoredParameter {
    const existing = this.parameters.get(name);
    if (existing && !options.overwrite) {
      throw new AwsJsonError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
    }
    const parameter: StoredParameter = {
      name,
      type: options.type ?? existing?.type ?? 'SecureString',
      value,
      ciphertext: randomBytes(48).toString('base64'),
      version: (existing?.version ?? 0) + 1,
      lastModified: new Date(),
    };
    this.parameters.set(name, parameter);
    return parameter;
  }

  /** GetParameter by name or ARN. */
  getParameter(nameOrArn: string): StoredParameter {
    let name = nameOrArn;
    let parameter = this.parameters.get(name);
    if (parameter === undefined && nameOrArn.startsWith(`${this.arnPrefix.ssm}/`)) {
      // An ARN names `/a/b` and `a/b` alike (parameter/a/b); the hierarchical form is the likelier.
      name = nameOrArn.slice(this.arnPrefix.ssm.length);
      parameter = this.parameters.get(name) ?? this.parameters.get(name.slice(1));
    }
    if (parameter === undefined) throw new AwsJsonError('ParameterNotFound', `Parameter ${name} not found.`);
    return parameter;
  }

  deleteParameter(name: string): void {
    if (!this.parameters.delete(name)) throw new AwsJsonError('ParameterNotFound', `Parameter ${name} not found.`);
  }

  parameterArn(parameter: StoredParameter): string {
    return `${this.arnPrefix.ssm}${parameter.name.startsWith('/') ? '' : '/'}${parameter.name}`;
  }

  /** CreateSecret: refused when a secret of that name exists. */
  createSecret(name: string, value: { secretString?: string | undefined; secretBinary?: string | undefined }): StoredSecret {
    if (this.secrets.has(name)) throw new AwsJsonError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    // Real secret ARNs end in a dash and six random characters.
    const suffix = randomBytes(6).toString('base64url').slice(0, 6);
    const secret: StoredSecret = {
      name,
      arn: `${this.arnPrefix.secretsManager}${name}-${suffix}`,
      secretString: value.secretString,
      secretBinary: value.secretBinary,
      versionId: randomUUID(),
      created: new Date(),
    };
    this.secrets.set(name, secret);
    return secret;
  }

  /** PutSecretValue: a new current version of an existing secret. */
  putSecretValue(secretId: string, value: { secretString?: string | undefined; secretBinary?: string | undefined }): StoredSecret {
    const secret = this.getSecret(secretId);
    Object.assign(secret, { secretString: value.secretString, secretBinary: value.secretBinary, versionId: randomUUID(), created: new Date() });
    return secret;
  }

  /** A secret by name or full ARN, as GetSecretValue's `SecretId` allows. */
  getSecret(secretId: string): StoredSecret {
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((candidate) => candidate.arn === secretId);
    if (secret === undefined) throw new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  deleteSecret(secretId: string): StoredSecret {
    const secret = this.getSecret(secretId);
    this.secrets.delete(secret.name);
    return secret;
  }
}
