import { progressBar } from '../../lib/cli/render.ts';
import type { ResyncProgress } from '../../lib/resync/progress.ts';

/** One line per plugin: a bar redrawn in place on a terminal, start and end lines otherwise. */
export class ProgressView {
  readonly #tty: boolean;
  #order: string[] = [];
  #lines = new Map<string, string>();
  #drawn = 0;

  constructor(tty: boolean) {
    this.#tty = tty;
  }

  reset(): void {
    this.#order = [];
    this.#lines.clear();
    this.#drawn = 0;
  }

  update(progress: ResyncProgress): void {
    const total = progress.phase === 'finished' ? progress.items : progress.estimatedItems;
    const state = progress.phase === 'finished' ? 'done' : progress.phase === 'failed' ? 'FAILED' : progress.phase === 'checkpoint' ? 'continues' : 'running';
    const line = `   ${progress.plugin.padEnd(12)} ${progressBar(progress.items, total)}  ${progress.items} items, ${progress.deleted} deleted  ${state}`;
    if (!this.#tty) {
      if (progress.phase !== 'page') console.log(line);
      return;
    }
    if (!this.#lines.has(progress.plugin)) this.#order.push(progress.plugin);
    this.#lines.set(progress.plugin, line);
    // Move up over the bars drawn so far and draw them all again.
    if (this.#drawn > 0) process.stdout.write(`\x1b[${this.#drawn}A`);
    for (const plugin of this.#order) process.stdout.write(`\x1b[2K${this.#lines.get(plugin)}\n`);
    this.#drawn = this.#order.length;
  }
}
