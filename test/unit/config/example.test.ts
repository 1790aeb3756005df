import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load';
import { knownKeys } from '../../../src/config/schema';

const EXAMPLE = join(__dirname, '..', '..', '..', 'examples', 'config.yaml');
const readFile = (p: string) => readFileSync(p, 'utf8');

test('examples/config.yaml loads and states exactly the defaults', () => {
  const example = loadConfig({ argv: ['--config', EXAMPLE], env: {}, readFile });
  expect(example.config).toEqual(loadConfig({ argv: [], env: {}, readFile }).config);
});

test('examples/config.yaml mentions every key of the schema', () => {
  const text = readFile(EXAMPLE);
  const missing: string[] = [];
  const walk = (path: string[]) => {
    for (const key of knownKeys(path)) {
      if (!new RegExp(`^\\s*#?\\s*${key}:`, 'm').test(text)) missing.push([...path, key].join('.'));
      walk([...path, key]);
    }
  };
  walk([]);
  expect(missing).toEqual([]);
});
