import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a CloudFormation template the template checks read. */
export interface CfnResource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}

/** One IAM policy statement as written (single values or lists). */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Reads the template `serverless package` wrote (the one `serverless deploy` would send). */
export function readPackagedTemplate(packageDir: string): CfnTemplate {
  return JSON.parse(readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate;
}

/** `[logicalId, resource]` for every resource of a type, in template order. */
export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A property by path (`'a.b.0.c'`), or undefined. */
export function propertyAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Every logical id a value refers to through `Ref`, `Fn::GetAtt` or `Fn::Sub` (pseudo parameters
 * such as `AWS::Region` left out), anywhere inside it.
 */
export function referencedIds(value: unknown): Set<string> {
  const ids = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, inner] of Object.entries(node)) {
      if (key === 'Ref' && typeof inner === 'string' && !inner.startsWith('AWS::')) ids.add(inner);
      else if (key === 'Fn::GetAtt') {
        const target = Array.isArray(inner) ? inner[0] : typeof inner === 'string' ? inner.split('.')[0] : undefined;
        if (typeof target === 'string') ids.add(target);
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? inner[0] : inner;
        if (typeof text === 'string') {
          for (const match of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
            const name = match[1]!.split('.')[0]!;
            if (!name.startsWith('AWS::')) ids.add(name);
          }
        }
        if (Array.isArray(inner)) visit(inner[1]);
      } else visit(inner);
    }
  };
  visit(value);
  return ids;
}

export function refersTo(value: unknown, logicalId: string): boolean {
  return referencedIds(value).has(logicalId);
}

/** The statements of a policy document, always as a list. */
export function statementsOf(document: unknown): PolicyStatement[] {
  return asArray(propertyAt(document, 'Statement') as PolicyStatement | PolicyStatement[] | undefined);
}

/** A statement denying everyone every action of a service (`action` such as `s3:*`). */
export function deniesEveryoneEverything(statement: PolicyStatement, action: string): boolean {
  const principal = statement.Principal;
  const everyone = principal === '*' || propertyAt(principal, 'AWS') === '*';
  return statement.Effect === 'Deny' && everyone && asArray(statement.Action).includes(action);
}

/** A statement denying everyone every action of a service over plain HTTP (`aws:SecureTransport` false). */
export function deniesInsecureTransport(statement: PolicyStatement, action: string): boolean {
  const value = propertyAt(statement.Condition, 'Bool.aws:SecureTransport');
  return deniesEveryoneEverything(statement, action) && (value === false || value === 'false');
}

/**
 * Resources of a type whose resource policies (`policyType`, naming their resources under
 * `targets`, e.g. an `AWS::SQS::QueuePolicy`'s `Queues`) do not deny `action` over plain HTTP in a
 * statement whose `Resource` covers them (`*`, or a reference to them: a policy shared by several
 * resources must name each in both places).
 */
export function findWithoutTransportDeny(template: CfnTemplate, resource: { type: string; policyType: string; targets: string; action: string }): string[] {
  const policies = resourcesOfType(template, resource.policyType);
  return resourcesOfType(template, resource.type).flatMap(([id]) => {
    const statements = policies
      .filter(([, policy]) => refersTo(policy.Properties?.[resource.targets], id))
      .flatMap(([, policy]) => statementsOf(policy.Properties?.PolicyDocument));
    const covers = (statement: PolicyStatement) => statement.Resource === '*' || refersTo(statement.Resource, id);
    return statements.some((statement) => covers(statement) && deniesInsecureTransport(statement, resource.action))
      ? []
      : [`${id}: no policy statement denying aws:SecureTransport=false`];
  });
}

/** A deep copy to weaken in a test, leaving the packaged template as it was. */
export function copyOf(template: CfnTemplate): CfnTemplate {
  return structuredClone(template);
}

/**
 * Where the template writes an ARN in the `aws` partition outright (`arn:aws:`) instead of the
 * partition it is deployed to (`${AWS::Partition}`): such a grant or principal names nothing in
 * `aws-cn` or `aws-us-gov`, so a policy there would silently not match.
 */
export function findHardCodedPartitions(template: CfnTemplate): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      if (value.includes('arn:aws:')) found.push(`${path}: ${value}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${path}[${index}]`));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) walk(item, path === '' ? key : `${path}.${key}`);
    }
  };
  walk(template.Resources, '');
  walk(template.Outputs, 'Outputs');
  return found;
}
