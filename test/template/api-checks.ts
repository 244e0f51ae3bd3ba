import { asArray, propertyAt, referencedIds, refersTo, resourcesOfType, type CfnTemplate } from './cloudformation-template';

/** Policies that refuse TLS 1.0 and 1.1: the legacy TLS_1_2 and every enhanced TLS 1.3/1.2 one. */
export function isTls12OrBetter(policy: unknown): boolean {
  return policy === 'TLS_1_2' || (typeof policy === 'string' && /^SecurityPolicy_TLS1[23]_/.test(policy));
}

/** REST APIs and custom domains whose TLS policy still accepts TLS 1.0 (the default when unset). */
export function findWeakTlsPolicies(template: CfnTemplate): string[] {
  return [...resourcesOfType(template, 'AWS::ApiGateway::RestApi'), ...resourcesOfType(template, 'AWS::ApiGateway::DomainName')]
    .filter(([, resource]) => !isTls12OrBetter(resource.Properties?.SecurityPolicy))
    .map(([id, resource]) => `${id}: SecurityPolicy ${String(resource.Properties?.SecurityPolicy ?? '(unset: TLS_1_0)')}`);
}

function stagesOf(template: CfnTemplate, restApiId: string) {
  return resourcesOfType(template, 'AWS::ApiGateway::Stage').filter(([, stage]) => refersTo(stage.Properties?.RestApiId, restApiId));
}

function defaultMethodSettings(settings: unknown): Record<string, unknown> | undefined {
  return asArray(settings as Array<Record<string, unknown>> | undefined).find((entry) => entry.ResourcePath === '/*' && entry.HttpMethod === '*');
}

/**
 * Every REST API has a Stage resource (a stage made by a Deployment carries no settings in the
 * template) with default method throttling, and X-Ray tracing on.
 */
export function findStagesWithoutThrottling(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::ApiGateway::RestApi').flatMap(([apiId]) => {
    const stages = stagesOf(template, apiId);
    if (stages.length === 0) return [`${apiId}: no AWS::ApiGateway::Stage resource`];
    return stages.flatMap(([stageId, stage]) => {
      const defaults = defaultMethodSettings(stage.Properties?.MethodSettings);
      const findings: string[] = [];
      for (const limit of ['ThrottlingRateLimit', 'ThrottlingBurstLimit']) {
        const value = defaults?.[limit];
        if (!(typeof value === 'number' && value > 0)) findings.push(`${stageId}: no ${limit} for /* *`);
      }
      if (stage.Properties?.TracingEnabled !== true) findings.push(`${stageId}: X-Ray tracing off`);
      return findings;
    });
  });
}

/**
 * Every stage writes access logs, one line per request carrying the request id, to a log group
 * of the stack with a retention; and never logs full request/response data (keys, bodies).
 */
export function findStagesWithoutAccessLogs(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::ApiGateway::RestApi').flatMap(([apiId]) =>
    stagesOf(template, apiId).flatMap(([stageId, stage]) => {
      const findings: string[] = [];
      const destination = propertyAt(stage.Properties, 'AccessLogSetting.DestinationArn');
      const groupId = [...referencedIds(destination)].find((id) => template.Resources[id]?.Type === 'AWS::Logs::LogGroup');
      if (!groupId) findings.push(`${stageId}: access logs go to no log group of the stack`);
      else if (typeof template.Resources[groupId]!.Properties?.RetentionInDays !== 'number') findings.push(`${groupId}: no retention`);
      const format = propertyAt(stage.Properties, 'AccessLogSetting.Format');
      if (typeof format !== 'string' || !format.includes('$context.requestId')) findings.push(`${stageId}: access log format without $context.requestId`);
      if (asArray(stage.Properties?.MethodSettings as Array<Record<string, unknown>> | undefined).some((entry) => entry.DataTraceEnabled === true)) {
        findings.push(`${stageId}: DataTraceEnabled writes request and response data to the logs`);
      }
      return findings;
    }),
  );
}

/** The optional web ACL: a blocking rate-based rule, associated with every stage of the API. */
export function findWafProblems(template: CfnTemplate): string[] {
  const acls = resourcesOfType(template, 'AWS::WAFv2::WebACL');
  const findings: string[] = [];
  const rateLimited = acls.filter(([, acl]) =>
    asArray(acl.Properties?.Rules as Array<Record<string, unknown>> | undefined).some(
      (rule) => propertyAt(rule, 'Statement.RateBasedStatement.Limit') !== undefined && propertyAt(rule, 'Action.Block') !== undefined,
    ),
  );
  if (rateLimited.length === 0) findings.push('no web ACL with a blocking rate-based rule');
  for (const [stageId] of resourcesOfType(template, 'AWS::ApiGateway::Stage')) {
    const associated = resourcesOfType(template, 'AWS::WAFv2::WebACLAssociation').some(
      ([, association]) =>
        refersTo(association.Properties?.ResourceArn, stageId) && rateLimited.some(([aclId]) => refersTo(association.Properties?.WebACLArn, aclId)),
    );
    if (!associated) findings.push(`${stageId}: not associated with the rate-limiting web ACL`);
  }
  return findings;
}

/** API Gateway's own answers that must keep the `{"error": {code, message, request_id}}` shape. */
export const GATEWAY_RESPONSES_IN_OUR_SHAPE = ['THROTTLED', 'WAF_FILTERED', 'REQUEST_TOO_LARGE', 'MISSING_AUTHENTICATION_TOKEN', 'INTEGRATION_TIMEOUT', 'DEFAULT_4XX', 'DEFAULT_5XX'];

/** Gateway responses (API Gateway's own refusals) missing, or not in our JSON error shape. */
export function findGatewayResponsesOffContract(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::ApiGateway::RestApi').flatMap(([apiId]) => {
    const responses = resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse').filter(([, response]) => refersTo(response.Properties?.RestApiId, apiId));
    return GATEWAY_RESPONSES_IN_OUR_SHAPE.flatMap((type) => {
      const found = responses.find(([, response]) => response.Properties?.ResponseType === type);
      if (!found) return [`${apiId}: no ${type} gateway response (API Gateway's default body is not our error shape)`];
      const body = propertyAt(found[1].Properties, 'ResponseTemplates.application/json');
      const inShape = typeof body === 'string' && ['"error"', '"code"', '"message"', '"request_id"'].every((field) => body.includes(field));
      return inShape ? [] : [`${found[0]}: ${type} body is not {"error": {code, message, request_id}}`];
    });
  });
}
