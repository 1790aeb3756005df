// One Node.js LTS line everywhere: the version the test and start commands install
// (.node-version), the Dockerfile's base image and package.json's engines.
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

test('.node-version, the Dockerfile base image and engines name the same major version', () => {
  const major = read('.node-version').trim().replace(/^v/, '').split('.')[0];
  expect(major).toMatch(/^\d+$/);
  expect(read('Dockerfile')).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${major}-`, 'm'));
  expect(JSON.parse(read('package.json')).engines.node).toBe(`>=${major}`);
});
