import { describe, expect, inject, it } from 'vitest';
import { findGatewayResponsesOffContract, findStagesWithoutAccessLogs, findStagesWithoutThrottling, findWafProblems, findWeakTlsPolicies } from './api-checks';
import { copyOf, propertyAt, readPackagedTemplate, type CfnTemplate } from './cloudformation-template';

const template = readPackagedTemplate(inject('packageDir'));

function defaultMethodSettings(t: CfnTemplate): Record<string, unknown> {
  return propertyAt(t.Resources.ApiGatewayStage!.Properties, 'MethodSettings.0') as Record<string, unknown>;
}

describe('the REST API in the packaged template', () => {
  it('refuses TLS below 1.2 on its own endpoint and on the optional custom domain', () => {
    expect(findWeakTlsPolicies(template)).toEqual([]);
    expect(template.Resources.ApiCustomDomain?.Condition).toBe('HasCustomDomain');
  });

  it('catches the API left on the TLS 1.0 default and a custom domain on TLS_1_0', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.ApiGatewayRestApi!.Properties!.SecurityPolicy;
    weakened.Resources.ApiCustomDomain!.Properties!.SecurityPolicy = 'TLS_1_0';
    expect(findWeakTlsPolicies(weakened)).toEqual(['ApiGatewayRestApi: SecurityPolicy (unset: TLS_1_0)', 'ApiCustomDomain: SecurityPolicy TLS_1_0']);
  });

  it('throttles every method of the stage by default and traces it', () => {
    expect(findStagesWithoutThrottling(template)).toEqual([]);
  });

  it('catches a stage without a rate limit, and an API whose stage is not a resource', () => {
    const noRate = copyOf(template);
    delete defaultMethodSettings(noRate).ThrottlingRateLimit;
    const noStage = copyOf(template);
    delete noStage.Resources.ApiGatewayStage;
    expect(findStagesWithoutThrottling(noRate)).toEqual(['ApiGatewayStage: no ThrottlingRateLimit for /* *']);
    expect(findStagesWithoutThrottling(noStage)).toEqual(['ApiGatewayRestApi: no AWS::ApiGateway::Stage resource']);
  });

  it('writes a JSON access log line per request to a log group with retention, and no request data', () => {
    expect(findStagesWithoutAccessLogs(template)).toEqual([]);
  });

  it('keeps the execution logs it turns on in a log group of its own, with the stage\'s retention, made before the stage', () => {
    const group = template.Resources.ApiGatewayExecutionLogGroup;
    expect(defaultMethodSettings(template).LoggingLevel).toBe('ERROR');
    expect(group?.Properties).toEqual({ LogGroupName: { 'Fn::Sub': 'API-Gateway-Execution-Logs_${ApiGatewayRestApi}/test' }, RetentionInDays: 30 });
    expect(template.Resources.ApiGatewayStage!.DependsOn).toContain('ApiGatewayExecutionLogGroup');
  });

  it('catches access logs switched off and full data tracing switched on', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.ApiGatewayStage!.Properties!.AccessLogSetting;
    defaultMethodSettings(weakened).DataTraceEnabled = true;
    expect(findStagesWithoutAccessLogs(weakened)).toEqual([
      'ApiGatewayStage: access logs go to no log group of the stack',
      'ApiGatewayStage: access log format without $context.requestId',
      'ApiGatewayStage: DataTraceEnabled writes request and response data to the logs',
    ]);
  });

  it('offers a WAF web ACL with a blocking rate-based rule on the stage, behind the wafEnabled param', () => {
    expect(findWafProblems(template)).toEqual([]);
    expect(template.Resources.ApiWebAcl?.Condition).toBe('WafEnabled');
    expect(template.Conditions?.WafEnabled).toEqual({ 'Fn::Equals': ['false', 'true'] });
  });

  it('catches the rate-based rule replaced by a count-only rule, and the association dropped', () => {
    const counting = copyOf(template);
    (propertyAt(counting.Resources.ApiWebAcl!.Properties, 'Rules.0') as Record<string, unknown>).Action = { Count: {} };
    const unassociated = copyOf(template);
    delete unassociated.Resources.ApiWebAclAssociation;
    expect(findWafProblems(counting)).toEqual(['no web ACL with a blocking rate-based rule', 'ApiGatewayStage: not associated with the rate-limiting web ACL']);
    expect(findWafProblems(unassociated)).toEqual(['ApiGatewayStage: not associated with the rate-limiting web ACL']);
  });

  it('answers API Gateway\'s own refusals (throttling, WAF, too large, defaults) in our JSON error shape', () => {
    expect(findGatewayResponsesOffContract(template)).toEqual([]);
  });

  it('catches a missing throttling response and a default response in another shape', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.ApiThrottledResponse;
    weakened.Resources.ApiDefault5xxResponse!.Properties!.ResponseTemplates = { 'application/json': '{"message":$context.error.messageString}' };
    expect(findGatewayResponsesOffContract(weakened)).toEqual([
      "ApiGatewayRestApi: no THROTTLED gateway response (API Gateway's default body is not our error shape)",
      'ApiDefault5xxResponse: DEFAULT_5XX body is not {"error": {code, message, request_id}}',
    ]);
  });
});
