import { propertyAt, referencedIds, resourcesOfType, type CfnTemplate } from './cloudformation-template';
import { functionRoles, roleAllows } from './iam-checks';

/** `InvokeLambdaFunction` → `Invoke`: osls' logical ids carry the function's normalized name. */
function functionBaseName(functionId: string): string {
  return functionId.replace(/LambdaFunction$/, '');
}

/** Functions without a role of their own named `<Function>FunctionRole`, or sharing one. */
export function findFunctionsWithoutOwnRole(template: CfnTemplate): string[] {
  const roles = functionRoles(template);
  const findings: string[] = [];
  for (const [functionId, roleId] of roles) {
    const expected = `${functionBaseName(functionId)}FunctionRole`;
    if (roleId !== expected) findings.push(`${functionId}: runs as ${roleId ?? 'no role in the stack'}, expected ${expected}`);
    const sharing = [...roles].filter(([otherId, otherRole]) => otherId !== functionId && otherRole !== undefined && otherRole === roleId);
    if (sharing.length > 0) findings.push(`${functionId}: shares ${roleId} with ${sharing.map(([id]) => id).join(', ')}`);
  }
  return findings;
}

/** Functions not on the platform we build for: Node.js 22 on arm64. */
export function findFunctionsOffPlatform(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::Lambda::Function').flatMap(([id, fn]) => {
    const findings: string[] = [];
    if (fn.Properties?.Runtime !== 'nodejs22.x') findings.push(`${id}: runtime ${String(fn.Properties?.Runtime)}`);
    if (JSON.stringify(fn.Properties?.Architectures) !== '["arm64"]') findings.push(`${id}: architectures ${JSON.stringify(fn.Properties?.Architectures)}`);
    return findings;
  });
}

/** Functions not traced with X-Ray, or whose role cannot send the traces. */
export function findFunctionsWithoutTracing(template: CfnTemplate): string[] {
  const roles = functionRoles(template);
  return resourcesOfType(template, 'AWS::Lambda::Function').flatMap(([id, fn]) => {
    const findings: string[] = [];
    if (propertyAt(fn.Properties, 'TracingConfig.Mode') !== 'Active') findings.push(`${id}: X-Ray tracing not Active`);
    const roleId = roles.get(id);
    for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords']) {
      if (!roleId || !roleAllows(template, roleId, action)) findings.push(`${id}: role cannot ${action}`);
    }
    return findings;
  });
}

/** The log group a function writes to: its LoggingConfig's, or Lambda's default `/aws/lambda/<name>`. */
function logGroupOf(template: CfnTemplate, functionId: string): string | undefined {
  const fn = template.Resources[functionId]!;
  const configured = propertyAt(fn.Properties, 'LoggingConfig.LogGroup');
  const configuredIds = [...referencedIds(configured)];
  return resourcesOfType(template, 'AWS::Logs::LogGroup').find(
    ([id, group]) =>
      configuredIds.includes(id) ||
      (configured === undefined && group.Properties?.LogGroupName === `/aws/lambda/${String(fn.Properties?.FunctionName)}`) ||
      (typeof configured === 'string' && group.Properties?.LogGroupName === configured),
  )?.[0];
}

/** Functions without a log group in the stack, and log groups that keep their events forever. */
export function findLogGroupsWithoutRetention(template: CfnTemplate): string[] {
  const findings = resourcesOfType(template, 'AWS::Lambda::Function')
    .filter(([id]) => logGroupOf(template, id) === undefined)
    .map(([id]) => `${id}: no log group in the stack (Lambda would create one that never expires)`);
  for (const [id, group] of resourcesOfType(template, 'AWS::Logs::LogGroup')) {
    if (typeof group.Properties?.RetentionInDays !== 'number') findings.push(`${id}: no RetentionInDays`);
  }
  return findings;
}

/**
 * API Gateway gives up on a buffered integration after 29 s; a function behind it must answer
 * first. Functions whose every API method streams its response (`ResponseTransferMode: STREAM`)
 * are not bound by that limit.
 */
export function findApiFunctionsOutlastingApiGateway(template: CfnTemplate, maxSeconds = 28): string[] {
  const behindApi = new Set(
    resourcesOfType(template, 'AWS::Lambda::Permission')
      .filter(([, permission]) => permission.Properties?.Principal === 'apigateway.amazonaws.com')
      .flatMap(([, permission]) => [...referencedIds(permission.Properties?.FunctionName)]),
  );
  const methods = resourcesOfType(template, 'AWS::ApiGateway::Method');
  const onlyStreamed = (functionId: string) => {
    const integrations = methods.map(([, method]) => propertyAt(method.Properties, 'Integration')).filter((integration) => referencedIds(propertyAt(integration, 'Uri')).has(functionId));
    return integrations.length > 0 && integrations.every((integration) => propertyAt(integration, 'ResponseTransferMode') === 'STREAM');
  };
  return resourcesOfType(template, 'AWS::Lambda::Function')
    .filter(([id]) => behindApi.has(id) && !onlyStreamed(id))
    .filter(([, fn]) => !(typeof fn.Properties?.Timeout === 'number' && fn.Properties.Timeout <= maxSeconds))
    .map(([id, fn]) => `${id}: timeout ${String(fn.Properties?.Timeout)} s behind API Gateway (at most ${maxSeconds} s)`);
}

/** Function ids with a concurrency reservation (possibly conditional). */
export function functionsWithReservedConcurrency(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::Lambda::Function')
    .filter(([, fn]) => fn.Properties?.ReservedConcurrentExecutions !== undefined)
    .map(([id]) => id);
}

/** Function ids whose role may call a model backend (they need a concurrency cap to protect it). */
export function functionsCallingModelBackends(template: CfnTemplate): string[] {
  const roles = functionRoles(template);
  return resourcesOfType(template, 'AWS::Lambda::Function')
    .filter(([id]) => {
      const roleId = roles.get(id);
      return roleId !== undefined && roleAllows(template, roleId, 'sagemaker:InvokeEndpoint');
    })
    .map(([id]) => id);
}

