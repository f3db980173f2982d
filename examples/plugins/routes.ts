import type { JsonValue } from '../../lib/index.ts';
import type { InterfacesPlugin } from './interfaces.ts';
import { createViewPlugin, type ViewPlugin } from './view.ts';

/** Prefix of route configs, e.g. `config/routes/default`. */
export const ROUTES_PREFIX = 'config/routes';

/** The routes example plugin: its view, plus the routes through interfaces it does not know. */
export interface RoutesPlugin extends ViewPlugin {
  /** Routes whose `interface` is not (yet) a known interface. */
  unresolved(): string[];
}

/** The interface a route leaves through (`{"interface": "eth0", ...}`). */
function interfaceOf(value: JsonValue | undefined): string | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.interface === 'string'
    ? value.interface
    : undefined;
}

/**
 * An example plugin watching `config/routes`. A route names the interface it leaves through;
 * that is why it is registered after the interfaces plugin, which resync therefore fills first.
 * It keeps an in-memory view and logs one line per change, noting routes through unknown interfaces.
 */
export function createRoutesPlugin(
  interfaces: Pick<InterfacesPlugin, 'get'>,
  log: (line: string) => void = console.log,
): RoutesPlugin {
  const view = createViewPlugin({
    name: 'routes',
    prefix: ROUTES_PREFIX,
    log,
    describe: ({ value }) => {
      const via = interfaceOf(value);
      return via === undefined || interfaces.get(via) !== undefined ? '' : ` (interface ${via} unknown)`;
    },
  });
  return {
    ...view,
    unresolved: () =>
      view.names().filter((name) => {
        const via = interfaceOf(view.get(name));
        return via !== undefined && interfaces.get(via) === undefined;
      }),
  };
}
