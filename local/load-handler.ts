import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInit } from './invoke-store';

/**
 * Imports `functions/x.handler` from the project root (`functions/x.ts`, export `handler`), as
 * Lambda's init would (in the init context of the invoke store: `installInvokeStore` first).
 * With `MODELGATE_HANDLER_BUNDLES` set to a folder of bundles as serverless.yml builds them
 * (`functions/x.mjs`), the bundle is imported instead: the code Lambda runs, not the sources
 * through tsx (bench:compare measures that).
 */
export async function loadHandler<T>(root: string, handler: string): Promise<T> {
  const dot = handler.lastIndexOf('.');
  const bundles = process.env.MODELGATE_HANDLER_BUNDLES;
  const modulePath = bundles ? resolve(bundles, `${handler.slice(0, dot)}.mjs`) : resolve(root, `${handler.slice(0, dot)}.ts`);
  const exportName = handler.slice(dot + 1);
  const module = (await runInit(() => import(pathToFileURL(modulePath).href))) as Record<string, unknown>;
  const exported = module[exportName];
  if (typeof exported !== 'function') throw new Error(`${modulePath} does not export ${exportName}`);
  return exported as T;
}

/** A loader that imports each handler once and hands the same module's export to every later call. */
export function cachedHandlerLoader<T>(root: string): (handler: string) => Promise<T> {
  const loaded = new Map<string, Promise<T>>();
  return (handler) => {
    let module = loaded.get(handler);
    if (module === undefined) {
      module = loadHandler<T>(root, handler);
      loaded.set(handler, module);
    }
    return module;
  };
}
