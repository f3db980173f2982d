// A service made by `datasync init` and this repository's own service are one shape: the same
// serverless.yml apart from where the included files are, and the same thin functions apart
// from where they import the library from. These tests fail as soon as the two drift apart.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { installedServiceFile } from '../../infra/build-package.ts';
import { createService, NAME_PLACEHOLDER, servicePackage } from '../../infra/scaffold/create-service.ts';
import * as library from '../../lib/index.ts';

const root = resolve(__dirname, '../..');
const scaffold = join(root, 'scaffold');
const read = (path: string) => readFileSync(path, 'utf8');

// CloudFormation tags are kept as plain values: only the framework's own structure matters here.
const yaml = (text: string): unknown => parse(text, { logLevel: 'silent' });

interface ImportOf {
  readonly from: string;
  readonly names: readonly string[];
}

/** The `import { … } from '…'` statements of a file, with the names each brings in. */
function importsOf(text: string): ImportOf[] {
  return [...text.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)';/gm)].map((match) => ({
    from: match[2]!,
    names: match[1]!
      .split(',')
      .map((name) => name.trim().replace(/^type\s+/, ''))
      .filter(Boolean)
      .sort(),
  }));
}

/** A file's code without its imports, whitespace-normalized. */
function bodyOf(text: string): string {
  return text
    .replace(/^import\s[^;]*;\n/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const functionFiles = (dir: string) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.ts') && file !== 'app.ts')
    .sort();

describe('the scaffold and this repository are one service shape', () => {
  it('serverless.yml: the same blocks, included from the installed package instead of infra/', () => {
    const ours = yaml(read(join(root, 'serverless.yml')));
    const theirs = read(join(scaffold, 'serverless.yml'))
      .replaceAll(NAME_PLACEHOLDER, 'serverless-datasync')
      .replaceAll('node_modules/serverless-datasync/dist/service/', 'infra/service/')
      .replaceAll('node_modules/serverless-datasync/infra/', 'infra/');
    expect(yaml(theirs)).toEqual(ours);
  });

  it('dist/service/ holds infra/service/ with only the bundling options taken from the package', () => {
    for (const file of readdirSync(join(root, 'infra', 'service'))) {
      const text = read(join(root, 'infra', 'service', file));
      const installed = installedServiceFile(file, text);
      if (file !== 'custom.yml') expect(installed).toBe(text);
      else {
        const esbuild = (yaml(installed) as { esbuild: { config: string } }).esbuild;
        expect(esbuild).toEqual({ config: './node_modules/serverless-datasync/infra/esbuild.config.cjs' });
        expect({ ...(yaml(installed) as object), esbuild: {} }).toEqual({ ...(yaml(text) as object), esbuild: {} });
      }
    }
  });

  it('the package exports the credential module the installed service file names', () => {
    const manifest = JSON.parse(read(join(root, 'package.json'))) as { exports: Record<string, unknown> };
    expect(manifest.exports['./lambda-credentials']).toEqual({
      types: './dist/lib/aws/clients/lambda-credentials.d.ts',
      default: './dist/lib/aws/clients/lambda-credentials.js',
    });
  });

  it('functions/: the same entry points, with the same code', () => {
    expect(functionFiles(join(scaffold, 'functions'))).toEqual(functionFiles(join(root, 'functions')));
    for (const file of functionFiles(join(root, 'functions'))) {
      const ours = read(join(root, 'functions', file));
      const theirs = read(join(scaffold, 'functions', file));
      expect(bodyOf(theirs)).toBe(bodyOf(ours));
      // What each takes from app.ts is the same; everything else comes from the package's entry.
      const fromApp = (imports: ImportOf[]) => imports.filter((entry) => entry.from === './app.ts');
      expect(fromApp(importsOf(theirs))).toEqual(fromApp(importsOf(ours)));
      const library = importsOf(theirs).filter((entry) => entry.from !== './app.ts');
      expect(library.map((entry) => entry.from)).toEqual(['serverless-datasync']);
      const ourNames = importsOf(ours)
        .filter((entry) => entry.from.startsWith('../lib/'))
        .flatMap((entry) => entry.names)
        .sort();
      expect(library[0]!.names).toEqual(ourNames);
    }
  });

  it('the package exports every value the scaffold imports from it', () => {
    const exported = new Set(Object.keys(library));
    const types = read(join(root, 'lib', 'index.ts'));
    for (const file of [
      ...readdirSync(join(scaffold, 'functions')).map((name) => join('functions', name)),
      join('plugins', 'greetings.ts'),
      join('test', 'greetings.test.ts'),
    ]) {
      for (const entry of importsOf(read(join(scaffold, file))).filter((each) => each.from === 'serverless-datasync')) {
        for (const name of entry.names) {
          const original = name.split(/\s+as\s+/)[0]!;
          if (!exported.has(original)) expect(types).toMatch(new RegExp(`\\b${original}\\b`));
        }
      }
    }
  });

  it('functions/app.ts exports what the functions take from it, in both', () => {
    const wanted = new Set(
      functionFiles(join(root, 'functions')).flatMap((file) =>
        importsOf(read(join(root, 'functions', file)))
          .filter((entry) => entry.from === './app.ts')
          .flatMap((entry) => entry.names),
      ),
    );
    for (const app of [join(root, 'functions', 'app.ts'), join(scaffold, 'functions', 'app.ts')]) {
      const exported = [...read(app).matchAll(/^export (?:const|let|async function|function|class) (\w+)/gm)].map(
        (match) => match[1],
      );
      expect(exported).toEqual(expect.arrayContaining([...wanted]));
    }
  });
});

describe('createService', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'datasync-init-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the scaffold under the service name, with a package.json on this package', () => {
    const created = createService({ dir: join(dir, 'orders-sync'), root });
    expect(created.name).toBe('orders-sync');
    expect(created.files).toEqual([
      '.gitignore',
      'README.md',
      'functions/app.ts',
      'functions/dynamodb-stream.ts',
      'functions/eventbridge.ts',
      'functions/http.ts',
      'functions/resync.ts',
      'functions/sqs.ts',
      'package.json',
      'plugins/greetings.ts',
      'serverless.yml',
      'test/greetings.test.ts',
      'tsconfig.json',
    ]);
    const service = yaml(read(join(created.dir, 'serverless.yml'))) as { service: string };
    expect(service.service).toBe('orders-sync');
    expect(read(join(created.dir, 'README.md'))).toMatch(/^# orders-sync\n/);
    for (const file of created.files) expect(read(join(created.dir, file))).not.toContain(NAME_PLACEHOLDER);

    const ownPackage = JSON.parse(read(join(root, 'package.json'))) as {
      version: string;
      devDependencies: Record<string, string>;
    };
    const written = JSON.parse(read(join(created.dir, 'package.json')));
    expect(written).toEqual(servicePackage(root, 'orders-sync'));
    expect(written).toMatchObject({
      name: 'orders-sync',
      type: 'module',
      scripts: { start: 'datasync local' },
      dependencies: { 'serverless-datasync': `^${ownPackage.version}` },
      devDependencies: {
        osls: ownPackage.devDependencies.osls,
        'serverless-esbuild': ownPackage.devDependencies['serverless-esbuild'],
        typescript: ownPackage.devDependencies.typescript,
      },
    });
  });

  it('takes --name over the folder name', () => {
    expect(createService({ dir: join(dir, 'Some Folder'), name: 'billing', root }).name).toBe('billing');
  });

  it('refuses a folder that is not empty, and changes nothing in it', () => {
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    expect(() => createService({ dir, name: 'svc', root })).toThrow(/is not empty/);
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it.each([
    ['Upper', /cannot name a service/],
    ['1st', /cannot name a service/],
    ['with_underscore', /cannot name a service/],
    ['a'.repeat(33), /cannot name a service/],
  ])('refuses the name %s', (name, message) => {
    expect(() => createService({ dir: join(dir, 'x'), name, root })).toThrow(message);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('says to give --name when the folder name cannot name a service', () => {
    expect(() => createService({ dir: join(dir, 'My Service'), root })).toThrow(/or give one with --name/);
  });
});
