/**
 * Pod authors cannot widen the exceptions the operator allows. Through the real
 * server: a skip annotation outside the allowed namespaces and a capability above the ceiling
 * are ignored, the pod is hardened anyway, and both are named in a warning and counted.
 */
import { Annotations } from '../../src/names';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import { metricValue, post, scrape, startTestServer, type TestServer } from '../support/http';
import { applyStrict, decodePatch } from '../support/strict-patch';

jest.setTimeout(30000);

describe('operator bounds on exceptions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      yaml: 'exceptions: { skipNamespaces: ["legacy-*"], capabilityCeiling: [NET_BIND_SERVICE] }',
    });
  });
  afterAll(() => server.shutdown('test done'));

  test('skip outside the allowed namespaces is ignored, with a warning and a metric', async () => {
    const object = pod(
      { containers: [{ name: 'app', image: 'a', securityContext: { privileged: true } }] },
      { [Annotations.skip]: 'true', [Annotations.skipContainers]: 'app' },
    );
    const reply = await post(server, '/mutate', podReview(object, { namespace: 'team' }));
    expect(reply.status).toBe(200);
    const hardened = applyStrict(object, decodePatch(reply.json.response));
    expect(hardened.spec.containers[0].securityContext).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
    });
    expect(reply.json.response.warnings).toEqual(
      expect.arrayContaining([
        `pod-hardener: pod: annotation ${Annotations.skip} ignored: skipping is not allowed in namespace "team"; a cluster operator can allow it by adding the namespace to exceptions.skipNamespaces in pod-hardener's configuration`,
        `pod-hardener: pod: annotation ${Annotations.skipContainers} ignored: skipping is not allowed in namespace "team"; a cluster operator can allow it by adding the namespace to exceptions.skipNamespaces in pod-hardener's configuration`,
      ]),
    );
    expect(
      metricValue(await scrape(server), 'pod_hardener_exceptions_denied_total', {
        kind: 'skipDenied',
      }),
    ).toBe(2);
  });

  test('the same skip inside an allowed namespace is honoured and counted as an exception', async () => {
    const object = pod({}, { [Annotations.skip]: 'true' });
    const reply = await post(server, '/mutate', podReview(object, { namespace: 'legacy-erp' }));
    expect(reply.json.response.patch).toBeUndefined();
    expect(
      metricValue(await scrape(server), 'pod_hardener_exceptions_total', { kind: 'skipPod' }),
    ).toBe(1);
  });

  test('a capability above the ceiling is removed even when annotated, with a warning and a metric', async () => {
    const object = pod(
      {
        containers: [
          {
            name: 'app',
            image: 'a',
            securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_BIND_SERVICE'] } },
          },
        ],
      },
      {
        [Annotations.allowedCapabilities]: 'NET_ADMIN,NET_BIND_SERVICE',
      },
    );
    const reply = await post(server, '/mutate', podReview(object, { namespace: 'team' }));
    const hardened = applyStrict(object, decodePatch(reply.json.response));
    expect(hardened.spec.containers[0].securityContext.capabilities).toEqual({
      add: ['NET_BIND_SERVICE'],
      drop: ['ALL'],
    });
    expect(reply.json.response.warnings).toContain(
      `pod-hardener: pod: ${Annotations.allowedCapabilities} lists "NET_ADMIN", above the operator's ceiling (exceptions.capabilityCeiling); not kept`,
    );
    expect(
      metricValue(await scrape(server), 'pod_hardener_exceptions_denied_total', {
        kind: 'capabilityAboveCeiling',
      }),
    ).toBe(1);
  });
});
