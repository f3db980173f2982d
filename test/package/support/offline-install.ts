// Installs a scratch project the way a user's `npm install` would, but from the npm cache alone:
// no registry is asked. The cache holds every tarball this repository's `npm ci` fetched, but not
// the registry's package documents that resolving version ranges needs, so the project gets a
// lockfile made from this repository's: the same resolved tree (same versions, same nesting) cut
// down to what the project's dependencies reach, plus the packed tarballs as `file:` entries.
// `npm ci --offline` then installs it as it would any locked project.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

interface ProjectPackage {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** This repository's lockfile. */
function repoLock(root: string): Record<string, LockEntry> {
  return (JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> })
    .packages;
}

/** The package whose node_modules holds the package at `path` (`''`: the project). */
function enclosing(path: string): string {
  const at = path.lastIndexOf('/node_modules/');
  return at < 0 ? '' : path.slice(0, at);
}

/** The package.json inside a packed tarball. */
export function tarballManifest(tarball: string): LockEntry & { name: string; version: string } {
  return JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
}

/**
 * Writes `projectDir/package-lock.json` for the project's package.json, with each package named in
 * `tarballs` taken from that tarball (its package.json entry is pointed at the file too), and runs
 * `npm ci --offline` there with `node` (the test's Node) first on the PATH.
 */
export function installOffline(
  projectDir: string,
  options: { repoRoot: string; tarballs: Readonly<Record<string, string>>; env?: NodeJS.ProcessEnv },
): { durationMs: number; packages: number } {
  const manifestPath = join(projectDir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ProjectPackage;
  for (const [name, tarball] of Object.entries(options.tarballs)) {
    const spec = `file:${relative(projectDir, tarball)}`;
    if (manifest.dependencies?.[name] !== undefined) manifest.dependencies[name] = spec;
    else if (manifest.devDependencies?.[name] !== undefined) manifest.devDependencies[name] = spec;
    else throw new Error(`${manifestPath} does not depend on ${name}`);
  }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  const source = repoLock(options.repoRoot);
  const packages: Record<string, LockEntry> = {};
  const pending: Array<{ from: string; name: string; optional: boolean }> = [];
  const want = (from: string, dependencies: Record<string, string> | undefined, optional = false) => {
    for (const name of Object.keys(dependencies ?? {})) pending.push({ from, name, optional });
  };
  for (const [name, tarball] of Object.entries(options.tarballs)) {
    const { name: _name, version, dependencies, bin, engines, license } = tarballManifest(tarball);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    packages[`node_modules/${name}`] = {
      version,
      resolved: `file:${relative(projectDir, tarball)}`,
      integrity,
      ...(license ? { license } : {}),
      ...(dependencies ? { dependencies } : {}),
      ...(bin ? { bin } : {}),
      ...(engines ? { engines } : {}),
    };
    want(`node_modules/${name}`, dependencies);
  }
  const tarballNames = new Set(Object.keys(options.tarballs));
  want(
    '',
    Object.fromEntries(
      Object.entries({ ...manifest.dependencies, ...manifest.devDependencies }).filter(
        ([name]) => !tarballNames.has(name),
      ),
    ),
  );
  // Node's lookup: the dependant's own node_modules, then each enclosing one up to the top.
  while (pending.length > 0) {
    const { from, name, optional } = pending.pop()!;
    let found: string | undefined;
    for (let at = from; ; at = enclosing(at)) {
      const candidate = at ? `${at}/node_modules/${name}` : `node_modules/${name}`;
      if (packages[candidate] || source[candidate]) {
        found = candidate;
        break;
      }
      if (!at) break;
    }
    if (!found) {
      if (optional) continue;
      throw new Error(`the repository's lockfile has no ${name} for ${from || 'the project'}`);
    }
    if (packages[found]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = source[found]!;
    packages[found] = entry;
    want(found, entry.dependencies);
    want(found, entry.optionalDependencies, true);
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (peer) => !entry.peerDependenciesMeta?.[peer]?.optional,
    );
    want(found, Object.fromEntries(peers.map((peer) => [peer, '*'])), true);
  }
  const lock = {
    name: manifest.name,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': {
        name: manifest.name,
        ...(manifest.dependencies ? { dependencies: manifest.dependencies } : {}),
        ...(manifest.devDependencies ? { devDependencies: manifest.devDependencies } : {}),
      },
      ...Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
  writeFileSync(join(projectDir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);

  const started = Date.now();
  const npm = spawnSync('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: projectDir,
    env: { ...process.env, ...options.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    encoding: 'utf8',
  });
  if (npm.status !== 0) throw new Error(`npm ci --offline in ${projectDir} failed:\n${npm.stdout}${npm.stderr}`);
  return { durationMs: Date.now() - started, packages: Object.keys(packages).length };
}
