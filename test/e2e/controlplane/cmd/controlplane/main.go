// Command controlplane runs a throwaway Kubernetes control plane for the
// pod-hardener e2e tests: an embedded etcd and the upstream kube-apiserver in
// one process, and optionally the upstream kube-controller-manager as a child
// process (built next to this binary), and optionally kube-scheduler likewise.
//
// By default everything listens on 127.0.0.1, which is all admission tests
// need. For a cluster with a real node, --address puts the apiserver on an
// address pods can reach (the pod bridge's gateway): it is then advertised
// there, the "kubernetes" Endpoints point at it (lease reconciler), and with
// --service-account-admission pods get projected tokens to call it.
//
// Everything secret is generated at start into --dir and never reused: a CA and
// a serving certificate for 127.0.0.1, a service-account signing key and a
// random admin token (user "admin", group "system:masters").
//
// When the apiserver answers /readyz it writes --dir/kubeconfig and
// --dir/controlplane.json and prints exactly one line to stdout:
//
//	READY <path of kubeconfig>
//
// All logs go to stderr. SIGTERM or SIGINT stops everything and exits 0.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/logs"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"

	// The same side-effect imports as upstream cmd/kube-apiserver.
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
)

// The controllers the controller manager runs: enough for workload objects to
// create pods, for namespaces to be deleted and for objects to be garbage
// collected. No node, volume, service or certificate controllers.
const defaultControllers = "deployment-controller,replicaset-controller,statefulset-controller," +
	"daemonset-controller,job-controller,cronjob-controller,replicationcontroller-controller," +
	"garbage-collector-controller,namespace-controller,serviceaccount-controller," +
	"serviceaccount-token-controller,root-ca-certificate-publisher-controller," +
	"clusterrole-aggregation-controller,ttl-after-finished-controller," +
	"validatingadmissionpolicy-status-controller,disruption-controller"

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	dir           string
	etcdDir       string
	port          int
	verbosity     int
	withCM        bool
	cmBinary      string
	cmControllers string
	apiserverArgs multiFlag
	cmArgs        multiFlag
	address       string
	withScheduler bool
	saAdmission   bool
	keepState     bool
}

// info is written to <dir>/controlplane.json for clients that prefer JSON to
// parsing the kubeconfig.
type info struct {
	Server     string `json:"server"`
	Token      string `json:"token"`
	CAFile     string `json:"caFile"`
	Kubeconfig string `json:"kubeconfig"`
	EtcdServer string `json:"etcdServer"`
	PID        int    `json:"pid"`
}

func main() {
	os.Exit(run())
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "controlplane: "+format+"\n", args...)
}

func run() int {
	var o options
	fs := flag.NewFlagSet("controlplane", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "directory for the generated kubeconfig, certificates, keys and tokens (required)")
	fs.StringVar(&o.etcdDir, "etcd-data-dir", "", "etcd data directory (default <dir>/etcd)")
	fs.IntVar(&o.port, "port", 0, "apiserver secure port on 127.0.0.1 (0 picks a free port)")
	fs.IntVar(&o.verbosity, "v", 0, "klog verbosity of the apiserver and controller manager")
	fs.BoolVar(&o.withCM, "with-controller-manager", false, "also run kube-controller-manager as a child process")
	fs.StringVar(&o.cmBinary, "controller-manager-binary", "", "path of kube-controller-manager (default: next to this binary)")
	fs.StringVar(&o.cmControllers, "controllers", defaultControllers, "value of the controller manager's --controllers")
	fs.Var(&o.apiserverArgs, "apiserver-arg", "extra kube-apiserver flag, e.g. --apiserver-arg=--feature-gates=X=true (repeatable)")
	fs.Var(&o.cmArgs, "controller-manager-arg", "extra kube-controller-manager flag (repeatable)")
	fs.StringVar(&o.address, "address", "127.0.0.1", "IP address the apiserver binds, advertises and has in its serving certificate")
	fs.BoolVar(&o.withScheduler, "with-scheduler", false, "also run kube-scheduler as a child process (built next to this binary)")
	fs.BoolVar(&o.saAdmission, "service-account-admission", false, "enable the ServiceAccount admission plugin, so pods get service account tokens")
	fs.BoolVar(&o.keepState, "keep-state", false, "restart on what an earlier run left in --dir (credentials, etcd data) instead of starting afresh")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if o.dir == "" {
		logf("--dir is required")
		return 2
	}
	ip := net.ParseIP(o.address)
	if ip == nil {
		logf("--address %q is not an IP address", o.address)
		return 2
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		logf("%v", err)
		return 1
	}
	if o.dir, _ = filepath.Abs(o.dir); o.etcdDir == "" {
		o.etcdDir = filepath.Join(o.dir, "etcd")
	}

	logs.InitLogs()
	defer logs.FlushLogs()

	// NewAPIServerCommand installs the process's SIGTERM/SIGINT handler (it may
	// be called once per process); its context is cancelled on the first
	// signal and a second signal exits the process. Build it first so a signal
	// during etcd start-up is handled too.
	cmd := app.NewAPIServerCommand()
	ctx := cmd.Context()

	generateOrLoad := generate
	if o.keepState {
		generateOrLoad = load
	}
	files, err := generateOrLoad(o.dir, ip)
	if err != nil {
		logf("generating credentials: %v", err)
		return 1
	}

	port := o.port
	if port == 0 {
		if port, err = freePort(o.address); err != nil {
			logf("%v", err)
			return 1
		}
	}
	server := "https://" + net.JoinHostPort(o.address, strconv.Itoa(port))

	etcd, etcdURL, err := startEtcd(o.etcdDir, o.keepState)
	if err != nil {
		logf("starting etcd: %v", err)
		return 1
	}
	stopEtcd := sync.OnceFunc(func() {
		etcd.Close()
		logf("etcd stopped")
	})
	defer stopEtcd()

	args := []string{
		"--bind-address=" + o.address,
		"--advertise-address=" + o.address,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(o.dir, "apiserver-certs"),
		"--tls-cert-file=" + files.servingCert,
		"--tls-private-key-file=" + files.servingKey,
		"--token-auth-file=" + files.tokenFile,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + files.saKey,
		"--service-account-signing-key-file=" + files.saKey,
		"--allow-privileged=true",
		"--kubelet-client-certificate=" + files.kubeletClientCert,
		"--kubelet-client-key=" + files.kubeletClientKey,
		"--etcd-servers=" + etcdURL,
		"--profiling=false",
		"--v=" + strconv.Itoa(o.verbosity),
	}
	if !o.saAdmission {
		// Without it, pods need no service account to exist, which keeps the
		// admission-only tests independent of the controller manager.
		args = append(args, "--disable-admission-plugins=ServiceAccount")
	}
	if ip.IsLoopback() {
		// The kubernetes Endpoints may not point at a loopback address.
		args = append(args, "--endpoint-reconciler-type=none")
	} else {
		args = append(args, "--endpoint-reconciler-type=lease")
	}
	args = append(args, o.apiserverArgs...)
	cmd.SetArgs(args)
	cmd.SetOut(os.Stderr)
	cmd.SetErr(os.Stderr)

	apiDone := make(chan error, 1)
	go func() { apiDone <- cmd.Execute() }()

	readyCtx, cancelReady := context.WithCancel(ctx)
	defer cancelReady()
	ready := make(chan error, 1)
	var children childSet // controller manager and scheduler, once started
	go func() {
		client := httpsClient(files.caPEM)
		if err := waitFor(readyCtx, client, server, files.token, "/readyz", 3*time.Minute); err != nil {
			ready <- err
			return
		}
		// The "default" namespace is created by a controller that /readyz
		// does not wait for.
		if err := waitFor(readyCtx, client, server, files.token, "/api/v1/namespaces/default", time.Minute); err != nil {
			ready <- err
			return
		}
		kubeconfig, err := writeKubeconfig(o.dir, server, files, etcdURL)
		if err != nil {
			ready <- err
			return
		}
		if o.withCM {
			cm, err := startChild("kube-controller-manager", o.cmBinary, controllerManagerArgs(o, kubeconfig, files))
			if err != nil {
				ready <- err
				return
			}
			children.add(cm)
			// The service-account controller creating "default" in
			// "default" shows that the controllers are running.
			if err := waitFor(readyCtx, client, server, files.token,
				"/api/v1/namespaces/default/serviceaccounts/default", 2*time.Minute); err != nil {
				ready <- fmt.Errorf("kube-controller-manager did not start its controllers: %w", err)
				return
			}
		}
		if o.withScheduler {
			s, err := startChild("kube-scheduler", "", []string{
				"--kubeconfig=" + kubeconfig,
				"--leader-elect=false",
				// No serving port: nothing scrapes it, and a fixed port
				// would clash with another control plane on the machine.
				"--secure-port=0",
				"--v=" + strconv.Itoa(o.verbosity),
			})
			if err != nil {
				ready <- err
				return
			}
			children.add(s)
		}
		fmt.Fprintf(os.Stdout, "READY %s\n", kubeconfig)
		ready <- nil
	}()

	code := 0
	select {
	case err := <-apiDone:
		// Run only returns on shutdown, so this is a start-up failure. Stop
		// etcd first so that this message ends the log.
		cancelReady()
		children.stop()
		stopEtcd()
		logf("kube-apiserver exited before it was ready: %v", err)
		return 1
	case err := <-ready:
		if err != nil {
			children.stop()
			if ctx.Err() != nil {
				// Signalled while starting: not a failure.
				return 0
			}
			stopEtcd()
			logf("%v", err)
			return 1
		}
		logf("ready: %s (pid %d)", server, os.Getpid())
	}

	// Wait for a signal (the apiserver then shuts down and Execute returns),
	// or for the apiserver to fail on its own.
	select {
	case err := <-apiDone:
		if ctx.Err() == nil {
			logf("kube-apiserver exited: %v", err)
			code = 1
		}
	case <-ctx.Done():
		logf("stopping")
		children.stop()
		select {
		case err := <-apiDone:
			if err != nil && !errors.Is(err, context.Canceled) {
				logf("kube-apiserver: %v", err)
			}
		case <-time.After(30 * time.Second):
			logf("kube-apiserver did not stop within 30s")
			code = 1
		}
	}
	children.stop()
	return code
}

// --- credentials ---------------------------------------------------------

type generated struct {
	caPEM       []byte
	caFile      string
	servingCert string
	servingKey  string
	saKey       string
	tokenFile   string
	token       string
	// The apiserver's client certificate for kubelets (logs, exec, port
	// forwarding), in system:masters, so a kubelet can require client
	// certificates from this CA instead of allowing anonymous requests.
	kubeletClientCert string
	kubeletClientKey  string
}

// generatedPaths names the files generate writes in dir.
func generatedPaths(dir string) *generated {
	return &generated{
		caFile:      filepath.Join(dir, "ca.crt"),
		servingCert: filepath.Join(dir, "apiserver.crt"),
		servingKey:  filepath.Join(dir, "apiserver.key"),
		saKey:       filepath.Join(dir, "service-account.key"),
		tokenFile:   filepath.Join(dir, "tokens.csv"),

		kubeletClientCert: filepath.Join(dir, "apiserver-kubelet-client.crt"),
		kubeletClientKey:  filepath.Join(dir, "apiserver-kubelet-client.key"),
	}
}

// load reads back what generate wrote in an earlier run, so that a restart
// keeps the CA, the admin token and the service-account key: the kubelet's
// kubeconfig and every pod's token stay valid across it.
func load(dir string, _ net.IP) (*generated, error) {
	g := generatedPaths(dir)
	for _, f := range []string{g.servingCert, g.servingKey, g.saKey, g.kubeletClientCert, g.kubeletClientKey} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("--keep-state: %w", err)
		}
	}
	var err error
	if g.caPEM, err = os.ReadFile(g.caFile); err != nil {
		return nil, fmt.Errorf("--keep-state: %w", err)
	}
	tokens, err := os.ReadFile(g.tokenFile)
	if err != nil {
		return nil, fmt.Errorf("--keep-state: %w", err)
	}
	g.token, _, _ = strings.Cut(string(tokens), ",")
	return g, nil
}

func generate(dir string, address net.IP) (*generated, error) {
	g := generatedPaths(dir)

	// CA and serving certificate, valid for the loopback addresses and the
	// in-cluster names of the kubernetes Service.
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "pod-hardener-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	g.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.0.0.1"), address},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
			"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return nil, err
	}

	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caCert, &clientKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	clientKeyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		return nil, err
	}

	// Service-account signing key.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}

	// Admin token, in system:masters.
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	g.token = hex.EncodeToString(tok)

	for _, f := range []struct {
		path string
		data []byte
	}{
		{g.caFile, g.caPEM},
		{g.servingCert, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}), g.caPEM...)},
		{g.servingKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKeyDER})},
		{g.saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)})},
		{g.tokenFile, []byte(g.token + `,admin,admin,"system:masters"` + "\n")},
		{g.kubeletClientCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER})},
		{g.kubeletClientKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: clientKeyDER})},
	} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func writeKubeconfig(dir, server string, g *generated, etcdURL string) (string, error) {
	path := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: controlplane
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: admin@controlplane
  context:
    cluster: controlplane
    user: admin
    namespace: default
current-context: admin@controlplane
`, server, base64.StdEncoding.EncodeToString(g.caPEM), g.token)
	if err := writeAtomic(path, []byte(kc)); err != nil {
		return "", err
	}
	js, err := json.MarshalIndent(info{
		Server: server, Token: g.token, CAFile: g.caFile, Kubeconfig: path,
		EtcdServer: etcdURL, PID: os.Getpid(),
	}, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(dir, "controlplane.json"), append(js, '\n')); err != nil {
		return "", err
	}
	return path, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// --- etcd ----------------------------------------------------------------

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startEtcd starts a single-member etcd on loopback, retrying with other
// ports if one was taken between choosing and binding it.
// With keep set, the data an earlier run left is the store: a restart, as a real
// control plane's, keeps every object.
func startEtcd(dataDir string, keep bool) (*embed.Etcd, string, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		clientPort, err := freePort("127.0.0.1")
		if err != nil {
			return nil, "", err
		}
		peerPort, err := freePort("127.0.0.1")
		if err != nil {
			return nil, "", err
		}
		clientURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(clientPort)}
		peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(peerPort)}

		if !keep {
			if err := os.RemoveAll(dataDir); err != nil {
				return nil, "", err
			}
		}
		cfg := embed.NewConfig()
		cfg.Name = "controlplane"
		cfg.Dir = dataDir
		cfg.ListenClientUrls = []url.URL{clientURL}
		cfg.AdvertiseClientUrls = []url.URL{clientURL}
		cfg.ListenPeerUrls = []url.URL{peerURL}
		cfg.AdvertisePeerUrls = []url.URL{peerURL}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		cfg.ClusterState = embed.ClusterStateFlagNew
		cfg.Logger = "zap"
		cfg.LogLevel = "error"
		cfg.LogOutputs = []string{"stderr"}
		// A throwaway store: durability does not matter, speed does.
		cfg.UnsafeNoFsync = true

		e, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err
			if strings.Contains(err.Error(), "address already in use") {
				continue
			}
			return nil, "", err
		}
		select {
		case <-e.Server.ReadyNotify():
			return e, clientURL.String(), nil
		case err := <-e.Err():
			e.Close()
			return nil, "", err
		case <-time.After(60 * time.Second):
			e.Server.Stop()
			e.Close()
			return nil, "", errors.New("etcd did not become ready within 60s")
		}
	}
	return nil, "", lastErr
}

// --- readiness -----------------------------------------------------------

func httpsClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
	}
}

func waitFor(ctx context.Context, c *http.Client, server, token, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: not ready after %s: %s", path, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// --- controller manager and scheduler ----------------------------------------

func controllerManagerArgs(o options, kubeconfig string, g *generated) []string {
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=" + g.saKey,
		"--root-ca-file=" + g.caFile,
		"--controllers=" + o.cmControllers,
		"--secure-port=0",
		"--concurrent-deployment-syncs=2",
		"--concurrent-replicaset-syncs=2",
		"--v=" + strconv.Itoa(o.verbosity),
	}
	return append(args, o.cmArgs...)
}

// startChild starts one of the sibling binaries (bin, or name next to this
// binary when bin is empty) with its output on this process's stderr.
func startChild(name, bin string, args []string) (*exec.Cmd, error) {
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(filepath.Dir(self), name)
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s binary: %w", name, err)
	}
	c := exec.Command(bin, args...)
	c.Stdout = os.Stderr
	c.Stderr = os.Stderr
	// If this process is killed outright, take the child with it.
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return nil, err
	}
	go func() {
		err := c.Wait()
		logf("%s exited: %v", name, err)
	}()
	return c, nil
}

// childSet holds the child processes; stop may be called from several
// places and more than once.
type childSet struct {
	mu    sync.Mutex
	procs []*exec.Cmd
}

func (s *childSet) add(c *exec.Cmd) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = append(s.procs, c)
}

func (s *childSet) stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		stopChild(procs[i])
	}
}

func stopChild(c *exec.Cmd) {
	if c == nil || c.Process == nil {
		return
	}
	_ = c.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		// Signal 0 fails once the (reaped) process is gone.
		if err := c.Process.Signal(syscall.Signal(0)); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = c.Process.Kill()
}
