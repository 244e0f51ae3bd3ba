'use strict';

/**
 * A local Serverless Framework plugin: the REST API stage as an `AWS::ApiGateway::Stage` resource
 * in the CloudFormation template, carrying the stage-wide throttling, the access log format, the
 * execution log level and X-Ray tracing.
 *
 * Why: osls (like Serverless v3) lets the `AWS::ApiGateway::Deployment` create the stage and
 * applies `provider.logs.restApi` and `provider.tracing.apiGateway` with SDK calls after the
 * deploy, so none of them is in the template, and stage throttling has no setting at all. A
 * Deployment's `StageDescription` cannot carry them either: it fails once the stage exists.
 * Here the Deployment loses its `StageName` and a Stage resource (osls' own logical id,
 * `ApiGatewayStage`) points at it, so CloudFormation owns the settings and the template tests
 * can read them. osls' post-deploy stage update still runs and writes the same values, since
 * both are derived from the same `provider` settings.
 *
 * Settings: `provider.logs.restApi` (format, level, executionLogging, fullExecutionData,
 * accessLogging), `provider.tracing.apiGateway`, `provider.apiGateway.metrics`, and
 * `custom.restApiStage.throttling` ({ rateLimit, burstLimit }) for the stage's default method
 * throttling. This only works for a stage created this way from the start: a stack whose stage
 * was created by a Deployment would fail with "stage already exists". With execution logging on,
 * the stack also owns the execution log group (`ApiGatewayExecutionLogGroup`, with
 * `provider.logRetentionInDays`), which the stage depends on: API Gateway would make it itself,
 * kept forever.
 */
class RestApiStage {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler.defineCustomProperties({
      type: 'object',
      properties: {
        restApiStage: {
          type: 'object',
          properties: {
            throttling: {
              type: 'object',
              properties: {
                rateLimit: { type: 'number', minimum: 0 },
                burstLimit: { type: 'integer', minimum: 0 },
              },
              required: ['rateLimit', 'burstLimit'],
              additionalProperties: false,
            },
          },
          additionalProperties: false,
        },
      },
    });
    this.hooks = { 'after:package:compileEvents': () => this.compileStage() };
  }

  compileStage() {
    const service = this.serverless.service;
    const provider = service.provider;
    const resources = provider.compiledCloudFormationTemplate.Resources;
    const naming = this.serverless.getProvider('aws').naming;
    const restApiLogicalId = naming.getRestApiLogicalId();

    const deployments = Object.entries(resources).filter(
      ([, resource]) =>
        resource.Type === 'AWS::ApiGateway::Deployment' &&
        resource.Properties?.RestApiId?.Ref === restApiLogicalId,
    );
    if (deployments.length === 0) return; // no http events, no REST API
    if (deployments.length > 1) {
      throw new this.serverless.classes.Error(`rest-api-stage: expected one API Gateway deployment, found ${deployments.length}`);
    }
    const [deploymentLogicalId, deployment] = deployments[0];
    const stageName = deployment.Properties.StageName;
    delete deployment.Properties.StageName;

    const logs = provider.logs?.restApi;
    const executionLogging = Boolean(logs) && logs.executionLogging !== false;
    const methodSettings = {
      ResourcePath: '/*',
      HttpMethod: '*',
      // osls' defaults for the same settings, so that its post-deploy update agrees with us.
      LoggingLevel: executionLogging ? (logs.level ?? 'INFO') : 'OFF',
      DataTraceEnabled: executionLogging && logs.fullExecutionData !== false,
      MetricsEnabled: Boolean(provider.apiGateway?.metrics),
    };
    const throttling = service.custom?.restApiStage?.throttling;
    if (throttling) {
      methodSettings.ThrottlingRateLimit = throttling.rateLimit;
      methodSettings.ThrottlingBurstLimit = throttling.burstLimit;
    }

    const stage = {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: { Ref: restApiLogicalId },
        DeploymentId: { Ref: deploymentLogicalId },
        StageName: stageName,
        TracingEnabled: Boolean(provider.tracing?.apiGateway),
        MethodSettings: [methodSettings],
      },
    };
    const logGroupLogicalId = naming.getApiGatewayLogGroupLogicalId();
    if (logs && logs.accessLogging !== false) {
      if (!resources[logGroupLogicalId]) {
        throw new this.serverless.classes.Error(`rest-api-stage: access logging is on but ${logGroupLogicalId} is missing`);
      }
      if (typeof logs.format !== 'string') {
        throw new this.serverless.classes.Error('rest-api-stage: set provider.logs.restApi.format (the access log line)');
      }
      stage.Properties.AccessLogSetting = {
        DestinationArn: { 'Fn::GetAtt': [logGroupLogicalId, 'Arn'] },
        Format: logs.format,
      };
    }
    if (executionLogging) {
      // API Gateway creates its execution log group itself, kept forever, unless the stack owns it.
      resources.ApiGatewayExecutionLogGroup = {
        Type: 'AWS::Logs::LogGroup',
        Properties: {
          LogGroupName: { 'Fn::Sub': `API-Gateway-Execution-Logs_\${${restApiLogicalId}}/${stageName}` },
          RetentionInDays: provider.logRetentionInDays,
        },
      };
      stage.DependsOn = ['ApiGatewayExecutionLogGroup'];
    }
    resources[naming.getStageLogicalId()] = stage;
  }
}

module.exports = RestApiStage;
