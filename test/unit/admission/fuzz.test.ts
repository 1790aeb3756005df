import { runFuzz } from '../../fuzz/review-fuzzer';

// CI runs a sample; `npm run fuzz` runs FUZZ_CASES=100000 and prints the count. 10,000 (about
// 10 s): a guard bug that one case in some ten thousand reached slipped through 3,000 once.
const CASES = Number(process.env.FUZZ_CASES ?? 10000);

describe('fuzzing the review function with malformed and adversarial AdmissionReviews', () => {
  it(`answers ${CASES} generated cases with a well-formed response or a 4xx`, () => {
    const started = Date.now();
    const stats = runFuzz(CASES);
    process.stdout.write(
      `fuzz: ${stats.cases} cases checked (${stats.patched} patched, ${stats.unchanged} unchanged, ${stats.rejected4xx} rejected 4xx) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    // Every generated case was reviewed and checked, and fell in exactly one class; each class
    // is reached, or the generator has stopped producing what it is meant to.
    expect(stats.cases).toBe(CASES);
    expect(stats.patched + stats.unchanged + stats.rejected4xx).toBe(stats.cases);
    expect(stats.patched).toBeGreaterThan(0);
    expect(stats.unchanged).toBeGreaterThan(0);
    expect(stats.rejected4xx).toBeGreaterThan(0);
  }, 1_800_000);
});
