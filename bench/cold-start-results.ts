import type { PackageShare } from './bundle-composition';
import type { MachineFacts } from './machine-facts';
import type { Distribution } from './stats';

/** One function's artifact and its cold starts. */
export interface FunctionColdStart {
  name: string;
  handler: string;
  zipBytes: number;
  bundleBytes: number;
  sourceMapBytes: number;
  /** esbuild with serverless.yml's settings produced a bundle of exactly the packaged size. */
  compositionMatchesPackage: boolean;
  /** Largest contributors to the minified bundle, by package and by family. */
  packages: PackageShare[];
  families: PackageShare[];
  workload: string;
  /** Short form of the workload for tables. */
  workloadLabel: string;
  expectedStatus: number;
  /** As deployed, then (when deployed with it) without `--enable-source-maps`, to show what that costs. */
  runs: ColdStartRun[];
}

export interface ColdStartRun {
  nodeOptions: string;
  /** Fresh process start to the start of the bundle's import (Node's own boot). */
  processStartToImportMs: Distribution;
  importMs: Distribution;
  firstRequestMs: Distribution;
  /** importMs + firstRequestMs: Lambda's init plus the first invocation, without the runtime's boot. */
  importAndFirstRequestMs: Distribution;
  /** Spawn to exit, as seen by the benchmark (Node boot, import, first request, exit). */
  wallMs: Distribution;
  samples: ColdStartSample[];
}

export interface ColdStartSample {
  processStartToImportMs: number;
  importMs: number;
  firstRequestMs: number;
  wallMs: number;
}

export interface ColdStartResults {
  benchmark: 'cold-start';
  startedAt: string;
  durationMs: number;
  command: string;
  machine: MachineFacts;
  versions: Record<string, string>;
  settings: { repeats: number; warmups: number; pinnedCpu: number | null; nodeOptions: string };
  functions: FunctionColdStart[];
}
