// The library's layers: lower folders never import higher ones, and no file reaches itself again
// through its imports. A cycle makes the ground floor depend on the top: a change to the resync
// engine would then reach the model, and a bundle of one source would carry the others.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = resolve(__dirname, '../../lib');

/** Every .ts file under lib/, relative to it. */
function sources(dir = LIB): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [relative(LIB, path)] : [];
  });
}

/** The lib files a file imports (type-only imports included: they tie the layers too). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(LIB, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
    found.push(relative(LIB, resolve(dirname(join(LIB, file)), match[1]!)));
  }
  return found;
}

const graph = new Map(sources().map((file) => [file, importsOf(file)]));

/** The folder a lib file belongs to: its first path segment, or the file itself at the top. */
function layerOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : file;
}

// From the bottom up. A file may import its own layer and the layers listed before it.
const ORDER = [
  'errors.ts',
  'model',
  'config.ts',
  'aws',
  'observability',
  'plugins',
  'feedback',
  'lambda',
  'dispatch',
  'state',
  'resync',
  'publish',
  'core.ts',
  'sources',
  'datasync.ts',
  'cli',
  'index.ts',
];

describe('lib/ layers', () => {
  it('knows the layer of every file', () => {
    const unknown = [...graph.keys()].filter((file) => !ORDER.includes(layerOf(file)));
    expect(unknown).toEqual([]);
  });

  it('has no file that imports a higher layer', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        if (ORDER.indexOf(layerOf(target)) > ORDER.indexOf(layerOf(file))) upward.push(`${file} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === 'open') cycles.push([...path.slice(path.indexOf(target)), target].join(' -> '));
        else if (!state.has(target)) visit(target);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
