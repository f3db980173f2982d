import * as v from 'valibot';
import { createViewPlugin, type ViewPlugin } from './view.ts';

/** Prefix of network interface configs, e.g. `config/interfaces/eth0`. */
export const INTERFACES_PREFIX = 'config/interfaces';

/**
 * An interface config: an MTU in the range IPv4 allows (68 to 65535 bytes), optionally whether it
 * is up and a description. The plugin receives these members only (valibot's `object` leaves
 * others out of its output).
 */
export const interfaceSchema = v.object({
  mtu: v.pipe(v.number(), v.integer(), v.minValue(68), v.maxValue(65_535)),
  up: v.optional(v.boolean()),
  description: v.optional(v.string()),
});

/** An interface config as the plugin receives it. */
export type InterfaceConfig = v.InferOutput<typeof interfaceSchema>;

/** The interfaces example plugin: its view of interface configs by name. */
export type InterfacesPlugin = ViewPlugin<typeof interfaceSchema>;

/**
 * An example plugin watching `config/interfaces`: it keeps an in-memory view of interface
 * configs and logs one line per change.
 */
export function createInterfacesPlugin(log: (line: string) => void = console.log): InterfacesPlugin {
  return createViewPlugin({
    name: 'interfaces',
    prefix: INTERFACES_PREFIX,
    schema: interfaceSchema,
    sample: { mtu: 1500, up: true },
    log,
  });
}
