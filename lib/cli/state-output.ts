import type { PluginResyncView, ResyncView } from '../resync/watch.ts';
import type { PluginState } from '../state/status.ts';
import { blockDrawer, formatTable, progressBar } from './render.ts';

/**
 * The plugins' sync state as a table a person can scan: plugin, status, last resync id, when it
 * ended (or began, while running), items, failures in a row, last error.
 */
export function statusTable(states: readonly PluginState[]): string[] {
  const rows = states.map((state) => [
    state.plugin,
    state.status,
    state.resyncId ?? '-',
    state.finishedAt ?? state.startedAt ?? '-',
    state.status === 'resyncing' && state.progress
      ? progressCount(state.progress.items, state.progress.estimatedItems)
      : String(state.items),
    String(state.failures),
    state.lastError ? describeFeedbackError(state.lastError) : '-',
  ]);
  return formatTable(['PLUGIN', 'STATUS', 'LAST RESYNC', 'WHEN', 'ITEMS', 'FAILURES', 'LAST ERROR'], rows).split('\n');
}

/**
 * One plugin's line of a resync's progress: name, a bar of the items handed over against the
 * estimate (full once ended; empty while no estimate is known), the count and the phase.
 */
export function progressLine(view: PluginResyncView, nameWidth: number): string {
  const bar = view.phase === 'ok' ? progressBar(1, 1) : progressBar(view.items, view.estimatedItems);
  let detail: string;
  if (view.phase === 'waiting') detail = 'waiting';
  else if (view.phase === 'running')
    detail = `resyncing: ${progressCount(view.items, view.estimatedItems)} items${view.part && view.part > 1 ? ` (part ${view.part})` : ''}`;
  else if (view.phase === 'ok') detail = `ok: ${view.items} items, ${view.deleted} deleted`;
  else detail = `failed after ${view.items} items${view.error ? `: ${describeFeedbackError(view.error)}` : ''}`;
  return `${view.plugin.padEnd(nameWidth)}  ${bar}  ${detail}`;
}

/** Every plugin's progress line (or a line saying the resync has not begun). */
export function progressLines(view: ResyncView): string[] {
  if (view.plugins.length === 0) return [`resync ${view.resyncId}: waiting for the resync function to begin`];
  const width = Math.max(...view.plugins.map((plugin) => plugin.plugin.length));
  return view.plugins.map((plugin) => progressLine(plugin, width));
}

/** The closing line of a followed resync. */
export function resyncSummary(view: ResyncView): string {
  const failed = view.plugins.filter((plugin) => plugin.phase === 'failed').map((plugin) => plugin.plugin);
  return failed.length === 0
    ? `resync ${view.resyncId}: all ${view.plugins.length} plugin(s) ok`
    : `resync ${view.resyncId}: ${failed.length} of ${view.plugins.length} plugin(s) failed: ${failed.join(', ')}`;
}

/**
 * Draws a followed resync's progress. On a terminal the block of lines is redrawn in place
 * (cursor up over the last block, each line cleared and rewritten); otherwise a plugin's line is
 * printed each time it changes, so a log shows every step once.
 */
export function progressDrawer(out: (line: string) => void, tty: boolean): (view: ResyncView) => void {
  const draw = blockDrawer(out, tty);
  return (view) => draw(progressLines(view).map((line, index) => [view.plugins[index]?.plugin ?? '', line] as const));
}

function progressCount(items: number, estimated: number | undefined): string {
  return estimated ? `${items} of ~${Math.max(items, estimated)}` : String(items);
}

function describeFeedbackError(error: { name: string; code?: string; message: string }): string {
  return `${error.code ?? error.name}: ${error.message}`;
}
