// Builds one JavaScript plugin into a WebAssembly component with componentize-js, through its
// JavaScript API (its `jco componentize` CLI cannot read files in this setup).
//
//   node build.mjs <plugin.js> <wit dir> <out.wasm> <node_modules dir>
//
// The component imports only the plugin world's `host` interface: every WASI feature of the
// engine is disabled (no stdio, clocks, random or HTTP), so the sandbox is what the WIT says.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [source, wit, out, modules] = process.argv.slice(2);
if (!modules) {
  console.error('usage: node build.mjs <plugin.js> <wit dir> <out.wasm> <node_modules dir>');
  process.exit(2);
}
const entry = join(modules, '@bytecodealliance', 'componentize-js', 'src', 'componentize.js');
const { componentize } = await import(pathToFileURL(entry).href);
const { component } = await componentize({
  sourcePath: source,
  witPath: wit,
  worldName: 'plugin',
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(out, component);
