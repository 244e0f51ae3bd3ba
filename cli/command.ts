import { parseArgs } from 'node:util';

/** What a command reads and writes: injected, so tests run commands in process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  now(): Date;
}

export interface CommandOption {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in help: `--from <time>`. */
  valueName?: string;
  description: string;
}

export interface CommandPositional {
  name: string;
  description: string;
  required: boolean;
}

export interface CommandInput {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** `--json`: machine-readable output instead of tables. */
  json: boolean;
}

/** One command of a group, e.g. `audit show`. */
export interface Command {
  name: string;
  summary: string;
  description?: string;
  positionals?: CommandPositional[];
  options?: Record<string, CommandOption>;
  examples?: string[];
  /** Returns the exit code. */
  run(input: CommandInput, io: CliIo): Promise<number>;
}

/** A group of commands, e.g. `audit`. Adding a group: a file in cli/commands/ and one line in cli/main.ts. */
export interface CommandGroup {
  name: string;
  summary: string;
  /** Shown in the group's help, after its commands (e.g. how it finds the deployment). */
  description?: string;
  commands: Command[];
}

/** Exit codes, the same for every command. */
export const EXIT = {
  ok: 0,
  /** The command worked and found a problem (verify failed, nothing found). */
  problem: 1,
  /** The command line was wrong. */
  usage: 2,
  /** Something in the way: no deployment found, no access, service unreachable. */
  failure: 3,
} as const;

/** A mistake on the command line: shown with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A whole number from 1 to `max` as typed on the command line. Digits only: `Number()` would take
 * "0x10", "1e1" and " 5" as 16, 10 and 5, which are typing mistakes here, not numbers.
 */
export function wholeNumberOption(text: string, name: string, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new UsageError(`${name} must be a whole number from 1 to ${max}, not "${text}"`);
  return value;
}

const COMMON_OPTIONS: Record<string, CommandOption> = {
  json: { type: 'boolean', description: 'machine-readable JSON instead of tables' },
  help: { type: 'boolean', short: 'h', description: 'this help' },
};

/** Runs `<group> <command> [args]`, with `--help` on the group and on every command. */
export async function runCommandGroup(group: CommandGroup, argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(groupHelp(group));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = group.commands.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr(`modelgate ${group.name}: unknown command "${name}". Commands: ${group.commands.map((c) => c.name).join(', ')}\n`);
    return EXIT.usage;
  }
  const options = { ...command.options, ...COMMON_OPTIONS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: Object.fromEntries(Object.entries(options).map(([key, option]) => [key, { type: option.type, ...(option.short ? { short: option.short } : {}) }])),
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    return usageFailure(group, command, (error as Error).message, io);
  }
  // parseArgs keeps the last of a repeated option: `--tenant a --tenant b` would act on b alone.
  const given = (parsed.tokens ?? []).flatMap((token) => (token.kind === 'option' ? [token.name] : []));
  const repeated = given.find((name, index) => given.indexOf(name) !== index && options[name]?.type === 'string');
  if (repeated !== undefined) return usageFailure(group, command, `--${repeated} is given more than once; give it once`, io);
  if (parsed.values.help) {
    io.stdout(commandHelp(group, command));
    return EXIT.ok;
  }
  const positionals = command.positionals ?? [];
  const required = positionals.filter((positional) => positional.required).length;
  if (parsed.positionals.length < required || parsed.positionals.length > positionals.length) {
    const expected = positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ') || 'no arguments';
    return usageFailure(group, command, `expected ${expected}, got ${parsed.positionals.length} argument(s)`, io);
  }
  try {
    return await command.run({ values: parsed.values as CommandInput['values'], positionals: parsed.positionals, json: parsed.values.json === true }, io);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(group, command, error.message, io);
    throw error;
  }
}

function usageFailure(group: CommandGroup, command: Command, message: string, io: CliIo): number {
  io.stderr(`modelgate ${group.name} ${command.name}: ${message}\nRun "modelgate ${group.name} ${command.name} --help" for usage.\n`);
  return EXIT.usage;
}

export function groupHelp(group: CommandGroup): string {
  const width = Math.max(...group.commands.map((command) => command.name.length));
  return [
    `modelgate ${group.name}: ${group.summary}`,
    '',
    `Usage: modelgate ${group.name} <command> [options]`,
    '',
    'Commands:',
    ...group.commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    ...(group.description ? [group.description, ''] : []),
    `Run "modelgate ${group.name} <command> --help" for a command's options.`,
    '',
  ].join('\n');
}

export function commandHelp(group: CommandGroup, command: Command): string {
  const positionals = command.positionals ?? [];
  const options = { ...command.options, ...COMMON_OPTIONS };
  const synopsis = [
    `modelgate ${group.name} ${command.name}`,
    ...positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)),
    '[options]',
  ].join(' ');
  const optionLabels = Object.entries(options).map(([name, option]) => {
    const value = option.type === 'string' ? ` <${option.valueName ?? 'value'}>` : '';
    return { label: `${option.short ? `-${option.short}, ` : '    '}--${name}${value}`, description: option.description };
  });
  const width = Math.max(...optionLabels.map((o) => o.label.length), ...positionals.map((p) => p.name.length + 2));
  const lines = [`${command.summary}`, '', `Usage: ${synopsis}`, ''];
  if (command.description) lines.push(command.description, '');
  if (positionals.length > 0) {
    lines.push('Arguments:', ...positionals.map((p) => `  ${`<${p.name}>`.padEnd(width)}  ${p.description}`), '');
  }
  lines.push('Options:', ...optionLabels.map((o) => `  ${o.label.padEnd(width)}  ${o.description}`), '');
  if (command.examples?.length) lines.push('Examples:', ...command.examples.map((example) => `  ${example}`), '');
  return lines.join('\n');
}
