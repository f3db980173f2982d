import { createInterfacesPlugin, type InterfacesPlugin } from './interfaces.ts';
import { createRoutesPlugin, type RoutesPlugin } from './routes.ts';

export { createInterfacesPlugin, INTERFACES_PREFIX, interfaceSchema } from './interfaces.ts';
export type { InterfaceConfig, InterfacesPlugin } from './interfaces.ts';
export { createRoutesPlugin, ROUTES_PREFIX, routeSchema } from './routes.ts';
export type { RouteConfig } from './routes.ts';
export { createViewPlugin } from './view.ts';
export type { ViewPlugin } from './view.ts';
export type { RoutesPlugin } from './routes.ts';

/**
 * The example plugins in registration (= resync) order: interfaces first, because routes refer
 * to interfaces.
 */
export function createExamplePlugins(log?: (line: string) => void): [InterfacesPlugin, RoutesPlugin] {
  const interfaces = createInterfacesPlugin(log);
  return [interfaces, createRoutesPlugin(interfaces, log)];
}
