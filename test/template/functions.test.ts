import { basename, join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { readZipEntries } from '../../deploy/zip-entries';
import { copyOf, propertyAt, readPackagedTemplate, resourcesOfType, type PolicyStatement } from './cloudformation-template';
import {
  findApiFunctionsOutlastingApiGateway,
  findFunctionsOffPlatform,
  findFunctionsWithoutOwnRole,
  findFunctionsWithoutTracing,
  findLogGroupsWithoutRetention,
} from './function-checks';

const packageDir = inject('packageDir');
const template = readPackagedTemplate(packageDir);
const functions = resourcesOfType(template, 'AWS::Lambda::Function');

// Upper bounds on each function's minified bundle, a little above what it is now, so that an
// import that drags in a whole SDK or library shows up here instead of in the cold start.
// invoke and openai carry five SDK clients (S3, SQS, SageMaker runtime, SSM, Secrets Manager);
// the async worker those five and DynamoDB's. invoke and openai were 1,750,271 bytes once the
// audit hand-off's group commit brought SendMessageBatch (ea1c750); undici, refused for this
// reason, would have added about 540 KB.
const BUNDLE_BUDGET_BYTES: Record<string, number> = { invoke: 1_800_000, openai: 1_800_000, asyncWorker: 1_950_000, notFound: 250_000 };
const DEFAULT_BUNDLE_BUDGET_BYTES = 1_500_000;

describe('Lambda functions in the packaged template', () => {
  it('has the functions serverless.yml declares', () => {
    expect(functions.map(([id]) => id)).toEqual(expect.arrayContaining(['InvokeLambdaFunction', 'NotFoundLambdaFunction']));
  });

  it('runs every function as a role of its own, named after it', () => {
    expect(findFunctionsWithoutOwnRole(template)).toEqual([]);
  });

  it('catches two functions sharing a role', () => {
    const weakened = copyOf(template);
    weakened.Resources.NotFoundLambdaFunction!.Properties!.Role = { 'Fn::GetAtt': ['InvokeFunctionRole', 'Arn'] };
    expect(findFunctionsWithoutOwnRole(weakened)).toEqual([
      'InvokeLambdaFunction: shares InvokeFunctionRole with NotFoundLambdaFunction',
      'NotFoundLambdaFunction: runs as InvokeFunctionRole, expected NotFoundFunctionRole',
      'NotFoundLambdaFunction: shares InvokeFunctionRole with InvokeLambdaFunction',
    ]);
  });

  it('runs every function on nodejs22.x and arm64', () => {
    expect(findFunctionsOffPlatform(template)).toEqual([]);
  });

  it('catches a function on another runtime or architecture', () => {
    const weakened = copyOf(template);
    weakened.Resources.NotFoundLambdaFunction!.Properties!.Runtime = 'nodejs20.x';
    weakened.Resources.InvokeLambdaFunction!.Properties!.Architectures = ['x86_64'];
    expect(findFunctionsOffPlatform(weakened)).toEqual(['InvokeLambdaFunction: architectures ["x86_64"]', 'NotFoundLambdaFunction: runtime nodejs20.x']);
  });

  it('traces every function with X-Ray and lets its role send the segments', () => {
    expect(findFunctionsWithoutTracing(template)).toEqual([]);
  });

  it('catches tracing switched off, and a role that cannot send traces', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.InvokeLambdaFunction!.Properties!.TracingConfig;
    const statements = propertyAt(weakened.Resources.NotFoundFunctionRole!.Properties, 'Policies.0.PolicyDocument.Statement') as PolicyStatement[];
    statements.splice(statements.findIndex((s) => JSON.stringify(s.Action).includes('xray:')), 1);
    expect(findFunctionsWithoutTracing(weakened)).toEqual([
      'InvokeLambdaFunction: X-Ray tracing not Active',
      'NotFoundLambdaFunction: role cannot xray:PutTraceSegments',
      'NotFoundLambdaFunction: role cannot xray:PutTelemetryRecords',
    ]);
  });

  it('gives every function a log group in the stack, and every log group a retention', () => {
    expect(findLogGroupsWithoutRetention(template)).toEqual([]);
  });

  it('catches a log group kept forever, and a function whose log group Lambda would create', () => {
    const weakened = copyOf(template);
    delete weakened.Resources.NotFoundLogGroup!.Properties!.RetentionInDays;
    delete weakened.Resources.InvokeLogGroup;
    expect(findLogGroupsWithoutRetention(weakened)).toEqual([
      'InvokeLambdaFunction: no log group in the stack (Lambda would create one that never expires)',
      'NotFoundLogGroup: no RetentionInDays',
    ]);
  });

  it('answers before API Gateway gives up (29 s) in every function behind the API', () => {
    expect(findApiFunctionsOutlastingApiGateway(template)).toEqual([]);
  });

  it('catches an API function with a 30 s timeout, unless its responses are streamed', () => {
    // The invocation routes stream (timeout 900 s); buffered, the same timeout would outlast API Gateway.
    const buffered = copyOf(template);
    buffered.Resources.InvokeLambdaFunction!.Properties!.Timeout = 30;
    const method = buffered.Resources.ApiGatewayMethodServingDashendpointsNameVarInvocationsPost!;
    delete (method.Properties!.Integration as Record<string, unknown>).ResponseTransferMode;
    const streamed = copyOf(template);
    streamed.Resources.InvokeLambdaFunction!.Properties!.Timeout = 30;

    expect(findApiFunctionsOutlastingApiGateway(buffered)).toEqual(['InvokeLambdaFunction: timeout 30 s behind API Gateway (at most 28 s)']);
    expect(findApiFunctionsOutlastingApiGateway(streamed)).toEqual([]);
  });

  it('caps the invoke function\'s concurrency (it calls the model backends)', () => {
    expect(template.Resources.InvokeLambdaFunction!.Properties!.ReservedConcurrentExecutions).toEqual({
      'Fn::If': ['HasInvokeReservedConcurrency', 100, { Ref: 'AWS::NoValue' }],
    });
  });
});

describe('function artifacts', () => {
  it.each(functions.map(([id, fn]) => [id, fn] as const))('%s is one esbuild bundle with its source map, within budget', (id, fn) => {
    // Prepare
    const zip = join(packageDir, basename(String(propertyAt(fn.Properties, 'Code.S3Key'))));
    const handler = String(fn.Properties?.Handler); // functions/invoke.handler
    const bundle = `${handler.slice(0, handler.lastIndexOf('.'))}.mjs`;
    // Act
    const entries = readZipEntries(zip);
    const names = entries.map((entry) => entry.name).sort();
    // Assess: nothing but the bundle, its map and the endpoint config (no node_modules).
    expect(names).toEqual(['config/endpoints.json', bundle, `${bundle}.map`]);
    const name = id.replace(/LambdaFunction$/, '').replace(/^./, (c) => c.toLowerCase());
    const size = entries.find((entry) => entry.name === bundle)!.uncompressedBytes;
    expect(size).toBeLessThan(BUNDLE_BUDGET_BYTES[name] ?? DEFAULT_BUNDLE_BUDGET_BYTES);
  });
});
