'use strict';
/*
 * Lets a benchmark require the project's TypeScript (test/e2e/support, src/) without a build
 * step: each .ts file is transpiled on require with the compiler options of tsconfig.json
 * (typescript's transpileModule: no type check, which `npm run typecheck` does). Used by
 * bench/cluster.js to start the control plane and the webhook exactly as the e2e tests do.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');

const root = join(__dirname, '..', '..');
const { config, error } = ts.readConfigFile(join(root, 'tsconfig.json'), (f) =>
  readFileSync(f, 'utf8'),
);
if (error)
  throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, root);
const compilerOptions = {
  ...options,
  module: ts.ModuleKind.CommonJS,
  sourceMap: false,
  inlineSourceMap: true,
  outDir: undefined,
};

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    compilerOptions,
    fileName: filename,
  });
  module._compile(outputText, filename);
};
