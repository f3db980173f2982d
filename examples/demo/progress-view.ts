import { blockDrawer, progressBar } from '../../lib/cli/render.ts';
import type { ResyncProgress } from '../../lib/resync/progress.ts';

/** A resync's progress in the demo: one line per plugin, in the order the plugins started. */
export class ProgressView {
  readonly #out: (line: string) => void;
  readonly #tty: boolean;
  #draw: ReturnType<typeof blockDrawer>;
  readonly #lines = new Map<string, string>();

  constructor(tty: boolean, out: (line: string) => void = (line) => process.stdout.write(tty ? line : `${line}\n`)) {
    this.#out = tty ? (line) => out(`${line}\n`) : out;
    this.#tty = tty;
    this.#draw = blockDrawer(this.#out, tty);
  }

  /** Starts a new block (the next resync). */
  reset(): void {
    this.#lines.clear();
    this.#draw = blockDrawer(this.#out, this.#tty);
  }

  update(progress: ResyncProgress): void {
    const done = progress.phase === 'finished';
    const state = done
      ? 'done'
      : progress.phase === 'failed'
        ? 'FAILED'
        : progress.phase === 'checkpoint'
          ? 'continues'
          : 'running';
    const bar = done ? progressBar(1, 1) : progressBar(progress.items, progress.estimatedItems);
    this.#lines.set(
      progress.plugin,
      `   ${progress.plugin.padEnd(12)} ${bar}  ${progress.items} items, ${progress.deleted} deleted  ${state}`,
    );
    // Without a terminal, pages are not worth a line each: the start and end of each plugin are.
    if (!this.#tty && progress.phase === 'page') return;
    this.#draw([...this.#lines]);
  }
}
