// serverless.yml loads this file through ${file(...)} (osls requires CommonJS here). It reads and
// validates config/endpoints.json with the same zod schema the functions use, then hands the
// template the SageMaker resources the config declares. tsx compiles the TypeScript on the fly.
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const tsx = require('tsx/cjs/api');

module.exports = async ({ resolveVariable }) => {
  const { parseEndpointConfig } = tsx.require('../lib/core/endpoint-registry.ts', __filename);
  const { sageMakerEndpointResources } = tsx.require('./sagemaker-endpoints.ts', __filename);
  const stage = await resolveVariable('sls:stage');
  const path = resolve(__dirname, '..', 'config', 'endpoints.json');
  const config = parseEndpointConfig(JSON.parse(readFileSync(path, 'utf8')), `endpoint config ${path}`);
  return sageMakerEndpointResources(config, stage);
};
