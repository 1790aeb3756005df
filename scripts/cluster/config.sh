# shellcheck shell=bash
# Configuration files of the node's components (sourced by scripts/cluster.sh). Every path
# that a component lets us choose is under $STATE_DIR.

write_configs() {
  mkdir -p "$STATE_DIR"/{containerd,cni/net.d,cni/ipam,kubelet/root,kubelet/pki,kubelet/pods-logs,kubelet/manifests}
  write_containerd_config
  write_cni_config
  write_kubelet_config
}

write_containerd_config() {
  local c="$STATE_DIR/containerd"
  cat >"$c/config.toml" <<EOF
version = 3
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins.'io.containerd.internal.v1.opt']
  path = "$c/opt"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
  # Registry hosts (scripts/cluster/registry.sh): the node tier's registry over plain HTTP.
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = "$c/certs.d"

[plugins.'io.containerd.cri.v1.runtime']
  # containerd 2.x defaults both to true: every pod without hostNetwork then gets
  # net.ipv4.ip_unprivileged_port_start=0, whatever it asks for. Off by default here, so what a
  # pod can bind is its own doing; the node tests switch it on to check containerd's default.
  enable_unprivileged_ports = ${POD_HARDENER_CLUSTER_UNPRIVILEGED_PORTS:-false}
  enable_unprivileged_icmp = ${POD_HARDENER_CLUSTER_UNPRIVILEGED_PORTS:-false}
  # Processes on machines of this kind lack CAP_SYS_RESOURCE, so none may lower oom_score_adj
  # below its own (the sandbox asks for -998, and runc fails with "can't get final child's PID
  # from pipe: EOF"): clamp it instead.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$STATE_DIR/cni/net.d"
    max_conf_num = 1
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc from its Go module: >= 1.2 runs user-namespaced pods (idmapped mounts).
        BinaryName = "$(cat "$RUN_DIR/runc-bin-dir")/runc"
        Root = "$c/runc"

[plugins.'io.containerd.grpc.v1.cri']
  # kubectl exec/logs streams: the kubelet proxies them, so loopback is enough.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
}

write_cni_config() {
  # No ipMasq and routes only to the pod and Service subnets: pods reach this machine's bridge
  # and each other, nothing beyond.
  cat >"$STATE_DIR/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$GATEWAY"}]],
        "routes": [{"dst": "$POD_SUBNET"}, {"dst": "$SERVICE_SUBNET", "gw": "$GATEWAY"}]
      }
    }
  ]
}
EOF
}

write_kubelet_config() {
  local cp="$STATE_DIR/controlplane"
  cat >"$STATE_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
# Only the API server (its client certificate, signed by the control plane's CA) may use the
# kubelet API, and the API server authorises every request.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $cp/ca.crt}
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
# Machines of this kind have cgroup v1 (hybrid) and may have swap.
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
podLogsDir: $STATE_DIR/kubelet/pods-logs
# Static pods (their mirror pods are what the API shows of them).
staticPodPath: $STATE_DIR/kubelet/manifests
serializeImagePulls: false
# Otherwise the kubelet adds KUBE-FIREWALL and canary chains to the host's iptables.
makeIPTablesUtilChains: false
# Images are imported, never pulled: never garbage-collect them, never evict for disk.
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
nodeStatusReportFrequency: 10s
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
fileCheckFrequency: 5s
EOF
}
