import { startOpenAiServer, type OpenAiServerOptions } from '../openai-server/server';
import { toyModelCatalogueSchema } from '../toy-llm/toy-model';
import { announceReady, closeOnSignals, exitWithOneLine } from './ready-line';

// The local OpenAI-compatible provider. MODELGATE_OPENAI_SERVER_API_KEY is the key callers must
// send (none asked for when unset); OPENAI_SERVER_MODELS (JSON, model name → toy model) replaces
// the default catalogue.
try {
  const options: OpenAiServerOptions = { port: Number(process.env.MODELGATE_OPENAI_SERVER_PORT ?? 8082) };
  if (process.env.MODELGATE_OPENAI_SERVER_API_KEY) options.apiKey = process.env.MODELGATE_OPENAI_SERVER_API_KEY;
  if (process.env.OPENAI_SERVER_MODELS) {
    const models = toyModelCatalogueSchema.safeParse(JSON.parse(process.env.OPENAI_SERVER_MODELS));
    if (!models.success) throw new Error(`OPENAI_SERVER_MODELS is not a model catalogue: ${models.error.issues[0]?.message ?? ''}`);
    options.models = models.data;
  }
  const server = await startOpenAiServer(options);
  closeOnSignals(server.close);
  announceReady(server.url);
} catch (error) {
  exitWithOneLine(error);
}
