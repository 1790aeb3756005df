# shellcheck shell=bash
# shellcheck disable=SC2154 # repo_root and the settings of lib.sh come from scripts/cluster.sh, which sources this file
# An OCI registry for the node tier's image identity test (sourced by scripts/cluster.sh):
# go-containerregistry's cmd/registry (in memory; scripts/build-go-tool.sh registry), holding
# the legacy corpus images, so that containerd pulls them and pod-hardener reads their USER the
# way it does from any registry.
#
# The registry listens on 127.0.0.1 only (it takes no address flag). containerd, on the node,
# pulls REGISTRY (the bridge's gateway address) through a hosts.toml that sends it to the
# loopback; pods, pod-hardener's among them, reach REGISTRY on the bridge, where one DNAT rule in
# the cluster's NAT chain forwards it to the loopback (route_localnet on the bridge only). Both go
# when the cluster goes (down.sh removes the chain and the bridge); the registry binary runs from
# the state directory, so down's sweep of the cluster's processes stops it too.
#
#   localhost/pod-hardener/legacy:numeric   as REGISTRY/pod-hardener/legacy:numeric (USER 101)
#   the same image with USER 999            as REGISTRY/pod-hardener/legacy:uid999 and :uid999-cold

REGISTRY_PORT="${POD_HARDENER_CLUSTER_REGISTRY_PORT:-5000}"
REGISTRY="$GATEWAY:$REGISTRY_PORT"
REGISTRY_LOCAL="127.0.0.1:$REGISTRY_PORT"
REGISTRY_HOSTS_DIR="$STATE_DIR/containerd/certs.d"

# Written before containerd starts; containerd reads it at each pull.
write_registry_hosts() {
  mkdir -p "$REGISTRY_HOSTS_DIR/$REGISTRY"
  cat >"$REGISTRY_HOSTS_DIR/$REGISTRY/hosts.toml" <<EOF
server = "http://$REGISTRY"

[host."http://$REGISTRY_LOCAL"]
  capabilities = ["pull", "resolve"]
EOF
}

registry_answers() { curl -fsS -o /dev/null "http://$REGISTRY_LOCAL/v2/"; }

start_registry() {
  local bin
  bin="$(bash "$repo_root/scripts/build-go-tool.sh" registry | tail -n 1)"
  mkdir -p "$STATE_DIR/registry"
  cp "$bin/registry" "$STATE_DIR/registry/registry"
  start_daemon registry "$STATE_DIR/registry/registry" -port "$REGISTRY_PORT"
  wait_for 30 "the registry on $REGISTRY_LOCAL" registry_answers
  local rule=(-i "$BRIDGE" -d "$GATEWAY" -p tcp --dport "$REGISTRY_PORT" -j DNAT --to-destination "$REGISTRY_LOCAL")
  iptables -t nat -C "$NAT_CHAIN" "${rule[@]}" 2>/dev/null || iptables -t nat -A "$NAT_CHAIN" "${rule[@]}"
  sysctl -q -w "net.ipv4.conf.$BRIDGE.route_localnet=1"
  push_registry_images
  log "registry up at http://$REGISTRY (in memory, the legacy images pushed)"
}

stop_registry() {
  local pid
  pid="$(pid_of registry 2>/dev/null)" || return 0
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$RUN_DIR/registry.pid"
  log "registry stopped"
}

push_registry_images() {
  # The legacy images of this build (images.sh names them legacy-VARIANT:TAG in buildah's
  # storage and in their archives; containerd knows them as legacy:VARIANT).
  local tag numeric
  tag="$(cat "$RUN_DIR/legacy-image-tag")"
  numeric="localhost/pod-hardener/legacy-numeric:$tag"
  if ! buildah_ inspect --type image "$numeric" >/dev/null 2>&1; then
    [[ -f "$IMAGE_CACHE/legacy-numeric-$tag.tar" ]] || die "no legacy-numeric image in $IMAGE_CACHE: build the images first"
    buildah_ pull --quiet "oci-archive:$IMAGE_CACHE/legacy-numeric-$tag.tar" >/dev/null
  fi
  # USER 999 (as argo-cd's image): the same image with only its config's User changed, made
  # anew from this build's image so it never lags behind it.
  local ctr
  ctr="$(buildah_ from --quiet --pull-never "$numeric")"
  buildah_ config --user 999 "$ctr"
  buildah_ commit --quiet "$ctr" "localhost/pod-hardener/legacy-uid999:$tag" >/dev/null
  buildah_ rm "$ctr" >/dev/null
  local pair src dst
  for pair in numeric:numeric uid999:uid999 uid999:uid999-cold; do
    src="${pair%%:*}" dst="${pair#*:}"
    buildah_ push --quiet --tls-verify=false "localhost/pod-hardener/legacy-$src:$tag" \
      "docker://$REGISTRY_LOCAL/pod-hardener/legacy:$dst" >/dev/null
  done
}
