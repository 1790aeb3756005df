import { ConfigError, loadConfig, LoadOptions, policySettings } from '../../../src/config/load';
import { DEFAULT_CONFIG, DEFAULT_POLICY, ENV_VARS } from '../../../src/config/schema';

/** loadConfig with an in-memory file system; `files` maps path to content. */
function load(
  o: { argv?: string[]; env?: Record<string, string>; files?: Record<string, string> } = {},
) {
  const files = o.files ?? {};
  const options: LoadOptions = {
    argv: o.argv ?? [],
    env: o.env ?? {},
    readFile: (path) => {
      const content = files[path];
      if (content === undefined)
        throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return content;
    },
  };
  return loadConfig(options);
}

/** The error list of a load that must fail. */
function errorsOf(o: Parameters<typeof load>[0]): readonly string[] {
  try {
    load(o);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).errors;
  }
  throw new Error('expected the configuration to be rejected');
}

const withFile = (yaml: string, env: Record<string, string> = {}) => ({
  argv: ['--config', '/etc/ph/config.yaml'],
  env,
  files: { '/etc/ph/config.yaml': yaml },
});

describe('defaults', () => {
  test('no file and no environment gives the documented defaults', () => {
    const { config, file, warnings } = load();
    expect(file).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(config.hardening).toEqual({
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      fsGroup: true,
      seccompProfile: true,
      unprivilegedPorts: 'auto',
      userNamespaces: 'off',
      supplementalGroupsPolicy: 'off',
    });
    expect(config.server).toEqual({
      address: '0.0.0.0',
      port: 8443,
      metricsPort: 8080,
      maxInFlight: 512,
      maxBodyBytes: 7340032,
      requestTimeoutSeconds: 30,
      headersTimeoutSeconds: 10,
      keepAliveTimeoutSeconds: 120,
      shutdownDelaySeconds: 5,
      shutdownGraceSeconds: 20,
    });
    expect(config.certificates.source).toBe('development');
    expect(config.certificates.directory).toBe('/var/run/pod-hardener/tls');
    expect(config.certificates.selfManaged).toEqual({
      serviceName: 'pod-hardener',
      secretName: 'pod-hardener-certs',
      webhookConfigurationName: 'pod-hardener',
      validityDays: 90,
      renewBeforeDays: 30,
      checkIntervalSeconds: 3600,
      extraDnsNames: [],
      extraIpAddresses: [],
    });
    expect(config.log.level).toBe('info');
  });

  test('the policy defaults are the engine defaults', () => {
    expect(policySettings(load().config)).toEqual({ ...DEFAULT_POLICY });
  });

  test('an empty file means all defaults', () => {
    const { config, file } = load(withFile(''));
    expect(file).toBe('/etc/ph/config.yaml');
    expect(config).toEqual(load().config);
  });

  test('the result is deep-frozen, and the defaults are not shared with it', () => {
    const { config } = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.exceptions.capabilityCeiling)).toBe(true);
    expect(() => {
      config.exceptions.capabilityCeiling.push('SYS_ADMIN');
    }).toThrow(/not extensible/);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(/read only/);
    // The defaults are frozen too: a load works on its own copy.
    expect(Object.isFrozen(DEFAULT_CONFIG.server)).toBe(true);
    expect(config).not.toBe(DEFAULT_CONFIG);
  });
});

describe('file and environment', () => {
  const yaml = `
hardening:
  runAsUser: 2000
  fsGroup: false
exceptions:
  capabilityCeiling: [NET_BIND_SERVICE, "*"]
  skipNamespaces: [team-*, dev]
  exemptContainers:
    - { name: istio-init, image: "docker.io/istio/proxyv2:*" }
server:
  port: 9443
  maxInFlight: 64
log:
  level: debug
`;

  test('file values replace defaults key by key; lists replace, not append', () => {
    const { config } = load(withFile(yaml));
    expect(config.hardening).toEqual({
      runAsUser: 2000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      fsGroup: false,
      seccompProfile: true,
      unprivilegedPorts: 'auto',
      userNamespaces: 'off',
      supplementalGroupsPolicy: 'off',
    });
    expect(config.exceptions.capabilityCeiling).toEqual(['NET_BIND_SERVICE', '*']);
    expect(config.exceptions.skipNamespaces).toEqual(['team-*', 'dev']);
    expect(config.exceptions.exemptContainers).toEqual([
      { name: 'istio-init', image: 'docker.io/istio/proxyv2:*' },
    ]);
    expect(config.server.port).toBe(9443);
    expect(config.server.metricsPort).toBe(8080);
    expect(config.server.maxInFlight).toBe(64);
    expect(config.log.level).toBe('debug');
  });

  test('environment wins over the file, which wins over defaults', () => {
    const { config } = load(
      withFile(yaml, {
        POD_HARDENER_RUN_AS_USER: '3001',
        POD_HARDENER_RUN_AS_GROUP: '4001',
        POD_HARDENER_PORT: '10443',
        POD_HARDENER_METRICS_PORT: '10080',
        POD_HARDENER_ADDRESS: '::',
        POD_HARDENER_LOG_LEVEL: 'warn',
      }),
    );
    expect(config.hardening.runAsUser).toBe(3001);
    expect(config.hardening.runAsGroup).toBe(4001);
    expect(config.hardening.fsGroup).toBe(false); // from the file, no variable for it
    expect(config.server.port).toBe(10443);
    expect(config.server.metricsPort).toBe(10080);
    expect(config.server.address).toBe('::');
    expect(config.log.level).toBe('warn');
  });

  test('the port sysctl and user namespaces: file keys (YAML on/off are strings) and variables', () => {
    expect(
      load(withFile('hardening: { unprivilegedPorts: never, userNamespaces: on }')).config
        .hardening,
    ).toMatchObject({ unprivilegedPorts: 'never', userNamespaces: 'on' });
    const fromEnv = load(
      withFile('hardening: { unprivilegedPorts: never }', {
        POD_HARDENER_UNPRIVILEGED_PORTS: 'auto',
        POD_HARDENER_USER_NAMESPACES: 'on',
      }),
    ).config;
    expect(fromEnv.hardening).toMatchObject({ unprivilegedPorts: 'auto', userNamespaces: 'on' });
    expect(policySettings(fromEnv)).toMatchObject({
      unprivilegedPorts: 'auto',
      userNamespaces: 'on',
    });
    expect(errorsOf({ env: { POD_HARDENER_USER_NAMESPACES: 'true' } })).toEqual([
      'env POD_HARDENER_USER_NAMESPACES: expected one of off, on, got "true"',
    ]);
    // A UID beyond what a user namespace maps is fine while the layer is off.
    expect(load(withFile('hardening: { runAsUser: 70000 }')).config.hardening.runAsUser).toBe(
      70000,
    );
  });

  test('the file comes from --config, --config=, or POD_HARDENER_CONFIG; the argument wins', () => {
    const files = { '/a.yaml': 'server: { port: 1001 }', '/b.yaml': 'server: { port: 1002 }' };
    expect(load({ argv: ['--config', '/a.yaml'], files }).config.server.port).toBe(1001);
    expect(load({ argv: ['--config=/a.yaml'], files }).config.server.port).toBe(1001);
    expect(load({ env: { POD_HARDENER_CONFIG: '/b.yaml' }, files }).config.server.port).toBe(1002);
    expect(
      load({ argv: ['--config', '/a.yaml'], env: { POD_HARDENER_CONFIG: '/b.yaml' }, files }).config
        .server.port,
    ).toBe(1001);
  });

  test('empty variables count as unset', () => {
    expect(
      load({ env: { POD_HARDENER_PORT: '', POD_HARDENER_CONFIG: ' ' } }).config.server.port,
    ).toBe(8443);
  });

  test('certificate source: files when cert and key are given (file or env), else development', () => {
    const env = {
      POD_HARDENER_TLS_CERT_FILE: '/tls/tls.crt',
      POD_HARDENER_TLS_KEY_FILE: '/tls/tls.key',
    };
    const fromEnv = load({ env }).config.certificates;
    expect(fromEnv).toMatchObject({
      source: 'files',
      certFile: '/tls/tls.crt',
      keyFile: '/tls/tls.key',
    });
    const fromFile = load(withFile('certificates: { certFile: /c, keyFile: /k }')).config
      .certificates;
    expect(fromFile).toMatchObject({ source: 'files', certFile: '/c', keyFile: '/k' });
    expect(
      load({ env: { POD_HARDENER_CERT_SOURCE: 'development' } }).config.certificates.source,
    ).toBe('development');
  });

  test('POD_HARDENER_NAMESPACE is the default for selfManaged.namespace; the file wins', () => {
    const env = {
      POD_HARDENER_CERT_SOURCE: 'self-managed',
      POD_HARDENER_NAMESPACE: 'pod-hardener-system',
    };
    expect(load({ env }).config.certificates.selfManaged.namespace).toBe('pod-hardener-system');
    const own = load(withFile('certificates: { selfManaged: { namespace: other } }', env));
    expect(own.config.certificates.selfManaged.namespace).toBe('other');
    expect(own.config.certificates.source).toBe('self-managed');
  });

  test('Kubernetes service-link variables are ignored with a warning, not taken as ports', () => {
    const { config, warnings } = load({
      env: {
        POD_HARDENER_PORT: 'tcp://10.96.0.12:443',
        POD_HARDENER_METRICS_PORT: 'tcp://10.96.0.13:8080',
      },
    });
    expect(config.server.port).toBe(8443);
    expect(config.server.metricsPort).toBe(8080);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /POD_HARDENER_PORT=tcp:\/\/10\.96\.0\.12:443 ignored.*Service named pod-hardener\b.*enableServiceLinks: false/,
    );
    expect(warnings[1]).toMatch(/Service named pod-hardener-metrics/);
  });

  test('an unknown POD_HARDENER_ variable is a warning naming the closest known one', () => {
    const { config, warnings } = load({
      env: {
        POD_HARDENER_RUN_AS_USR: '5',
        POD_HARDENER_LOGLEVEL: 'debug',
        POD_HARDENER_WHATEVER: '1',
        OTHER_VAR: 'x',
      },
    });
    expect(config.hardening.runAsUser).toBe(1000);
    expect(warnings).toEqual([
      'env POD_HARDENER_LOGLEVEL ignored: pod-hardener reads no such variable (did you mean POD_HARDENER_LOG_LEVEL?)',
      'env POD_HARDENER_RUN_AS_USR ignored: pod-hardener reads no such variable (did you mean POD_HARDENER_RUN_AS_USER?)',
      'env POD_HARDENER_WHATEVER ignored: pod-hardener reads no such variable',
    ]);
  });

  test("the kubelet's other service-link variables are not taken for typos", () => {
    const links = {
      POD_HARDENER_SERVICE_HOST: '10.96.0.12',
      POD_HARDENER_SERVICE_PORT: '443',
      POD_HARDENER_SERVICE_PORT_HTTPS: '443',
      POD_HARDENER_PORT_443_TCP: 'tcp://10.96.0.12:443',
      POD_HARDENER_PORT_443_TCP_PROTO: 'tcp',
      POD_HARDENER_PORT_443_TCP_PORT: '443',
      POD_HARDENER_PORT_443_TCP_ADDR: '10.96.0.12',
      POD_HARDENER_WEBHOOK_PORT: 'tcp://10.96.0.14:443',
    };
    expect(load({ env: links }).warnings).toEqual([]);
  });

  test('the environment variables are read off the schema, each setting the key it names', () => {
    expect(ENV_VARS.map((v) => [v.name, v.path.join('.'), v.number])).toEqual([
      ['POD_HARDENER_RUN_AS_USER', 'hardening.runAsUser', true],
      ['POD_HARDENER_RUN_AS_GROUP', 'hardening.runAsGroup', true],
      ['POD_HARDENER_UNPRIVILEGED_PORTS', 'hardening.unprivilegedPorts', false],
      ['POD_HARDENER_USER_NAMESPACES', 'hardening.userNamespaces', false],
      ['POD_HARDENER_SUPPLEMENTAL_GROUPS_POLICY', 'hardening.supplementalGroupsPolicy', false],
      ['POD_HARDENER_ADDRESS', 'server.address', false],
      ['POD_HARDENER_PORT', 'server.port', true],
      ['POD_HARDENER_METRICS_PORT', 'server.metricsPort', true],
      ['POD_HARDENER_CERT_SOURCE', 'certificates.source', false],
      ['POD_HARDENER_TLS_CERT_FILE', 'certificates.certFile', false],
      ['POD_HARDENER_TLS_KEY_FILE', 'certificates.keyFile', false],
      ['POD_HARDENER_LOG_LEVEL', 'log.level', false],
      ['POD_HARDENER_IMAGE_IDENTITY_CREDENTIALS_FILE', 'imageIdentity.credentialsFile', false],
      ['POD_HARDENER_IMAGE_IDENTITY_BUDGET_MS', 'imageIdentity.budgetMs', true],
      ['POD_HARDENER_IMAGE_IDENTITY_PLATFORM', 'imageIdentity.platform', false],
    ]);
  });

  test('the loaded file name and warnings are frozen too', () => {
    const loaded = load({ env: { POD_HARDENER_PORT: 'tcp://10.96.0.12:443' } });
    expect(Object.isFrozen(loaded)).toBe(true);
    expect(Object.isFrozen(loaded.warnings)).toBe(true);
  });
});

describe('errors name where they come from and the path', () => {
  test.each([
    [
      'hardening:\n  runAsUser: 0',
      'config /etc/ph/config.yaml: hardening.runAsUser: expected an integer from 1 to 2147483647, got 0',
    ],
    [
      'hardening:\n  runAsUser: 10.5',
      'config /etc/ph/config.yaml: hardening.runAsUser: expected an integer from 1 to 2147483647, got 10.5',
    ],
    [
      'hardening:\n  runAsUser: "1000"',
      'config /etc/ph/config.yaml: hardening.runAsUser: expected an integer from 1 to 2147483647, got "1000"',
    ],
    [
      'hardening:\n  runAsNonRoot: yes',
      'config /etc/ph/config.yaml: hardening.runAsNonRoot: expected true or false, got "yes"',
    ],
    [
      'server:\n  port: 70000',
      'config /etc/ph/config.yaml: server.port: expected an integer from 1 to 65535, got 70000',
    ],
    [
      'server:\n  keepAliveTimeoutSeconds: 60',
      'config /etc/ph/config.yaml: server.keepAliveTimeoutSeconds: expected an integer from 91 to 3600, got 60',
    ],
    ['server: 8443', 'config /etc/ph/config.yaml: server: expected a mapping, got 8443'],
    [
      'log:\n  level: verbose',
      'config /etc/ph/config.yaml: log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ],
    [
      'certificates:\n  source: vault',
      'config /etc/ph/config.yaml: certificates.source: expected one of development, files, self-managed, got "vault"',
    ],
    [
      'exceptions:\n  capabilityCeiling: NET_ADMIN',
      'config /etc/ph/config.yaml: exceptions.capabilityCeiling: expected a list, got "NET_ADMIN"',
    ],
    [
      'exceptions:\n  capabilityCeiling: [NET_ADMIN, "NET ADMIN"]',
      'config /etc/ph/config.yaml: exceptions.capabilityCeiling[1]: expected a capability name such as NET_BIND_SERVICE, or "*", got "NET ADMIN"',
    ],
    [
      'exceptions:\n  skipNamespaces: [Team-A]',
      'config /etc/ph/config.yaml: exceptions.skipNamespaces[0]: expected a namespace name or pattern (lowercase letters, digits, "-", "*"), got "Team-A"',
    ],
    [
      'exceptions:\n  exemptContainers: [{}]',
      'config /etc/ph/config.yaml: exceptions.exemptContainers[0]: give name, image or both: an empty rule would exempt every container',
    ],
    [
      'exceptions:\n  exemptContainers: [{ name: a, imag: b }]',
      'config /etc/ph/config.yaml: exceptions.exemptContainers[0].imag: unknown key (did you mean image?)',
    ],
    ['- a\n- b', 'config /etc/ph/config.yaml: expected a mapping at the top level, got a list'],
    [
      'hardening:\n  unprivilegedPorts: true',
      'config /etc/ph/config.yaml: hardening.unprivilegedPorts: expected one of auto, never, got true',
    ],
    [
      'hardening:\n  userNamespaces: yes',
      'config /etc/ph/config.yaml: hardening.userNamespaces: expected one of off, on, got "yes"',
    ],
    [
      'hardening:\n  userNamespaces: on\n  runAsUser: 70000',
      'config: hardening.runAsUser: must be at most 65535 with userNamespaces "on" (the IDs a user namespace maps), got 70000',
    ],
  ])('%j', (yaml, expected) => {
    expect(errorsOf(withFile(yaml))).toEqual([expected]);
  });

  test('unknown keys are rejected, with a hint for typos', () => {
    const errors = errorsOf(
      withFile('hardening:\n  runAsUsr: 1000\n  color: blue\nlogging:\n  level: debug\n'),
    );
    expect(errors).toEqual([
      'config /etc/ph/config.yaml: hardening.runAsUsr: unknown key (did you mean runAsUser?)',
      'config /etc/ph/config.yaml: hardening.color: unknown key (known keys: runAsUser, runAsGroup, runAsNonRoot, fsGroup, seccompProfile, unprivilegedPorts, userNamespaces, supplementalGroupsPolicy)',
      'config /etc/ph/config.yaml: logging: unknown key (known keys: hardening, exceptions, server, certificates, log, imageIdentity)',
    ]);
  });

  test('YAML syntax errors and duplicate keys name the line', () => {
    expect(errorsOf(withFile('server:\n  port: 1\n  port: 2\n'))).toEqual([
      'config /etc/ph/config.yaml: line 3, column 3: Map keys must be unique',
    ]);
    expect(errorsOf(withFile('server: [1, 2\n'))[0]).toMatch(
      /^config \/etc\/ph\/config\.yaml: line \d+, column \d+: /,
    );
  });

  test('a missing file is an error, not silently the defaults', () => {
    expect(errorsOf({ argv: ['--config', '/nope.yaml'] })).toEqual([
      "config /nope.yaml: cannot read it: ENOENT: no such file or directory, open '/nope.yaml'",
    ]);
  });

  test('environment numbers must be whole numbers in range', () => {
    expect(
      errorsOf({
        env: {
          POD_HARDENER_PORT: '84 43',
          POD_HARDENER_METRICS_PORT: '99999',
          POD_HARDENER_RUN_AS_USER: '-1',
          POD_HARDENER_RUN_AS_GROUP: '0',
          POD_HARDENER_LOG_LEVEL: 'loud',
          POD_HARDENER_CERT_SOURCE: 'vault',
        },
      })
        .slice()
        .sort(),
    ).toEqual(
      [
        'env POD_HARDENER_PORT: expected a whole number, got "84 43"',
        'env POD_HARDENER_RUN_AS_USER: expected a whole number, got "-1"',
        'env POD_HARDENER_METRICS_PORT: expected an integer from 1 to 65535, got 99999',
        'env POD_HARDENER_CERT_SOURCE: expected one of development, files, self-managed, got "vault"',
        'env POD_HARDENER_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
        'env POD_HARDENER_RUN_AS_GROUP: expected an integer from 1 to 2147483647, got 0',
      ].sort(),
    );
  });

  test('bad arguments are reported', () => {
    expect(errorsOf({ argv: ['--config'] })).toEqual([
      "arguments: Option '--config <value>' argument missing (usage: pod-hardener [--config FILE])",
    ]);
    expect(errorsOf({ argv: ['--config='] })).toEqual(['argument --config: expected a file path']);
    expect(errorsOf({ argv: ['--config', '--port'] })).toEqual([
      "arguments: Option '--config' argument is ambiguous. (usage: pod-hardener [--config FILE])",
    ]);
    expect(errorsOf({ argv: ['x.yaml'] })).toEqual([
      "arguments: Unexpected argument 'x.yaml'. This command does not take positional arguments (usage: pod-hardener [--config FILE])",
    ]);
    expect(errorsOf({ argv: ['--port', '1'] })).toEqual([
      "arguments: Unknown option '--port' (usage: pod-hardener [--config FILE])",
    ]);
  });

  test('every error of file and environment is listed at once', () => {
    const errors = errorsOf(
      withFile('hardening: { runAsUser: 0, runAsGroup: -3 }\nserver: { prot: 1 }', {
        POD_HARDENER_PORT: 'x',
      }),
    );
    expect(errors).toHaveLength(4);
    expect(errors.filter((e) => e.startsWith('config /etc/ph/config.yaml: '))).toHaveLength(3);
    expect(errors).toContain('env POD_HARDENER_PORT: expected a whole number, got "x"');
  });

  test.each([
    [
      { POD_HARDENER_TLS_CERT_FILE: '/c' },
      [
        'config: certificates.keyFile: required when certificates.source is "files" (or set POD_HARDENER_TLS_KEY_FILE)',
      ],
    ],
    [
      { POD_HARDENER_CERT_SOURCE: 'files' },
      [
        'config: certificates.certFile: required when certificates.source is "files" (or set POD_HARDENER_TLS_CERT_FILE)',
        'config: certificates.keyFile: required when certificates.source is "files" (or set POD_HARDENER_TLS_KEY_FILE)',
      ],
    ],
    [
      {
        POD_HARDENER_CERT_SOURCE: 'development',
        POD_HARDENER_TLS_CERT_FILE: '/c',
        POD_HARDENER_TLS_KEY_FILE: '/k',
      },
      [
        'config: certificates.certFile: set, but certificates.source is "development": the development source generates its own certificate; remove one of them',
        'config: certificates.keyFile: set, but certificates.source is "development": the development source generates its own certificate; remove one of them',
      ],
    ],
    [
      { POD_HARDENER_CERT_SOURCE: 'self-managed' },
      [
        'config: certificates.selfManaged.namespace: required when certificates.source is "self-managed" (set POD_HARDENER_NAMESPACE from the downward API)',
      ],
    ],
    [
      { POD_HARDENER_PORT: '8080' },
      ['config: server.metricsPort: must differ from server.port (both 8080)'],
    ],
  ])('rules across keys: %j', (env, expected) => {
    expect(errorsOf({ env })).toEqual(expected);
  });

  test('rules across keys in the file', () => {
    expect(
      errorsOf(
        withFile(
          'server: { headersTimeoutSeconds: 40, shutdownDelaySeconds: 20 }\ncertificates: { selfManaged: { validityDays: 30 } }',
        ),
      ),
    ).toEqual([
      'config: certificates.selfManaged.renewBeforeDays: must be less than validityDays (30), got 30',
      'config: server.headersTimeoutSeconds: must be <= requestTimeoutSeconds (30), got 40',
      'config: server.shutdownDelaySeconds: must be less than shutdownGraceSeconds (20), got 20',
    ]);
  });

  test('ConfigError lists every error in its message', () => {
    try {
      load({ env: { POD_HARDENER_PORT: 'x', POD_HARDENER_RUN_AS_USER: 'y' } });
      throw new Error('not rejected');
    } catch (err) {
      expect((err as Error).message).toBe(
        'invalid configuration:\n  - env POD_HARDENER_RUN_AS_USER: expected a whole number, got "y"\n  - env POD_HARDENER_PORT: expected a whole number, got "x"',
      );
    }
  });
});

describe('self-managed certificate SANs', () => {
  it('takes extra DNS names and IP addresses, and names a bad one by its path', () => {
    const read = (yaml: string) => () => yaml;
    const good = loadConfig({
      argv: ['--config', 'c.yaml'],
      env: {},
      readFile: read(
        'certificates: { selfManaged: { extraDnsNames: [webhook.local], extraIpAddresses: ["127.0.0.1", "::1"] } }',
      ),
    });
    expect(good.config.certificates.selfManaged.extraDnsNames).toEqual(['webhook.local']);
    expect(good.config.certificates.selfManaged.extraIpAddresses).toEqual(['127.0.0.1', '::1']);
    expect(() =>
      loadConfig({
        argv: ['--config', 'c.yaml'],
        env: {},
        readFile: read('certificates: { selfManaged: { extraIpAddresses: [localhost] } }'),
      }),
    ).toThrow(
      /certificates\.selfManaged\.extraIpAddresses(\[0\]|\.0)?: expected an IP address, got "localhost"/,
    );
  });
});

describe('offline reading (the offline tool)', () => {
  it('skips only the checks that depend on the Deployment environment', () => {
    const read = (yaml: string) => () => yaml;
    const selfManagedNoNamespace = read(
      'certificates: { source: self-managed }\nhardening: { runAsUser: 4242 }',
    );
    expect(() =>
      loadConfig({ argv: ['--config', 'c.yaml'], env: {}, readFile: selfManagedNoNamespace }),
    ).toThrow(/certificates\.selfManaged\.namespace: required/);
    const offline = loadConfig({
      argv: ['--config', 'c.yaml'],
      env: {},
      readFile: selfManagedNoNamespace,
      purpose: 'offline',
    });
    expect(offline.config.hardening.runAsUser).toBe(4242);
    // Everything else is still checked.
    expect(() =>
      loadConfig({
        argv: ['--config', 'c.yaml'],
        env: {},
        readFile: read('certificates: { selfManaged: { validityDays: 10, renewBeforeDays: 20 } }'),
        purpose: 'offline',
      }),
    ).toThrow(/renewBeforeDays: must be less than validityDays/);
  });
});
