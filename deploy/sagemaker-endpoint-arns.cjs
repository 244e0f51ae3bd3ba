'use strict';

const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * `${file(./deploy/sagemaker-endpoint-arns.cjs)}` in serverless.yml: the ARNs of the SageMaker
 * endpoints that the endpoint config (`custom.endpointsConfig`) routes to, so the invoke role may
 * call those and no others. The config is validated properly (zod) when the function starts;
 * this reads only the two fields it needs and refuses a config it cannot read.
 *
 * SageMaker writes endpoint names into ARNs in lower case, and IAM compares ARNs as written.
 */
module.exports = async ({ resolveVariable }) => {
  const configPath = await resolveVariable('self:custom.endpointsConfig');
  const config = JSON.parse(readFileSync(join(__dirname, '..', configPath), 'utf8'));
  const names = new Set();
  for (const endpoint of config.endpoints ?? []) {
    for (const entity of endpoint.servedEntities ?? []) {
      if (entity.backend !== 'sagemaker') continue;
      if (typeof entity.endpointName !== 'string' || entity.endpointName === '') {
        throw new Error(`${configPath}: endpoint ${endpoint.name}: a sagemaker served entity has no endpointName`);
      }
      names.add(entity.endpointName.toLowerCase());
    }
  }
  if (names.size === 0) {
    // An IAM statement needs a resource; this one names an endpoint that cannot exist (upper case).
    return [{ 'Fn::Sub': 'arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/NO-SAGEMAKER-ENDPOINTS-CONFIGURED' }];
  }
  return [...names].sort().map((name) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:endpoint/${name}`,
  }));
};
