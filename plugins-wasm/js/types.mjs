// Writes the TypeScript declarations of the plugin world (`wit/plugin.wit`) as a JavaScript
// plugin sees it: the `portunus:plugin/host` and `…/types` modules it imports and the
// functions it exports, with the WIT's docs. jco's bindings generator makes them (the one
// componentize-js uses, from the same pinned install); it is given the WIT's text, as its
// `jco types` command cannot read files in this setup.
//
//   node types.mjs <plugin.wit> <out dir> <node_modules dir>
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [wit, out, modules] = process.argv.slice(2);
if (!modules) {
  console.error('usage: node types.mjs <plugin.wit> <out dir> <node_modules dir>');
  process.exit(2);
}
const bindgen = join(modules, '@bytecodealliance', 'jco-transpile', 'vendor', 'js-component-bindgen-component.js');
const { $init, generateTypes } = await import(pathToFileURL(bindgen).href);
await $init;
const files = generateTypes('plugin', {
  wit: { tag: 'source', val: await readFile(wit, 'utf8') },
  world: 'plugin',
  guest: true,
  tlaCompat: false,
  features: { tag: 'list', val: [] },
});
for (const [name, bytes] of files) {
  const path = join(out, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
