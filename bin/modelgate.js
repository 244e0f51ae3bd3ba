#!/usr/bin/env node
// The `modelgate` command (package.json "bin"). Runs the TypeScript CLI in cli/ through tsx's
// loader, so the CLI needs no build step.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
