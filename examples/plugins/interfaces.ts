import { createViewPlugin, type ViewPlugin } from './view.ts';

/** Prefix of network interface configs, e.g. `config/interfaces/eth0`. */
export const INTERFACES_PREFIX = 'config/interfaces';

/** The interfaces example plugin: its view of interface configs by name. */
export type InterfacesPlugin = ViewPlugin;

/**
 * An example plugin watching `config/interfaces`: it keeps an in-memory view of interface
 * configs and logs one line per change.
 */
export function createInterfacesPlugin(log: (line: string) => void = console.log): InterfacesPlugin {
  return createViewPlugin({ name: 'interfaces', prefix: INTERFACES_PREFIX, log });
}
