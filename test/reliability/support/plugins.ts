import { AsyncLocalStorage } from 'node:async_hooks';
import type { Change } from '../../../lib/model/change.ts';
import type { JsonValue } from '../../../lib/model/json-value.ts';
import { compareRevisions } from '../../../lib/model/revision.ts';
import type { Plugin } from '../../../lib/plugins/plugin.ts';

/** Which invocation (a source handler call or a resync) a callback runs in. */
export interface InvocationTag {
  readonly id: number;
  readonly kind: 'stream' | 'sqs' | 'eventbridge' | 'resync';
}

/** Tags the work of one invocation, so callbacks and feedback can be matched to it. */
export const invocation = new AsyncLocalStorage<InvocationTag>();

/** A plugin fault the schedule arms. */
export type PluginFaultKind = 'error' | 'timeout';

/** One successful change callback. */
export interface AppliedCall {
  readonly plugin: string;
  readonly invocation?: InvocationTag;
  readonly refs: ReadonlyArray<{ key: string; op: string; revision?: string }>;
}

/** A finished callback as the plugin saw it (for the feedback check). */
export interface CallbackRecord {
  readonly plugin: string;
  readonly invocation?: InvocationTag;
  readonly status: 'ok' | 'error' | 'timeout';
  readonly refs: ReadonlyArray<{ key: string; op: string; revision?: string }>;
}

/** What every check of the model suite reads from a test plugin. */
export interface ObservedPlugin extends Plugin {
  readonly view: Map<string, { value: JsonValue; revision?: string }>;
  /** Applications per `key@revision` by change callbacks. */
  readonly applications: Map<string, number>;
  /** Per-key ordering violations seen (an older revision applied after a newer one). */
  readonly outOfOrder: string[];
  readonly callbacks: CallbackRecord[];
  /** Arms faults for the next callbacks (change or resync). */
  arm(kind: PluginFaultKind, times: number): void;
  disarm(): void;
  readonly faultsFired: Map<PluginFaultKind, number>;
}

const TIMEOUT_MS = 150;

/**
 * A plugin that keeps a view of its keys and records everything it is asked to do. Its failures
 * are armed by the schedule: an `error` throws before applying anything, a `timeout` waits past
 * its time limit and then applies nothing (it honours the abort signal, as the contract asks).
 */
export function observedPlugin(name: string, prefixes: string[]): ObservedPlugin {
  const view = new Map<string, { value: JsonValue; revision?: string }>();
  const applications = new Map<string, number>();
  const outOfOrder: string[] = [];
  const callbacks: CallbackRecord[] = [];
  // Per key, the highest revision applied (the table's stream order, or a sender's revision) and
  // the highest item version held (a resync's items carry versions, not stream positions).
  const watermark = new Map<string, string>();
  const versionMark = new Map<string, string>();
  let armed: PluginFaultKind[] = [];
  const faultsFired = new Map<PluginFaultKind, number>();

  const fault = async (signal: AbortSignal): Promise<PluginFaultKind | undefined> => {
    const kind = armed.shift();
    if (!kind) return undefined;
    faultsFired.set(kind, (faultsFired.get(kind) ?? 0) + 1);
    if (kind === 'error') throw new Error(`${name}: injected failure`);
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 100));
    if (signal.aborted) throw signal.reason;
    throw new Error(`${name}: injected hang was not aborted`);
  };

  const refsOf = (changes: readonly Change[]) =>
    changes.map((change) => ({
      key: change.key,
      op: change.op,
      ...(change.revision === undefined ? {} : { revision: change.revision }),
    }));

  return {
    name,
    prefixes,
    view,
    applications,
    outOfOrder,
    callbacks,
    faultsFired,
    timeoutMs: TIMEOUT_MS,
    arm(kind, times) {
      for (let index = 0; index < times; index += 1) armed.push(kind);
    },
    disarm() {
      armed = [];
    },
    async change(changes, context) {
      const tag = invocation.getStore();
      try {
        await fault(context.signal);
      } catch (error) {
        callbacks.push({
          plugin: name,
          ...(tag ? { invocation: tag } : {}),
          status: context.signal.aborted ? 'timeout' : 'error',
          refs: refsOf(changes),
        });
        throw error;
      }
      for (const change of changes) {
        const id = `${change.key}@${change.revision ?? '-'}`;
        applications.set(id, (applications.get(id) ?? 0) + 1);
        const held = watermark.get(change.key);
        if (change.revision !== undefined) {
          if (held !== undefined && compareRevisions(change.revision, held) <= 0)
            outOfOrder.push(`${change.key}: ${change.revision} after ${held}`);
          else watermark.set(change.key, change.revision);
        }
        // A put of an item version below one the plugin held is the table going back (a delete ends
        // the item's versions: a re-created item may start lower, from another writer's clock).
        if (change.op === 'delete') versionMark.delete(change.key);
        const version = versionMark.get(change.key);
        if (change.op === 'put' && change.version !== undefined) {
          if (version !== undefined && compareRevisions(change.version, version) < 0)
            outOfOrder.push(`${change.key}: version ${change.version} after ${version}`);
          else versionMark.set(change.key, change.version);
        }
        if (change.op === 'put')
          view.set(change.key, {
            value: change.value!,
            ...(change.revision === undefined ? {} : { revision: change.revision }),
          });
        else view.delete(change.key);
      }
      callbacks.push({ plugin: name, ...(tag ? { invocation: tag } : {}), status: 'ok', refs: refsOf(changes) });
    },
    async resync(snapshot, context) {
      await fault(context.signal);
      // A resync replaces the view: what the snapshot hands over, plus deletions it reports.
      for await (const page of snapshot.pages()) {
        if (context.signal.aborted) throw context.signal.reason;
        for (const entry of page) {
          if (entry.op === 'put') {
            view.set(entry.key, { value: entry.value });
            if (entry.version !== undefined) versionMark.set(entry.key, entry.version);
          } else {
            view.delete(entry.key);
            versionMark.delete(entry.key);
          }
        }
      }
    },
  };
}
