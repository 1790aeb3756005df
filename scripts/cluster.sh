#!/usr/bin/env bash
# `npm run cluster -- up|down|status`: a real single-node Kubernetes cluster on this machine, with
# pod-hardener installed as operators install it (its image built from the Dockerfile, then
# `kubectl apply -k manifests/` with self-managed certificates). The node tier of the tests and
# users trying pod-hardener share it.
#
#   up      build what is missing, start containerd, the control plane (etcd, kube-apiserver,
#           kube-controller-manager, kube-scheduler) and a kubelet, install pod-hardener; prints
#           the kubeconfig path, last line `export KUBECONFIG=...`. A second `up` says one runs.
#   down    remove everything `up` made outside its working directory: processes, mounts,
#           network namespaces, the bridge, cgroups, iptables rules, hard-coded kubelet and CNI
#           paths. The working directory keeps only the logs of the last run.
#   status  what runs, the node and the pod-hardener pods.
#
# Needs root (a kubelet manages cgroups, mounts and network namespaces), overlayfs, Go >= 1.26
# for the first build, and the Debian packages containernetworking-plugins, buildah,
# busybox-static, iptables and (to build runc) libseccomp-dev and pkg-config, installed when
# missing. Everything is built from pinned Go
# modules and npm packages; no image registry is used.
#
# The pod network stays on this machine: the bridge phbr0 (10.244.0.0/24) has no masquerade, and
# pods get routes only to that subnet and to the Service range, not a default route. The API
# server listens on the bridge's gateway address 10.244.0.1, so pods reach it (one DNAT rule maps
# the `kubernetes` Service address 10.0.0.1:443 to it; there is no kube-proxy) and it reaches the
# webhook's pods by their endpoint addresses (--enable-aggregator-routing).
#
# Environment:
#   POD_HARDENER_CLUSTER_DIR   working directory (default /var/tmp/pod-hardener-cluster)
#   POD_HARDENER_CLUSTER_UNPRIVILEGED_PORTS  containerd's enable_unprivileged_ports (default
#                              false: a pod's low-port behaviour is then its own doing; containerd
#                              2.x's own default is true)
#   POD_HARDENER_CLUSTER_INSTALL=0  start the cluster without installing pod-hardener
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/cluster/lib.sh
source "$repo_root/scripts/cluster/lib.sh"
# shellcheck source=scripts/cluster/images.sh
source "$repo_root/scripts/cluster/images.sh"
# shellcheck source=scripts/cluster/config.sh
source "$repo_root/scripts/cluster/config.sh"
# shellcheck source=scripts/cluster/down.sh
source "$repo_root/scripts/cluster/down.sh"
# shellcheck source=scripts/cluster/registry.sh
source "$repo_root/scripts/cluster/registry.sh"

up() {
  need_root up
  lock_or_die "$CLUSTER_DIR/.lock" "'cluster' command"
  if cluster_running; then
    log "a cluster is already running (run 'npm run cluster -- down' to remove it)"
    refresh_webhook
    print_access
    return 0
  fi
  if leftovers_present; then
    log "removing what a previous cluster left behind"
    teardown
  fi
  preflight
  ensure_packages
  local t0; t0=$(date +%s)

  rm -rf "$STATE_DIR" "$LOG_DIR"
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$RUN_DIR"
  log "building or reusing the binaries and images (first run: several minutes)"
  local cp_bin containerd_bin runc_bin
  cp_bin="$(bash "$repo_root/scripts/build-controlplane.sh" | tail -n 1)"
  containerd_bin="$(bash "$repo_root/scripts/build-go-tool.sh" containerd | tail -n 1)"
  runc_bin="$(bash "$repo_root/scripts/build-go-tool.sh" runc | tail -n 1)"
  build_images "$cp_bin"
  printf '%s\n' "$cp_bin" >"$RUN_DIR/cp-bin-dir"
  printf '%s\n' "$containerd_bin" >"$RUN_DIR/containerd-bin-dir"
  printf '%s\n' "$runc_bin" >"$RUN_DIR/runc-bin-dir"
  write_configs
  write_registry_hosts

  start_network
  start_containerd "$containerd_bin"
  import_images
  start_registry
  start_controlplane "$cp_bin"
  start_kubelet "$cp_bin"
  log "node $NODE_NAME Ready $(( $(date +%s) - t0 ))s after start"
  if [[ "${POD_HARDENER_CLUSTER_INSTALL:-1}" != 0 ]]; then
    install_pod_hardener
  fi
  log "cluster up in $(( $(date +%s) - t0 ))s"
  print_access
}

# On a running cluster: when the sources changed since its webhook image was built, build the
# new image and roll pod-hardener to it, so a second `up` always runs the code of the checkout.
# New legacy images go to containerd and to a running registry too, so that the corpus runs the
# images of the checkout from either.
refresh_webhook() {
  [[ "${POD_HARDENER_CLUSTER_INSTALL:-1}" != 0 ]] || return 0
  local before legacy_before
  before="$(cat "$RUN_DIR/webhook-image-tag")"
  legacy_before="$(cat "$RUN_DIR/legacy-image-tag")"
  build_images "$(cat "$RUN_DIR/cp-bin-dir")"
  local webhook_changed=0 legacy_changed=0
  [[ "$(cat "$RUN_DIR/webhook-image-tag")" == "$before" ]] || webhook_changed=1
  [[ "$(cat "$RUN_DIR/legacy-image-tag")" == "$legacy_before" ]] || legacy_changed=1
  (( webhook_changed || legacy_changed )) || return 0
  import_images
  if (( legacy_changed )) && alive registry; then
    log "the legacy images changed: pushing them to the registry"
    push_registry_images
  fi
  (( webhook_changed )) || return 0
  log "the sources changed since the webhook image was built: rolling pod-hardener to a new one"
  install_pod_hardener
}

start_network() {
  # The bridge exists before the API server starts, so it can bind the gateway address; the CNI
  # bridge plugin reuses it.
  ip link add "$BRIDGE" type bridge
  ip addr add "$GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  iptables -t nat -N "$NAT_CHAIN"
  iptables -t nat -A "$NAT_CHAIN" -i "$BRIDGE" -d "$SERVICE_IP" -p tcp --dport 443 \
    -j DNAT --to-destination "$GATEWAY:$API_PORT"
  iptables -t nat -I PREROUTING -j "$NAT_CHAIN"
}

start_containerd() {
  local bin=$1
  # containerd finds its shim on PATH.
  PATH="$bin:$PATH" start_daemon containerd "$bin/containerd" --config "$STATE_DIR/containerd/config.toml"
  wait_for 30 "containerd to answer" ctr version
  log "containerd $("$bin/containerd" --version | awk '{print $3}') up"
}

# start_controlplane BIN_DIR [EXTRA_FLAG...]
start_controlplane() {
  local bin=$1
  shift
  start_daemon controlplane "$bin/controlplane" "$@" \
    --dir="$STATE_DIR/controlplane" \
    --address="$GATEWAY" --port="$API_PORT" \
    --with-controller-manager --with-scheduler --service-account-admission \
    --controllers="$CONTROLLERS" \
    --apiserver-arg=--enable-aggregator-routing=true
  wait_for 180 "the control plane (READY)" grep -q '^READY' "$LOG_DIR/controlplane.out"
  log "control plane up at https://$GATEWAY:$API_PORT"
}

start_kubelet() {
  local bin=$1
  start_daemon kubelet "$bin/kubelet" \
    --config="$STATE_DIR/kubelet/config.yaml" \
    --kubeconfig="$KUBECONFIG" \
    --root-dir="$STATE_DIR/kubelet/root" \
    --cert-dir="$STATE_DIR/kubelet/pki" \
    --hostname-override="$NODE_NAME" \
    --node-ip="$GATEWAY" \
    --v=1
  wait_for 120 "node $NODE_NAME to be Ready" node_ready
  # The node controller removes the not-ready taint shortly after Ready.
  wait_for 60 "the node's not-ready taint to go" node_untainted
}

install_pod_hardener() {
  local dir="$STATE_DIR/install"
  mkdir -p "$dir"
  # The default install (manifests/, self-managed certificates), with the image built here.
  # Kustomize accepts a base outside the kustomization's own directory, by a relative path.
  cat >"$dir/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$dir" "$repo_root/manifests")
images:
  - name: pod-hardener
    newName: $WEBHOOK_IMAGE_NAME
    newTag: "$(cat "$RUN_DIR/webhook-image-tag")"
patches:
  - target: {kind: Deployment, name: pod-hardener}
    patch: |
      - op: replace
        path: /spec/template/spec/containers/0/imagePullPolicy
        value: Never
EOF
  log "installing pod-hardener (kubectl apply -k manifests/, image $WEBHOOK_IMAGE_NAME:$(cat "$RUN_DIR/webhook-image-tag"))"
  kc apply -k "$dir" >"$LOG_DIR/install.out" 2>&1 || { cat "$LOG_DIR/install.out" >&2; die "kubectl apply -k failed"; }
  if ! kc -n pod-hardener rollout status deployment/pod-hardener --timeout=180s >&2; then
    kc -n pod-hardener get pods -o wide >&2 || true
    kc -n pod-hardener logs deployment/pod-hardener --tail=20 >&2 || true
    die "pod-hardener did not become available"
  fi
  wait_for 60 "the webhook's caBundle (self-managed certificates)" webhook_ca_patched
  # A server-side dry run in an opted-in namespace shows the API server calling the webhook
  # through its Service; nothing is stored.
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: pod-hardener-smoke
  labels: {pod-hardener.io/enabled: "true"}
EOF
  wait_for 60 "the webhook to harden a dry-run pod" webhook_hardens
  kc delete namespace pod-hardener-smoke --wait=false >/dev/null
  log "pod-hardener installed; the API server calls it through its Service"
}

webhook_ca_patched() {
  [[ -n "$(kc get mutatingwebhookconfiguration pod-hardener -o 'jsonpath={.webhooks[0].clientConfig.caBundle}' 2>/dev/null)" ]]
}

webhook_hardens() {
  local uid
  uid="$(kc -n pod-hardener-smoke run smoke --image="$PROBE_IMAGE" --restart=Never --dry-run=server \
    -o 'jsonpath={.spec.securityContext.runAsUser}' 2>/dev/null)" || return 1
  [[ "$uid" == 1000 ]]
}

node_ready() {
  [[ "$(kc get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

node_untainted() {
  [[ "$(kc get node "$NODE_NAME" -o 'jsonpath={.spec.taints}' 2>/dev/null)" != *not-ready* ]]
}

print_access() {
  echo "kubeconfig: $KUBECONFIG"
  echo "node: $NODE_NAME; images: $PROBE_IMAGE, $WEBHOOK_IMAGE_NAME; logs: $LOG_DIR"
  echo "export KUBECONFIG=$KUBECONFIG"
}

print_env() {
  cluster_running || die "no cluster is running"
  cat <<EOF
{"kubeconfig": "$KUBECONFIG", "kubectl": "$(cat "$RUN_DIR/cp-bin-dir")/kubectl",
 "ctr": "$(cat "$RUN_DIR/containerd-bin-dir")/ctr", "containerdAddress": "$CONTAINERD_SOCK",
 "stateDir": "$STATE_DIR", "staticPodDir": "$STATE_DIR/kubelet/manifests",
 "installDir": "$STATE_DIR/install", "nodeName": "$NODE_NAME", "probeImage": "$PROBE_IMAGE",
 "bridge": "$BRIDGE", "gateway": "$GATEWAY", "natChain": "$NAT_CHAIN", "registry": "$REGISTRY",
 "webhookImage": "$WEBHOOK_IMAGE_NAME:$(cat "$RUN_DIR/webhook-image-tag")"}
EOF
}

status() {
  local name
  for name in containerd controlplane kubelet; do
    if alive "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; fi
  done
  if cluster_running; then
    kc get nodes -o wide || true
    kc -n pod-hardener get pods -o wide || true
    echo "export KUBECONFIG=$KUBECONFIG"
  elif leftovers_present; then
    echo "not running, but a previous cluster left things behind: 'npm run cluster -- down' removes them"
    return 1
  else
    echo "no cluster"
    return 1
  fi
}

down() {
  need_root down
  lock_or_die "$CLUSTER_DIR/.lock" "'cluster' command"
  teardown
  local left; left="$(leftovers)"
  if [[ -n "$left" ]]; then
    log "down could not remove:"
    # shellcheck disable=SC2001 # indents every line, which no parameter expansion does
    sed 's/^/  /' <<<"$left" >&2
    die "the cluster was not removed completely"
  fi
  log "down: checked, nothing of the cluster is left outside $CLUSTER_DIR (logs kept in $LOG_DIR)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  # For the node tests: where things are, as JSON, and switching containerd's
  # enable_unprivileged_ports (POD_HARDENER_CLUSTER_UNPRIVILEGED_PORTS) on a running cluster.
  env) print_env ;;
  restart-containerd) restart_containerd ;;
  # For the fault tests: kube-apiserver (with etcd, the controller manager and the scheduler)
  # stopped and started again on the same state.
  restart-controlplane) restart_controlplane ;;
  # For the image identity test: the registry stopped, and started again with its images.
  registry-stop) stop_registry ;;
  registry-start) alive registry || start_registry ;;
  *)
    echo "usage: npm run cluster -- up|down|status" >&2
    exit 2
    ;;
esac
