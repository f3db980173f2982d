import * as v from 'valibot';
import type { InterfacesPlugin } from './interfaces.ts';
import { createViewPlugin, type ViewPlugin } from './view.ts';

/** Prefix of route configs, e.g. `config/routes/default`. */
export const ROUTES_PREFIX = 'config/routes';

/**
 * A route config: the interface it leaves through and, optionally, the next hop. The plugin
 * receives these members only.
 */
export const routeSchema = v.object({
  interface: v.pipe(v.string(), v.nonEmpty()),
  via: v.optional(v.string()),
});

/** A route config as the plugin receives it. */
export type RouteConfig = v.InferOutput<typeof routeSchema>;

/** The routes example plugin: its view, plus the routes through interfaces it does not know. */
export interface RoutesPlugin extends ViewPlugin<typeof routeSchema> {
  /** Routes whose `interface` is not (yet) a known interface. */
  unresolved(): string[];
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
    schema: routeSchema,
    sample: { interface: 'eth0', via: '192.0.2.1' },
    log,
    // The schema guarantees `interface`: no shape checks here.
    describe: ({ value }) =>
      value === undefined || interfaces.get(value.interface) !== undefined
        ? ''
        : ` (interface ${value.interface} unknown)`,
  });
  return {
    ...view,
    unresolved: () =>
      view.names().filter((name) => {
        const route = view.get(name);
        return route !== undefined && interfaces.get(route.interface) === undefined;
      }),
  };
}
