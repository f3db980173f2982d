// `datasync init`: a new service that depends on the installed package. The files come from the
// package's scaffold/ folder; serverless.yml there includes the service definition (parameters,
// provider, functions, resources) from the package, so the new service has the same resources,
// roles and functions as this repository's and follows the package when it is upgraded.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';

/** What the templates say where the service's name goes. */
export const NAME_PLACEHOLDER = 'SCAFFOLD_SERVICE_NAME';

/**
 * A service name: lower-case letters, digits and hyphens, starting with a letter. Every resource
 * is named `<service>-<stage>-…`, and Lambda function and IAM role names stop at 64 characters,
 * so the name stops at 32.
 */
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Template files whose name npm would not keep in a package, and the name they get. */
const RENAMED: Readonly<Record<string, string>> = { gitignore: '.gitignore' };

/** The folder of the serverless-datasync package this code belongs to (the sources or an install). */
export function packageRoot(): string {
  return dirname(createRequire(import.meta.url).resolve('serverless-datasync/package.json'));
}

export interface CreatedService {
  readonly dir: string;
  readonly name: string;
  /** The files written, relative to `dir`. */
  readonly files: readonly string[];
}

/** The wrong input `createService` refuses, with what to do instead. */
export class ScaffoldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

/**
 * Writes a new service into `dir` (which must not exist or be empty): the scaffold's files and a
 * package.json that depends on this package's version and pins the tools it was tested with.
 * @throws ScaffoldError for a folder that is not empty or a name that cannot name a service.
 */
export function createService(options: { dir: string; name?: string; root?: string }): CreatedService {
  const root = options.root ?? packageRoot();
  const dir = resolve(options.dir);
  const name = options.name ?? basename(dir);
  if (!SERVICE_NAME.test(name)) {
    throw new ScaffoldError(
      `"${name}" cannot name a service: use 1 to 32 lower-case letters, digits and hyphens, starting with a letter` +
        (options.name === undefined ? ' (or give one with --name)' : ''),
    );
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new ScaffoldError(`${dir} is not empty`);

  const templates = join(root, 'scaffold');
  const written: string[] = [];
  for (const template of filesUnder(templates)) {
    const path = relative(templates, template)
      .split('/')
      .map((part) => RENAMED[part] ?? part)
      .join('/');
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readFileSync(template, 'utf8').replaceAll(NAME_PLACEHOLDER, name));
    written.push(path);
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(servicePackage(root, name), null, 2)}\n`);
  written.push('package.json');
  return { dir, name, files: written.sort() };
}

/** Tools a service needs to check, bundle and deploy itself; their versions are the package's own. */
const TOOLS = ['@types/node', 'esbuild', 'osls', 'serverless-esbuild', 'typescript'] as const;

interface PackageJson {
  name: string;
  version: string;
  devDependencies?: Record<string, string>;
}

/** The new service's package.json. */
export function servicePackage(root: string, name: string): object {
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const devDependencies: Record<string, string> = {};
  for (const tool of TOOLS) {
    const version = own.devDependencies?.[tool];
    if (!version) throw new Error(`${own.name}'s package.json names no version of ${tool}`);
    devDependencies[tool] = version;
  }
  return {
    name,
    version: '0.1.0',
    private: true,
    description: 'A serverless-datasync service',
    type: 'module',
    // The scripts run the TypeScript sources as they are: Node.js strips types by default from 22.18.
    engines: { node: '>=22.18' },
    scripts: {
      start: 'datasync local',
      test: 'tsc --noEmit -p . && node --test "test/**/*.test.ts"',
    },
    dependencies: { [own.name]: `^${own.version}` },
    devDependencies,
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]));
}
