#!/usr/bin/env node
// Runs a TypeScript module of the repository outside jest (the regenerating scripts of
// test/regenerate, `npm run regenerate:*`) and calls its exported main(). Each .ts module is
// transpiled by the project's TypeScript as it is required, without a type check (`npm run
// typecheck` does that), as ts-jest does for the tests. Node's own type stripping cannot load
// them: the sources import each other without file extensions.
//
//   node scripts/run-ts.js test/regenerate/chart-schema.ts [ARGS...]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true,
};
// Registering the extension also lets require() resolve './x' to './x.ts'.
require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
process.setSourceMapsEnabled(true);

const [file, ...args] = process.argv.slice(2);
if (!file || !file.endsWith('.ts')) {
  console.error('usage: node scripts/run-ts.js FILE.ts [ARGS...]');
  process.exit(2);
}
const { main } = require(path.resolve(file));
if (typeof main !== 'function') {
  console.error(`${file} exports no main()`);
  process.exit(2);
}
Promise.resolve()
  .then(() => main(args))
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
