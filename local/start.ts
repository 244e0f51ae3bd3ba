import { startLocalStack } from './stack';

// `npm start`: the whole pipeline on this machine, no AWS account. Ports come from the
// environment; everything the stack keeps lives under MODELGATE_HOME (default .modelgate/).
const port = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    console.error(`${name}=${value} is not a port number`);
    process.exit(1);
  }
  return parsed;
};

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

try {
  const stack = await startLocalStack({
    dataDir: process.env.MODELGATE_HOME ?? '.modelgate',
    apiPort: port('MODELGATE_API_PORT', 3000),
    emulatorPort: port('MODELGATE_EMULATOR_PORT', 4566),
    dynamoDbPort: port('MODELGATE_DYNAMODB_PORT', 4567),
    modelServerPort: port('MODELGATE_MODEL_SERVER_PORT', 8081),
    openaiServerPort: port('MODELGATE_OPENAI_SERVER_PORT', 8082),
    anthropicServerPort: port('MODELGATE_ANTHROPIC_SERVER_PORT', 8083),
    secretsPort: port('MODELGATE_SECRETS_PORT', 8084),
  });

  const chat = [
    `curl -s -X POST ${stack.apiUrl}/v1/chat/completions \\`,
    `  -H "Authorization: Bearer ${stack.demoApiKey}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"model": "assistant", "messages": [{"role": "user", "content": "Hello from modelgate"}]}'`,
  ].join('\n');

  const curl = [
    `curl -s -X POST ${stack.apiUrl}/serving-endpoints/sentiment/invocations \\`,
    `  -H "Authorization: Bearer ${stack.demoApiKey}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"dataframe_split": {"columns": ["text"], "data": [["I love this, it works wonderfully"], ["Terrible. It broke after a day."]]}}'`,
  ].join('\n');

  const asyncCurl = [
    `curl -s -X POST ${stack.apiUrl}/serving-endpoints/sentiment/async-invocations \\`,
    `  -H "Authorization: Bearer ${stack.demoApiKey}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"instances": ["queued now, answered soon"]}'`,
  ].join('\n');

  console.log(`
modelgate is running locally.

  API               ${stack.apiUrl}
  S3 + SQS emulator ${stack.emulatorUrl}   (audit bucket ${stack.auditBucket}, usage queue ${stack.usageQueueUrl})
  DynamoDB emulator ${stack.dynamoDbUrl}   (keys, limits, usage and abuse tables)
  model server      ${stack.modelServerUrl}   (SageMaker runtime protocol: sentiment-v1, iris-v1, chat-llm-v1, completions-llm-v1, embed-llm-v1)
  OpenAI-compatible ${stack.openaiServerUrl}   (external provider stand-in; its key lives in the SSM stand-in)
  Anthropic         ${stack.anthropicServerUrl}   (external provider stand-in; its key lives in the Secrets Manager stand-in)
  SSM + Secrets Mgr ${stack.secretsUrl}
  state and logs    ${stack.dataDir}
  demo API key      ${stack.demoApiKey}   (tenant "demo"; stored hashed)
  auditor API key   ${stack.demoAuditorKey}   (role auditor: GET /audit/records)
  audit log         ${stack.auditBucket}, via the audit queue; digests signed every minute
  async requests    queue ${stack.asyncQueueUrl}, table ${stack.asyncRequestsTable} (DynamoDB emulator ${stack.dynamoDbUrl}), bucket ${stack.asyncBucket}

Try it:

${curl}

An LLM endpoint through the OpenAI-compatible API (any OpenAI client works with base URL ${stack.apiUrl}/v1):

${chat}

Endpoints: sentiment (text), iris (tabular: sepal_length, sepal_width, petal_length, petal_width),
assistant (chat: SageMaker, falling back to the OpenAI-compatible and Anthropic providers),
writer (completions), embed (embeddings).
Asynchronously: submit, then GET the status_url it answers with:

${asyncCurl}

or 1,000 jobs at once, watched to the end: npx modelgate submit jobs sentiment --count 1000
Then look it up in the audit log: npx modelgate audit search --from 1h   (or audit show <x-request-id>)
Keys, limits, budgets and bills: npx modelgate keys list, npx modelgate usage report --month ${new Date().toISOString().slice(0, 7)}
Press Ctrl-C to stop.
`);

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping modelgate...');
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (error) {
  console.error(`modelgate could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
