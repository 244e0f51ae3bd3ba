import { EXIT, runCommandGroup, type CliIo, type CommandGroup } from './command';

/**
 * The command groups, loaded when used. Adding a group (keys, usage, abuse, submit, ...) is one
 * file in cli/commands/ exporting a CommandGroup, and one line here.
 */
const COMMAND_GROUPS: Record<string, () => Promise<CommandGroup>> = {
  audit: async () => (await import('./commands/audit')).auditCommands,
  keys: async () => (await import('./commands/keys')).keysCommands,
  budgets: async () => (await import('./commands/budgets')).budgetsCommands,
  usage: async () => (await import('./commands/usage')).usageCommands,
  abuse: async () => (await import('./commands/abuse')).abuseCommands,
  submit: async () => (await import('./commands/submit')).submitCommands,
};

/** `modelgate <group> <command> [options]`; resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [groupName, ...rest] = argv;
  if (groupName === undefined || groupName === '--help' || groupName === '-h' || groupName === 'help') {
    io.stdout(await topLevelHelp());
    return groupName === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = COMMAND_GROUPS[groupName];
  if (!load) {
    io.stderr(`modelgate: unknown command "${groupName}". Commands: ${Object.keys(COMMAND_GROUPS).join(', ')}. Run "modelgate --help".\n`);
    return EXIT.usage;
  }
  try {
    return await runCommandGroup(await load(), rest, io);
  } catch (error) {
    io.stderr(`modelgate ${groupName}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}

async function topLevelHelp(): Promise<string> {
  const groups = await Promise.all(Object.values(COMMAND_GROUPS).map((load) => load()));
  const width = Math.max(...groups.map((group) => group.name.length));
  return [
    'modelgate: the command line of the modelgate gateway',
    '',
    'Usage: modelgate <command> <subcommand> [options]',
    '',
    'Commands:',
    ...groups.map((group) => `  ${group.name.padEnd(width)}  ${group.summary}`),
    '',
    'Every command takes --help, and --json for machine-readable output.',
    'It finds the deployment through MODELGATE_HOME/stack.json (the local stack, default .modelgate/)',
    'or environment variables: the stack outputs (see "modelgate audit --help" and "modelgate keys --help").',
    '',
  ].join('\n');
}

function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
  };
}
