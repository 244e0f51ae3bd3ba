import { asArray, propertyAt, refersTo, referencedIds, resourcesOfType, statementsOf, type CfnTemplate, type PolicyStatement } from './cloudformation-template';

/** Where a policy statement sits, for findings a reader can locate. */
export interface LocatedStatement {
  where: string;
  /** The resource type holding the policy (a KMS key policy reads `Resource: "*"` as "this key"). */
  holderType: string;
  statement: PolicyStatement;
}

/** Every statement of every policy document in the template: identity and resource policies alike. */
export function allPolicyStatements(template: CfnTemplate): LocatedStatement[] {
  const located: LocatedStatement[] = [];
  const add = (where: string, holderType: string, document: unknown) => {
    statementsOf(document).forEach((statement, index) => located.push({ where: `${where}[${statement.Sid ?? index}]`, holderType, statement }));
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        for (const policy of asArray(properties.Policies as Array<Record<string, unknown>> | undefined)) {
          add(`${id}.${String(policy.PolicyName)}`, resource.Type, policy.PolicyDocument);
        }
        break;
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::IAM::RolePolicy':
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
        add(id, resource.Type, properties.PolicyDocument);
        break;
      case 'AWS::KMS::Key':
        add(id, resource.Type, properties.KeyPolicy);
        break;
    }
  }
  return located;
}

/**
 * Actions that act on no resource, or whose resource cannot be named in IAM: AWS documents
 * `Resource: "*"` as required for them. Nothing else may be granted on everything.
 */
export const ACTIONS_THAT_NEED_ANY_RESOURCE = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'cloudwatch:PutMetricData']);

/** Allow statements granting `Action: "*"` (or NotAction, which grants all but a few). */
export function findWildcardActions(template: CfnTemplate): string[] {
  return allPolicyStatements(template)
    .filter(({ statement }) => statement.Effect === 'Allow')
    .flatMap(({ where, statement }) => {
      if (statement.NotAction !== undefined) return [`${where}: Allow with NotAction`];
      return asArray(statement.Action).includes('*') ? [`${where}: Action "*"`] : [];
    });
}

/**
 * Allow statements on `Resource: "*"` (or NotResource) for actions that can be scoped. A KMS key
 * policy is exempt: there `"*"` means the key the policy is attached to.
 */
export function findWildcardResources(template: CfnTemplate): string[] {
  return allPolicyStatements(template)
    .filter(({ statement, holderType }) => statement.Effect === 'Allow' && holderType !== 'AWS::KMS::Key')
    .flatMap(({ where, statement }) => {
      if (statement.NotResource !== undefined) return [`${where}: Allow with NotResource`];
      if (!asArray(statement.Resource).includes('*')) return [];
      const scopable = asArray(statement.Action).filter((action) => !ACTIONS_THAT_NEED_ANY_RESOURCE.has(action));
      return scopable.length > 0 ? [`${where}: Resource "*" for ${scopable.join(', ')}`] : [];
    });
}

/** Logical id of the role each function runs as (`Role: { Fn::GetAtt: [X, Arn] }`). */
export function functionRoles(template: CfnTemplate): Map<string, string | undefined> {
  const roles = new Map<string, string | undefined>();
  for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    roles.set(id, [...referencedIds(fn.Properties?.Role)].find((roleId) => template.Resources[roleId]?.Type === 'AWS::IAM::Role'));
  }
  return roles;
}

/** A role's own statements: inline policies plus policies in the stack attached to it. */
export function roleStatements(template: CfnTemplate, roleId: string): LocatedStatement[] {
  const attachedPolicyIds = new Set(
    Object.entries(template.Resources)
      .filter(([, resource]) => ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::RolePolicy'].includes(resource.Type))
      .filter(([, resource]) => refersTo(resource.Properties?.Roles, roleId) || refersTo(resource.Properties?.RoleName, roleId))
      .map(([id]) => id),
  );
  for (const arn of asArray(template.Resources[roleId]?.Properties?.ManagedPolicyArns as unknown[] | undefined)) {
    for (const id of referencedIds(arn)) attachedPolicyIds.add(id);
  }
  return allPolicyStatements(template).filter(
    ({ where }) => where.startsWith(`${roleId}.`) || [...attachedPolicyIds].some((id) => where.startsWith(`${id}[`)),
  );
}

/** Actions that would let a function destroy or unprotect audit records. */
export const AUDIT_DESTROYING_ACTIONS = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:DeleteObjectTagging',
  's3:DeleteBucket',
  's3:DeleteBucketPolicy',
  's3:PutBucketPolicy',
  's3:PutBucketVersioning',
  's3:PutBucketObjectLockConfiguration',
  's3:PutBucketAcl',
  's3:PutBucketOwnershipControls',
  's3:PutBucketPublicAccessBlock',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:PutLifecycleConfiguration',
  's3:PutEncryptionConfiguration',
  's3:BypassGovernanceRetention',
];

/** Whether an IAM action pattern (`s3:Put*`, `iam:?etRole`) covers an action, case aside, as IAM matches them. */
export function actionPatternMatches(pattern: string, action: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(action);
}

/** Whether a statement's resources could include the bucket: named through it, `*`, or an S3 ARN wildcard. */
function couldTouchBucket(statement: PolicyStatement, bucketId: string): boolean {
  if (statement.NotResource !== undefined) return true;
  return asArray(statement.Resource).some(
    (resource) => resource === '*' || refersTo(resource, bucketId) || (typeof resource === 'string' && /^arn:[^:]+:s3:::[^/]*\*/.test(resource)),
  );
}

/**
 * Function roles that may delete audit objects or weaken the audit bucket. Managed policies
 * attached from outside the stack cannot be read from the template, so they count as findings.
 */
export function findFunctionRolesThatCanDestroyAudit(template: CfnTemplate, auditBucketId: string): string[] {
  const findings: string[] = [];
  for (const roleId of new Set([...functionRoles(template).values()].filter((id): id is string => id !== undefined))) {
    const external = asArray(template.Resources[roleId]?.Properties?.ManagedPolicyArns as unknown[] | undefined).filter(
      (arn) => referencedIds(arn).size === 0,
    );
    if (external.length > 0) findings.push(`${roleId}: managed policies the template cannot show (${JSON.stringify(external)})`);
    for (const { where, statement } of roleStatements(template, roleId)) {
      if (statement.Effect !== 'Allow' || !couldTouchBucket(statement, auditBucketId)) continue;
      if (statement.NotAction !== undefined) {
        findings.push(`${where}: NotAction on the audit bucket`);
        continue;
      }
      const granted = AUDIT_DESTROYING_ACTIONS.filter((action) => asArray(statement.Action).some((pattern) => actionPatternMatches(pattern, action)));
      if (granted.length > 0) findings.push(`${where}: ${granted.join(', ')} on ${auditBucketId}`);
    }
  }
  return findings;
}

/** Whether a role's statements allow an action on `*` (used for X-Ray, which has no resources). */
export function roleAllows(template: CfnTemplate, roleId: string, action: string): boolean {
  return roleStatements(template, roleId).some(
    ({ statement }) => statement.Effect === 'Allow' && asArray(statement.Action).some((pattern) => actionPatternMatches(pattern, action)),
  );
}


/** Role-name patterns (`modelgate-dev-audit-*`) of the role ARNs an `aws:PrincipalArn` condition lists. */
function principalRoleNamePatterns(arns: unknown): RegExp[] {
  return asArray(arns as unknown[] | undefined)
    .map((entry) => (typeof entry === 'string' ? entry : String((entry as Record<string, unknown>)['Fn::Sub'] ?? '')))
    .filter((arn) => arn.includes(':role/'))
    .map((arn) => arn.slice(arn.indexOf(':role/') + ':role/'.length))
    .map((name) => new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
}

/** Function roles allowed `action` on the resource `resourceId`, with their role names. */
function functionRolesAllowedOn(template: CfnTemplate, action: string, resourceId: string): Array<{ roleId: string; roleName: unknown }> {
  return [...new Set(functionRoles(template).values())]
    .filter((roleId): roleId is string => roleId !== undefined)
    .filter((roleId) =>
      roleStatements(template, roleId).some(
        ({ statement }) => statement.Effect === 'Allow' && asArray(statement.Action).some((pattern) => actionPatternMatches(pattern, action)) && refersTo(statement.Resource, resourceId),
      ),
    )
    .map((roleId) => ({ roleId, roleName: template.Resources[roleId]?.Properties?.RoleName }));
}

/**
 * Function roles that may write to the audit bucket but are not named in its policy's deny of
 * deletes and retention changes (statement `denySid`, by `aws:PrincipalArn` role-name patterns):
 * the deny is the second lock, beside each role's own policy, on a writer ever removing records.
 */
export function findAuditWritersOutsideDeleteDeny(template: CfnTemplate, auditBucketId: string, denySid: string): string[] {
  const deny = allPolicyStatements(template).find(({ statement }) => statement.Sid === denySid)?.statement;
  const patterns = principalRoleNamePatterns(propertyAt(deny?.Condition, 'ArnLike.aws:PrincipalArn'));
  return functionRolesAllowedOn(template, 's3:PutObject', auditBucketId)
    .filter(({ roleName }) => !(typeof roleName === 'string' && patterns.some((pattern) => pattern.test(roleName))))
    .map(({ roleId, roleName }) => `${roleId} (${String(roleName)}): writes to ${auditBucketId}, not named in ${denySid}`)
    .sort();
}

/**
 * What keeps other principals from sending to the audit queue: its policy's statement `denySid`
 * must deny `sqs:SendMessage` on it to every principal but the roles it lists (`ArnNotLike` on
 * `aws:PrincipalArn`), and every function role granted that send must be among them, or its
 * records would be refused in AWS while every local test passes.
 */
export function findAuditQueueSenderProblems(template: CfnTemplate, queueId: string, denySid: string): string[] {
  const deny = allPolicyStatements(template).find(({ statement }) => statement.Sid === denySid)?.statement;
  if (deny?.Effect !== 'Deny' || !asArray(deny.Action).some((pattern) => actionPatternMatches(pattern, 'sqs:SendMessage')) || !refersTo(deny.Resource, queueId)) {
    return [`${queueId}: no statement ${denySid} denying sqs:SendMessage on it`];
  }
  const patterns = principalRoleNamePatterns(propertyAt(deny.Condition, 'ArnNotLike.aws:PrincipalArn'));
  if (patterns.length === 0) return [`${denySid}: names no role that may still send (ArnNotLike on aws:PrincipalArn)`];
  return functionRolesAllowedOn(template, 'sqs:SendMessage', queueId)
    .filter(({ roleName }) => !(typeof roleName === 'string' && patterns.some((pattern) => pattern.test(roleName))))
    .map(({ roleId, roleName }) => `${roleId} (${String(roleName)}): granted sqs:SendMessage on ${queueId}, refused by ${denySid}`)
    .sort();
}

/**
 * Grants of a KMS key's data-key actions (Encrypt, Decrypt, GenerateDataKey) not conditioned on
 * `kms:ViaService`, in function roles and in the managed policies the stack hands to people: the
 * key is used only through S3, SQS and DynamoDB, so a direct decrypt is never needed, and
 * unconditioned it would read any ciphertext under the key.
 */
export function findDirectKeyUseGrants(template: CfnTemplate, keyId: string): string[] {
  const findings: string[] = [];
  // The function roles, and the managed policies the stack hands to people (auditors, producers, admins).
  const managed = resourcesOfType(template, 'AWS::IAM::ManagedPolicy').map(([id]) => id);
  const holders = [...new Set(functionRoles(template).values())].filter((id): id is string => id !== undefined);
  const ownStatements = (id: string) => (managed.includes(id) ? allPolicyStatements(template).filter(({ where }) => where.startsWith(`${id}[`)) : roleStatements(template, id));
  for (const holderId of [...holders, ...managed]) {
    for (const { where, statement } of ownStatements(holderId)) {
      const dataKeyUse = asArray(statement.Action).some((pattern) => ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'].some((action) => actionPatternMatches(pattern, action)));
      if (statement.Effect !== 'Allow' || !dataKeyUse || !refersTo(statement.Resource, keyId)) continue;
      if (propertyAt(statement.Condition, 'StringEquals.kms:ViaService') === undefined) findings.push(`${where}: ${asArray(statement.Action).join(', ')} on ${keyId} without kms:ViaService`);
    }
  }
  return findings.sort();
}

