// `npm run build` (and `prepack`): the published package. The library, the `datasync` command and
// what it runs are compiled to dist/ (tsconfig.build.json); the service definition that services
// made with `datasync init` include is written to dist/service/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// This repository's services read the bundling options from infra/; an installed service reads
// the package's copy of the same file, which bundles the package's compiled modules.
const SOURCE_CONFIG = 'config: ./infra/esbuild.config.cjs';
const PACKAGE_CONFIG = 'config: ./node_modules/serverless-datasync/infra/esbuild.config.cjs';

/** infra/service/<file> as an installed service includes it. */
export function installedServiceFile(file: string, text: string): string {
  if (file !== 'custom.yml') return text;
  const occurrences = text.split(SOURCE_CONFIG).length - 1;
  if (occurrences !== 1) throw new Error(`infra/service/custom.yml: expected the line ${SOURCE_CONFIG} once`);
  return text.replace(SOURCE_CONFIG, PACKAGE_CONFIG);
}

function build(): void {
  rmSync(dist, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${tsc.status ?? tsc.signal})`);
  const from = join(root, 'infra', 'service');
  const to = join(dist, 'service');
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from).filter((name) => name.endsWith('.yml'))) {
    writeFileSync(join(to, file), installedServiceFile(file, readFileSync(join(from, file), 'utf8')));
  }
  // The embedded emulator's launcher, next to the compiled module that runs it (infra/local/emulator.ts).
  copyFileSync(join(root, 'infra', 'local', 'moto-server.py'), join(dist, 'infra', 'local', 'moto-server.py'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) build();
