/**
 * The webhook's series that the Grafana dashboard reads are the ones the real server exports:
 * scraped after reviews of every kind the dashboard shows (hardened, skipped, an exception
 * refused, a failing review, an image identity lookup that fails), each with the labels the
 * dashboard's queries match or group by. The API server's series are checked in the e2e tier.
 */
import { Annotations } from '../../src/names';
import {
  APISERVER_SAMPLES,
  exposedLabels,
  exposedSamples,
  labelsByMetric,
  PROMETHEUS_SAMPLES,
  TARGET_LABELS,
} from '../support/dashboard';
import { eventually } from '../support/eventually';
import { closedPort, post, scrape, startTestServer, type TestServer } from '../support/http';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';

jest.setTimeout(60000);

describe('the webhook series the Grafana dashboard reads', () => {
  let server: TestServer;
  let text: string;

  beforeAll(async () => {
    const registry = `127.0.0.1:${await closedPort()}`;
    server = await startTestServer({
      defaultMetrics: true,
      yaml: JSON.stringify({
        exceptions: { skipNamespaces: ['legacy-*'] },
        imageIdentity: {
          enabled: true,
          registries: [registry],
          insecureRegistries: [registry],
          budgetMs: 200,
          lookupTimeoutMs: 1000,
        },
      }),
    });
    const review = (object: unknown, namespace = 'team') =>
      post(server, '/mutate', podReview(object, { namespace }));
    expect((await review(pod())).status).toBe(200);
    await review(pod({}, { [Annotations.skip]: 'true' })); // refused: skipDenied
    await review(pod({}, { [Annotations.skip]: 'true' }), 'legacy-erp'); // honoured: skipPod
    await review(pod({ containers: [{ name: 'app', image: `${registry}/app:1` }] }));
    // A failing review: not an AdmissionReview.
    expect((await post(server, '/mutate', { apiVersion: 'v1', kind: 'Pod' })).json).toBeDefined();
    // The registry lookup may end after the review that asked for it.
    text = await eventually(
      async () => {
        const t = await scrape(server);
        return (
          exposedSamples(t).has('pod_hardener_image_identity_fetch_duration_seconds_bucket') && t
        );
      },
      { what: 'the registry fetch observed', timeoutMs: 10_000, everyMs: 100 },
    );
  });
  afterAll(() => server?.shutdown('test done'));

  test('every metric the dashboard reads outside the API server is exported', () => {
    const samples = exposedSamples(text);
    const missing = [...labelsByMetric().keys()].filter(
      (n) => !APISERVER_SAMPLES.includes(n) && !PROMETHEUS_SAMPLES.includes(n) && !samples.has(n),
    );
    expect(missing).toEqual([]);
  });

  test('with every label the dashboard matches or groups by', () => {
    const missing: string[] = [];
    for (const [metric, labels] of labelsByMetric()) {
      if (!metric.startsWith('pod_hardener_')) continue;
      const exposed = exposedLabels(text, metric);
      for (const l of labels)
        if (!TARGET_LABELS.includes(l) && !exposed.has(l)) missing.push(`${metric} ${l}`);
    }
    expect(missing).toEqual([]);
  });
});
