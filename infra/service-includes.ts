// serverless.yml takes whole blocks (params, provider, custom, functions) from files under
// infra/service/ with `${file(path)}`, so every datasync service shares one definition. The
// framework resolves those includes itself; the tools here that read serverless.yml without it
// (the local runner, the function builds) inline them with this first.
import { join } from 'node:path';

/** A block that is exactly one `${file(path)}` include. */
const WHOLE_INCLUDE = /^\$\{file\(([^()]+)\)\}$/;

/**
 * The service definition with every top-level block that is one `${file(path)}` include replaced
 * by the file's content. Paths are relative to the service folder, as the framework reads them.
 */
export function inlineIncludes(
  service: Record<string, unknown>,
  serviceDir: string,
  read: (path: string) => unknown,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(service).map(([block, value]) => {
      const include = typeof value === 'string' ? WHOLE_INCLUDE.exec(value) : null;
      return [block, include ? read(join(serviceDir, include[1]!)) : value];
    }),
  );
}
