// Builds one JavaScript plugin into a WebAssembly component with componentize-js, through its
// JavaScript API (its `jco componentize` CLI cannot read files in this setup).
//
//   node build.mjs <plugin.js> <wit dir> <out.wasm> <node_modules dir> [<weval>]
//
// The component imports only the plugin world's `host` interface: every WASI feature of the
// engine is disabled (no stdio, clocks, random or HTTP), so the sandbox is what the WIT says.
//
// With a `weval` binary the engine's interpreter is specialised to the plugin's code ahead of
// time (componentize-js's AOT mode). weval sees only the plugin's own folder, so the plugin is
// built from a copy of that folder with the SDK beside it (`./sdk/portunus.js`).
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [source, wit, out, modules, weval] = process.argv.slice(2);
if (!modules) {
  console.error('usage: node build.mjs <plugin.js> <wit dir> <out.wasm> <node_modules dir> [<weval>]');
  process.exit(2);
}
const entry = join(modules, '@bytecodealliance', 'componentize-js', 'src', 'componentize.js');
const { componentize } = await import(pathToFileURL(entry).href);
const options = {
  sourcePath: source,
  witPath: wit,
  worldName: 'plugin',
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
};

// The SDK's import, from wherever the plugin sits under plugins-wasm/.
const SDK_IMPORT = /(['"])(?:\.\.\/)+(?:js\/)?sdk\/portunus\.js\1/g;

let stage;
try {
  if (weval) {
    stage = await mkdtemp(join(tmpdir(), 'portunus-js-'));
    const folder = dirname(resolve(source));
    await cp(folder, stage, { recursive: true });
    await cp(join(dirname(new URL(import.meta.url).pathname), 'sdk'), join(stage, 'sdk'), { recursive: true });
    for (const name of await readdir(stage)) {
      if (!name.endsWith('.js')) continue;
      const file = join(stage, name);
      await writeFile(file, (await readFile(file, 'utf8')).replace(SDK_IMPORT, "'./sdk/portunus.js'"));
    }
    Object.assign(options, { sourcePath: join(stage, basename(source)), enableAot: true, wevalBin: weval });
  }
  const { component } = await componentize(options);
  await writeFile(out, component);
} finally {
  if (stage) await rm(stage, { recursive: true, force: true });
}
