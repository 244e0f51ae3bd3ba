import { allPolicyStatements } from './iam-checks';
import { asArray, propertyAt, referencedIds, refersTo, resourcesOfType, type CfnTemplate } from './cloudformation-template';

// Every check returns findings, one line each; an empty list means the template passes.

/**
 * DynamoDB tables not encrypted with the stack's own key: SSE must be on, of type KMS, with
 * `keyId` (DataKey) as the key. An AWS-owned or AWS-managed key has no key policy of ours and
 * no CloudTrail record of use we control.
 */
export function findTablesWithoutKms(template: CfnTemplate, keyId: string): string[] {
  return resourcesOfType(template, 'AWS::DynamoDB::Table').flatMap(([id, table]) => {
    const sse = propertyAt(table.Properties, 'SSESpecification');
    if (sse === undefined) return [`${id}: no SSESpecification (AWS-owned key)`];
    const findings: string[] = [];
    if (propertyAt(sse, 'SSEEnabled') !== true) findings.push(`${id}: SSEEnabled is not true`);
    if (propertyAt(sse, 'SSEType') !== 'KMS') findings.push(`${id}: SSEType is not KMS`);
    if (!refersTo(propertyAt(sse, 'KMSMasterKeyId'), keyId)) findings.push(`${id}: not encrypted with ${keyId}`);
    return findings;
  });
}

/** Tables that could not be restored to a point in time, or could be deleted by one stack update. */
export function findTablesWithoutRecovery(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::DynamoDB::Table').flatMap(([id, table]) => {
    const findings: string[] = [];
    if (propertyAt(table.Properties, 'PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled') !== true) findings.push(`${id}: no point-in-time recovery`);
    if (propertyAt(table.Properties, 'DeletionProtectionEnabled') !== true) findings.push(`${id}: no deletion protection`);
    return findings;
  });
}

/**
 * DynamoDB grants that are not least privilege: a service-wide action (`dynamodb:*`, `dynamodb:Delete*`)
 * or a resource that is not one of the stack's tables (or their indexes).
 */
export function findBroadTableGrants(template: CfnTemplate): string[] {
  const tables = new Set(resourcesOfType(template, 'AWS::DynamoDB::Table').map(([id]) => id));
  return allPolicyStatements(template).flatMap(({ where: location, statement }) => {
    if (statement.Effect !== 'Allow') return [];
    const actions = asArray(statement.Action).filter((action) => action.toLowerCase().startsWith('dynamodb:'));
    if (actions.length === 0) return [];
    const findings = actions.filter((action) => action.includes('*')).map((action) => `${location}: wildcard action ${action}`);
    for (const resource of asArray(statement.Resource as unknown)) {
      const ids = [...referencedIds(resource)];
      if (resource === '*' || ids.length === 0 || !ids.every((id) => tables.has(id))) {
        findings.push(`${location}: ${actions.join(', ')} on ${JSON.stringify(resource)}, not a table of the stack`);
      }
    }
    return findings;
  });
}
