// The polling helper every tier waits with: what it returns, and what its timeout says.
import { eventually } from '../../support/eventually';

const quick = { timeoutMs: 200, everyMs: 5 };
/** The error a promise rejects with; a promise that resolves fails the test. */
const failure = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    (v) => {
      throw new Error(`resolved with ${String(v)}`);
    },
    (e: Error) => e,
  );

test('returns the first value other than undefined or false, and stops trying', async () => {
  let calls = 0;
  const values = [undefined, false, 0, 'later'];
  await expect(eventually(() => values[calls++], { what: 'a value', ...quick })).resolves.toBe(0);
  expect(calls).toBe(3);
});

test('an attempt that throws is tried again', async () => {
  let calls = 0;
  const value = await eventually(
    async () => {
      if (++calls < 3) throw new Error('not listening yet');
      return 'up';
    },
    { what: 'the server', ...quick },
  );
  expect([value, calls]).toEqual(['up', 3]);
});

test('the timeout names what was awaited and the last error, kept as its cause', async () => {
  let calls = 0;
  const err = await failure(
    eventually(
      () => {
        calls++;
        throw new Error(`connection refused #${calls}`);
      },
      { what: 'the server to listen', ...quick },
    ),
  );
  expect(err.message).toMatch(
    new RegExp(
      `^timed out after 200 ms waiting for the server to listen \\(${calls} attempts\\); ` +
        `the last attempt failed with: connection refused #${calls}$`,
    ),
  );
  expect((err.cause as Error).message).toBe(`connection refused #${calls}`);
});

test('an error followed by attempts that only said "not yet" is still reported, with its attempt', async () => {
  let calls = 0;
  const err = await failure(
    eventually(
      () => {
        if (++calls === 1) throw new Error('kubectl: connection reset');
        return false;
      },
      { what: 'the pod', ...quick },
    ),
  );
  expect(err.message).toContain('attempt 1 failed with: kubectl: connection reset');
});

test('without errors the timeout says only what was awaited, in seconds from 1 s up', async () => {
  const err = await failure(
    eventually(() => false, {
      what: 'nothing',
      timeoutMs: 1000,
      everyMs: 100,
    }),
  );
  expect(err.message).toMatch(/^timed out after 1 s waiting for nothing \(\d+ attempts\)$/);
  expect(err.cause).toBeUndefined();
});
