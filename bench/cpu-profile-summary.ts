import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (Chrome DevTools format) a summary needs. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
}

/** A share of the busy samples. */
export interface Share {
  name: string;
  samples: number;
  /** Of all busy (non-idle) samples, 0–1. */
  share: number;
}

/** A CPU profile folded three ways; every figure is a count of samples, not of sampled wall time. */
export interface ProfileSummary {
  /** Samples with the thread busy (V8's `(idle)` samples left out). */
  busySamples: number;
  samplingIntervalUs: number;
  /** Invocations the profile covers. */
  invocations: number;
  /** By the code responsible: the innermost frame on the stack that is not Node's own (undici counts as a library). */
  owners: Share[];
  /** The same owners gathered into the groups the report discusses. */
  groups: Share[];
  /** By the function actually on the CPU (native frames named after their caller's component). */
  leafFunctions: Array<Share & { component: string }>;
}

/**
 * Why samples and not V8's time deltas: on a shared CPU the thread is often preempted, and the
 * wall time until its next sample is charged to whatever it ran when it stopped (typically a
 * syscall). Counting samples charges each a fixed interval of running time instead.
 */
export function summarizeCpuProfile(options: { path: string; invocations: number; root: string; samplingIntervalUs: number; top?: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(options.path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

  const componentCache = new Map<number, string>();
  const componentOf = (id: number): string => {
    const cached = componentCache.get(id);
    if (cached !== undefined) return cached;
    const node = nodes.get(id);
    let component = '(unknown)';
    if (node) {
      const own = classify(node.callFrame, options.root);
      // A native frame (a builtin, a binding) belongs to whatever JavaScript called it.
      const parent = parents.get(id);
      component = own === '(native)' && parent !== undefined ? componentOf(parent) : own;
    }
    componentCache.set(id, component);
    return component;
  };
  const ownerCache = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const cached = ownerCache.get(id);
    if (cached !== undefined) return cached;
    let owner = componentOf(id);
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const component = componentOf(current);
      if (!isNodeInternal(component)) {
        owner = component;
        break;
      }
    }
    ownerCache.set(id, owner);
    return owner;
  };

  const owners = new Map<string, number>();
  const groups = new Map<string, number>();
  const leaves = new Map<string, { component: string; samples: number }>();
  let busySamples = 0;
  for (const id of profile.samples) {
    const node = nodes.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busySamples += 1;
    const owner = ownerOf(id);
    owners.set(owner, (owners.get(owner) ?? 0) + 1);
    const group = groupOf(owner);
    groups.set(group, (groups.get(group) ?? 0) + 1);
    const frame = node.callFrame;
    const name = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${shortUrl(frame.url, options.root)}:${frame.lineNumber + 1}` : ''}`;
    const leaf = leaves.get(name) ?? { component: componentOf(id), samples: 0 };
    leaf.samples += 1;
    leaves.set(name, leaf);
  }
  const shares = (counts: Map<string, number>): Share[] =>
    [...counts.entries()].map(([name, samples]) => ({ name, samples, share: samples / busySamples })).sort((a, b) => b.samples - a.samples);
  return {
    busySamples,
    samplingIntervalUs: options.samplingIntervalUs,
    invocations: options.invocations,
    owners: shares(owners),
    groups: shares(groups),
    leafFunctions: [...leaves.entries()]
      .map(([name, leaf]) => ({ name, component: leaf.component, samples: leaf.samples, share: leaf.samples / busySamples }))
      .sort((a, b) => b.samples - a.samples)
      .slice(0, options.top ?? 25),
  };
}

/** The groups the report discusses, by owner component. First match wins. */
const GROUPS: Array<[string, (owner: string) => boolean]> = [
  ['AWS SDK v3 (the SQS hand-off; S3/SSM/DynamoDB on cache misses)', (owner) => /^@(aws-sdk|smithy|aws|aws-crypto)\//.test(owner) || owner === 'fast-xml-parser'],
  [
    'async hooks: cls-hooked (loaded by the X-Ray SDK) and AsyncLocalStorage',
    (owner) => ['node:async_hooks', 'cls-hooked', 'async-hook-jl', 'aws-xray-sdk-core', 'emitter-listener', 'shimmer'].includes(owner),
  ],
  // undici: the npm package modelgate calls the backend with, or the copy inside Node (fetch).
  ['the backend call (undici)', (owner) => owner === 'undici' || owner === 'node:deps'],
  ['middy + Powertools (logger, metrics, tracer)', (owner) => owner.startsWith('@middy/') || owner.startsWith('@aws-lambda-powertools/')],
  ['zod', (owner) => owner === 'zod'],
  ['uuid', (owner) => owner === 'uuid'],
  ["modelgate's own code (lib/, functions/)", (owner) => owner.startsWith('lib/') || owner === 'functions'],
  ['Lambda runtime stand-in + benchmark loop (local/, bench/)', (owner) => owner.startsWith('local/') || owner.startsWith('bench/')],
  ['garbage collector', (owner) => owner === '(garbage collector)'],
  ["Node's own (event loop, streams, timers, async hooks) with no library above it", (owner) => isNodeInternal(owner) || owner === '(program)'],
];

function groupOf(owner: string): string {
  return GROUPS.find(([, matches]) => matches(owner))?.[0] ?? 'other packages';
}

function isNodeInternal(component: string): boolean {
  // undici (node:internal/deps) is a library that happens to ship inside Node: it owns its samples.
  // Async hooks own theirs too: their cost is the hooks being installed, not the code that made the promise.
  if (component === 'node:deps' || component === 'node:async_hooks') return false;
  return component.startsWith('node:') || component === '(native)' || component === '(root)' || component === '(program)';
}

function classify(frame: { functionName: string; url: string }, root: string): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) {
    const module = url.replace(/^node:(internal\/)?/, '').split('/')[0] ?? url;
    return `node:${module}`;
  }
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (packageMatch?.[1]) return packageMatch[1];
  const local = shortUrl(url, root);
  const parts = local.split('/');
  if (parts[0] === 'lib' && parts.length > 2) return `lib/${parts[1]}`;
  if (parts.length > 2 && (parts[0] === 'local' || parts[0] === 'bench')) return `${parts[0]}/${parts[1]}`;
  return parts.length > 1 ? (parts[0] ?? local) : local;
}

function shortUrl(url: string, root: string): string {
  const withoutScheme = url.replace(/^file:\/\//, '');
  const rootPrefix = root.endsWith('/') ? root : `${root}/`;
  const relative = withoutScheme.startsWith(rootPrefix) ? withoutScheme.slice(rootPrefix.length) : withoutScheme;
  return relative.replace(/^.*node_modules\//, '');
}
