# shellcheck shell=bash
# Shared settings and helpers of scripts/cluster.sh (sourced, not run), on top of scripts/lib.sh.
# The settings are used by the files that source this one:
# shellcheck disable=SC2034

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
log_clock=1 # a cluster's start takes minutes: its log lines carry the time

CLUSTER_DIR="${POD_HARDENER_CLUSTER_DIR:-/var/tmp/pod-hardener-cluster}"
STATE_DIR="$CLUSTER_DIR/state" # removed by down
LOG_DIR="$CLUSTER_DIR/logs"    # kept by down, replaced by the next up
RUN_DIR="$STATE_DIR/run"
IMAGE_CACHE="$cache_root/images"

# The node is called localhost and its kubelet listens on 127.0.0.1 only: the API server dials
# the node by its Hostname address, so logs and exec work without exposing the kubelet API to
# pods or to the network. The kubelet accepts only the API server's client certificate.
NODE_NAME=localhost
BRIDGE=phbr0
GATEWAY=10.244.0.1
POD_SUBNET=10.244.0.0/24
SERVICE_SUBNET=10.0.0.0/24 # the control plane's --service-cluster-ip-range
SERVICE_IP=10.0.0.1        # the kubernetes Service: first address of that range
API_PORT="${POD_HARDENER_CLUSTER_API_PORT:-6443}"
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
CNI_NETWORK=pod-hardener
NAT_CHAIN=POD-HARDENER-CLUSTER
CONTAINERD_SOCK="$STATE_DIR/containerd/containerd.sock"
KUBECONFIG="$STATE_DIR/controlplane/kubeconfig"
export KUBECONFIG KUBERC=off KUBECACHEDIR="$STATE_DIR/kube-cache"
export CONTAINERD_ADDRESS="$CONTAINERD_SOCK" CONTAINERD_NAMESPACE=k8s.io

PAUSE_IMAGE=localhost/pod-hardener/pause:1
PROBE_IMAGE=localhost/pod-hardener/probe:1
WEBHOOK_IMAGE_NAME=localhost/pod-hardener/webhook

# The controllers a node needs beyond the e2e tier's: node lifecycle (removes the not-ready
# taint), endpoints and endpoint slices (the API server finds the webhook's pods through them).
CONTROLLERS="deployment-controller,replicaset-controller,statefulset-controller,\
daemonset-controller,job-controller,cronjob-controller,replicationcontroller-controller,\
garbage-collector-controller,namespace-controller,serviceaccount-controller,\
serviceaccount-token-controller,root-ca-certificate-publisher-controller,\
clusterrole-aggregation-controller,ttl-after-finished-controller,disruption-controller,\
validatingadmissionpolicy-status-controller,node-lifecycle-controller,endpoints-controller,\
endpointslice-controller,endpointslice-mirroring-controller,pod-garbage-collector-controller,\
taint-eviction-controller"

# need_root COMMAND: the cluster's commands need root; COMMAND is the one to suggest with sudo.
need_root() {
  [[ "$(id -u)" == 0 ]] || die "must run as root: a kubelet manages cgroups, mounts and network namespaces (try: sudo npm run cluster -- $1)"
}

pid_of() { [[ -f "$RUN_DIR/$1.pid" ]] && cat "$RUN_DIR/$1.pid"; }
alive() {
  local pid
  pid="$(pid_of "$1" 2>/dev/null)" && [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}
cluster_running() { alive controlplane && alive kubelet && alive containerd; }

# wait_for SECONDS WHAT COMMAND...: poll COMMAND until it succeeds, or die saying what was awaited.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local end=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= end )); then
      log "timed out after ${seconds}s waiting for $what; last log lines:"
      tail -n 15 "$LOG_DIR"/*.log 2>/dev/null | sed 's/^/  /' >&2 || true
      die "timed out waiting for $what"
    fi
    sleep 0.3
  done
}

# start_daemon NAME COMMAND...: start in the background, stdout to logs/NAME.out, stderr to
# logs/NAME.log, pid in run/NAME.pid. setsid: a Ctrl-C in the caller's terminal does not reach it.
start_daemon() {
  local name=$1
  shift
  # 9>&-: the daemon must not inherit (and so hold) the lock of this command (see lock in lib.sh).
  setsid "$@" >"$LOG_DIR/$name.out" 2>"$LOG_DIR/$name.log" </dev/null 9>&- &
  echo $! >"$RUN_DIR/$name.pid"
  sleep 0.2
  kill -0 "$(pid_of "$name")" 2>/dev/null || { tail -n 20 "$LOG_DIR/$name.log" >&2; die "$name exited at once"; }
}

kc() { "$(cat "$RUN_DIR/cp-bin-dir")/kubectl" "$@"; }
# containerd 2.x warns on every call that cgroup v1 support is deprecated: not news here.
ctr() { "$(cat "$RUN_DIR/containerd-bin-dir")/ctr" "$@" 2> >(grep -v 'support for cgroup v1 is deprecated' >&2); }

# port_in_use HOST PORT
port_in_use() { ss -Hltn "sport = :$2" 2>/dev/null | awk '{print $4}' | grep -qE "^(\*|0\.0\.0\.0|\[::\]|$1):$2\$"; }

preflight() {
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
  grep -qw overlay /proc/filesystems || die "the kernel has no overlayfs (containerd's snapshotter needs it): modprobe overlay"
  [[ -d /sys/fs/cgroup ]] || die "no cgroup file system at /sys/fs/cgroup"
  local p
  for p in "127.0.0.1 $KUBELET_PORT" "127.0.0.1 $KUBELET_HEALTHZ_PORT"; do
    # shellcheck disable=SC2086
    port_in_use $p && die "port ${p#* } on 127.0.0.1 is in use (another kubelet?); the node needs it"
  done
  ip -o addr show | grep -q " ${GATEWAY%.*}\." && die "an interface already has an address in $POD_SUBNET; the pod bridge needs that subnet"
  use_go || true # the first build of the control plane needs it, and says so
}

# Debian packages the node needs; installed when missing.
ensure_packages() {
  local missing=()
  # runc is built from its Go module (>= 1.2 for user namespaces), with cgo on libseccomp.
  [[ -f /usr/include/seccomp.h ]] || missing+=(libseccomp-dev)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v gcc >/dev/null || missing+=(gcc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  command -v buildah >/dev/null || missing+=(buildah)
  # The images copy /bin/busybox, so it must be the static build.
  [[ "$(ldd /bin/busybox 2>&1)" == *"not a dynamic executable"* ]] || missing+=(busybox-static)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v setcap >/dev/null || missing+=(libcap2-bin)
  command -v ss >/dev/null || missing+=(iproute2)
  (( ${#missing[@]} == 0 )) || apt_install "${missing[@]}"
}

# Used by the node tests: restart containerd with enable_unprivileged_ports set from
# POD_HARDENER_CLUSTER_UNPRIVILEGED_PORTS. Running containers keep running (their shims stay);
# pods created afterwards get the new setting.
# The API server restarts as a real one does: same credentials, same etcd data (--keep-state).
# Here etcd, the controller manager and the scheduler share its process, so they restart with it.
restart_controlplane() {
  need_root restart-controlplane
  cluster_running || die "no cluster is running"
  stop_pid controlplane
  start_controlplane "$(cat "$RUN_DIR/cp-bin-dir")" --keep-state
}

restart_containerd() {
  need_root restart-containerd
  cluster_running || die "no cluster is running"
  write_containerd_config
  stop_pid containerd
  start_containerd "$(cat "$RUN_DIR/containerd-bin-dir")"
}
