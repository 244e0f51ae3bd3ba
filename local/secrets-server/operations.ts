import { z } from 'zod';
import { AwsJsonError, type SecretVault, type StoredParameter, type StoredSecret } from './secret-vault';

/** One AWS JSON operation: its input checked as the service would, its output as the SDK reads it. */
export interface Operation {
  /** Runs the operation on a request body; throws `AwsJsonError` as the service would refuse. */
  handle(vault: SecretVault, body: unknown): unknown;
}

function operation<Input extends z.ZodType>(input: Input, run: (vault: SecretVault, input: z.infer<Input>) => unknown): Operation {
  return {
    handle(vault, body) {
      const parsed = input.safeParse(body);
      if (!parsed.success) throw new AwsJsonError('ValidationException', z.prettifyError(parsed.error));
      return run(vault, parsed.data);
    },
  };
}

const parameterName = z.string().min(1).max(2048);
const secretId = z.string().min(1).max(2048);
const secretValue = {
  SecretString: z.string().max(65_536).optional(),
  SecretBinary: z.string().optional(),
};

/** The JSON protocol's timestamps are epoch seconds. */
const epochSeconds = (date: Date) => date.getTime() / 1000;

function parameterOutput(vault: SecretVault, parameter: StoredParameter, withDecryption: boolean) {
  return {
    Name: parameter.name,
    Type: parameter.type,
    // Without decryption a SecureString reads as its ciphertext, as in Parameter Store.
    Value: parameter.type === 'SecureString' && !withDecryption ? parameter.ciphertext : parameter.value,
    Version: parameter.version,
    LastModifiedDate: epochSeconds(parameter.lastModified),
    ARN: vault.parameterArn(parameter),
    DataType: 'text',
  };
}

function secretVersionOutput(secret: StoredSecret) {
  return { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId };
}

function requireValue(input: { SecretString?: string | undefined; SecretBinary?: string | undefined }) {
  if ((input.SecretString === undefined) === (input.SecretBinary === undefined)) {
    throw new AwsJsonError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
  }
  return { secretString: input.SecretString, secretBinary: input.SecretBinary };
}

const ssmGetParameter = operation(
  z.object({ Name: parameterName, WithDecryption: z.boolean().optional() }),
  (vault, input) => ({ Parameter: parameterOutput(vault, vault.getParameter(input.Name), input.WithDecryption === true) }),
);

const ssmPutParameter = operation(
  z.object({
    Name: parameterName,
    Value: z.string().min(1).max(8192),
    Type: z.enum(['String', 'StringList', 'SecureString']).optional(),
    Overwrite: z.boolean().optional(),
  }),
  (vault, input) => {
    const parameter = vault.putParameter(input.Name, input.Value, { type: input.Type, overwrite: input.Overwrite === true });
    return { Version: parameter.version, Tier: 'Standard' };
  },
);

const ssmDeleteParameter = operation(z.object({ Name: parameterName }), (vault, input) => {
  vault.deleteParameter(input.Name);
  return {};
});

const getSecretValue = operation(
  z.object({ SecretId: secretId, VersionId: z.string().optional(), VersionStage: z.string().optional() }),
  (vault, input) => {
    const secret = vault.getSecret(input.SecretId);
    // Only the current version is kept; asking for another is asking for one that is not there.
    const otherVersion = input.VersionId !== undefined && input.VersionId !== secret.versionId;
    if (otherVersion || (input.VersionStage !== undefined && input.VersionStage !== 'AWSCURRENT')) {
      throw new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label or version.");
    }
    return {
      ...secretVersionOutput(secret),
      ...(secret.secretString === undefined ? { SecretBinary: secret.secretBinary } : { SecretString: secret.secretString }),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: epochSeconds(secret.created),
    };
  },
);

const createSecret = operation(
  z.object({
    Name: z.string().min(1).max(512),
    Description: z.string().optional(),
    KmsKeyId: z.string().optional(),
    ClientRequestToken: z.string().optional(),
    ...secretValue,
  }),
  (vault, input) => secretVersionOutput(vault.createSecret(input.Name, requireValue(input))),
);

const putSecretValue = operation(
  z.object({ SecretId: secretId, ClientRequestToken: z.string().optional(), ...secretValue }),
  (vault, input) => ({ ...secretVersionOutput(vault.putSecretValue(input.SecretId, requireValue(input))), VersionStages: ['AWSCURRENT'] }),
);

const deleteSecret = operation(
  z.object({ SecretId: secretId, ForceDeleteWithoutRecovery: z.boolean().optional(), RecoveryWindowInDays: z.number().optional() }),
  (vault, input) => {
    const secret = vault.deleteSecret(input.SecretId);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: Date.now() / 1000 };
  },
);

/** Operations by `X-Amz-Target`, as the SDK clients send it. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  'AmazonSSM.GetParameter': ssmGetParameter,
  'AmazonSSM.PutParameter': ssmPutParameter,
  'AmazonSSM.DeleteParameter': ssmDeleteParameter,
  'secretsmanager.GetSecretValue': getSecretValue,
  'secretsmanager.CreateSecret': createSecret,
  'secretsmanager.PutSecretValue': putSecretValue,
  'secretsmanager.DeleteSecret': deleteSecret,
};
