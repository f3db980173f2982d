/** Text a person reads in a terminal: aligned tables, progress bars, blocks redrawn in place. */

/** Formats rows under headers as an aligned table with a rule under the header; numbers are right-aligned. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  const numeric = headers.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '─'.repeat(width)).join('  '), ...cells.map(line)].join('\n');
}

/** A bar such as `[########----------------]` for `done` of `total`; empty while the total is unknown. */
export function progressBar(done: number, total: number | undefined, width = 24): string {
  const fraction = total !== undefined && total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/**
 * Draws a block of lines that changes over time (one line per plugin of a resync, say). On a
 * terminal the block is redrawn in place (cursor up over the last block, each line cleared and
 * rewritten); otherwise a line is printed only when it changed, so a log shows every step once.
 * Each line has an id that stays the same while its text changes.
 */
export function blockDrawer(
  out: (line: string) => void,
  tty: boolean,
): (lines: ReadonlyArray<readonly [id: string, text: string]>) => void {
  let drawn = 0;
  const printed = new Map<string, string>();
  return (lines) => {
    if (tty) {
      for (const [index, [, text]] of lines.entries())
        out(`${index === 0 && drawn > 0 ? `\x1b[${drawn}A` : ''}\r\x1b[2K${text}`);
      for (let extra = lines.length; extra < drawn; extra += 1) out('\x1b[2K');
      drawn = Math.max(drawn, lines.length);
      return;
    }
    for (const [id, text] of lines) {
      if (printed.get(id) === text) continue;
      printed.set(id, text);
      out(text);
    }
  };
}
