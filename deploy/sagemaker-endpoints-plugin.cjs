'use strict';

/**
 * A local Serverless Framework plugin: the SageMaker endpoints the endpoint config declares under
 * `sagemakerEndpoints` (model, endpoint config, endpoint, target-tracking autoscaling) added to
 * the CloudFormation template, so `serverless package` shows them and `serverless deploy` creates
 * them. The config is read from `custom.endpointsConfig` and validated with the same zod schema
 * the functions use; the resources come from deploy/sagemaker-endpoints.ts (compiled by tsx).
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

class SageMakerEndpoints {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:compileEvents': () => this.compile() };
  }

  compile() {
    const tsx = require('tsx/cjs/api');
    const { parseEndpointConfig } = tsx.require('../lib/core/endpoint-registry.ts', __filename);
    const { sageMakerEndpointResources } = tsx.require('./sagemaker-endpoints.ts', __filename);
    const service = this.serverless.service;
    const configPath = service.custom.endpointsConfig;
    const document = JSON.parse(readFileSync(join(this.serverless.serviceDir, configPath), 'utf8'));
    const config = parseEndpointConfig(document, `endpoint config ${configPath}`);
    const { Resources } = sageMakerEndpointResources(config, service.provider.stage);
    const template = service.provider.compiledCloudFormationTemplate.Resources;
    for (const [logicalId, resource] of Object.entries(Resources)) {
      if (template[logicalId]) {
        throw new this.serverless.classes.Error(`sagemaker-endpoints: ${logicalId} is already in the template`);
      }
      template[logicalId] = resource;
    }
  }
}

module.exports = SageMakerEndpoints;
