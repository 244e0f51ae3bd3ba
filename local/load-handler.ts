import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Imports `functions/x.handler` from the project root (`functions/x.ts`, export `handler`), as Lambda's init would. */
export async function loadHandler<T>(root: string, handler: string): Promise<T> {
  const dot = handler.lastIndexOf('.');
  const modulePath = resolve(root, `${handler.slice(0, dot)}.ts`);
  const exportName = handler.slice(dot + 1);
  const module = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  const exported = module[exportName];
  if (typeof exported !== 'function') throw new Error(`${modulePath} does not export ${exportName}`);
  return exported as T;
}
