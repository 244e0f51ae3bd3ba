import { z } from 'zod';
import { startAnthropicServer, type AnthropicServerOptions } from '../anthropic-server/server';
import { announceReady, closeOnSignals, exitWithOneLine } from './ready-line';

// The local Anthropic-compatible provider. MODELGATE_ANTHROPIC_SERVER_API_KEY is the x-api-key
// callers must send (any accepted when unset); ANTHROPIC_SERVER_MODELS (JSON array of names)
// replaces the default model list.
try {
  const options: AnthropicServerOptions = { port: Number(process.env.MODELGATE_ANTHROPIC_SERVER_PORT ?? 8083) };
  if (process.env.MODELGATE_ANTHROPIC_SERVER_API_KEY) options.apiKey = process.env.MODELGATE_ANTHROPIC_SERVER_API_KEY;
  if (process.env.ANTHROPIC_SERVER_MODELS) {
    const models = z.array(z.string().min(1)).min(1).safeParse(JSON.parse(process.env.ANTHROPIC_SERVER_MODELS));
    if (!models.success) throw new Error('ANTHROPIC_SERVER_MODELS must be a JSON array of model names');
    options.models = models.data;
  }
  const server = await startAnthropicServer(options);
  closeOnSignals(server.close);
  announceReady(server.url);
} catch (error) {
  exitWithOneLine(error);
}
