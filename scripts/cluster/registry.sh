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
#   localhost/pod-hardener/legacy:VARIANT   as REGISTRY/pod-hardener/legacy:VARIANT, for each of
#                                           images.sh's LEGACY_VARIANTS (the transparency table's
#                                           image identity column runs the corpus from here)
#   localhost/pod-hardener/legacy:uid999    also as REGISTRY/pod-hardener/legacy:uid999-cold (a
#                                           tag the image identity test reads with the registry down)

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

# push_legacy_image VARIANT DEST_TAG: this build's legacy-VARIANT image (images.sh names it
# legacy-VARIANT:TAG in buildah's storage and in its archive; containerd knows it as
# legacy:VARIANT), pushed as REGISTRY/pod-hardener/legacy:DEST_TAG with one more label. The label
# gives the registry copy an image ID of its own: once the kubelet has pulled an image whose ID a
# local name also has, it reports that local name as not present to pods that never pull.
push_legacy_image() {
  local variant=$1 dest=$2 tag image copy container
  tag="$(cat "$RUN_DIR/legacy-image-tag")"
  image="localhost/pod-hardener/legacy-$variant:$tag"
  copy="localhost/pod-hardener/legacy-$variant-registry:$tag"
  if ! buildah_ inspect --type image "$copy" >/dev/null 2>&1; then
    if ! buildah_ inspect --type image "$image" >/dev/null 2>&1; then
      [[ -f "$IMAGE_CACHE/legacy-$variant-$tag.tar" ]] || die "no legacy-$variant image in $IMAGE_CACHE: build the images first"
      buildah_ pull --quiet "oci-archive:$IMAGE_CACHE/legacy-$variant-$tag.tar" >/dev/null
    fi
    container="$(buildah_ from --quiet "$image")"
    buildah_ config --label pod-hardener.test/copy=registry "$container"
    buildah_ commit --quiet --rm "$container" "$copy" >/dev/null
  fi
  buildah_ push --quiet --tls-verify=false "$copy" "docker://$REGISTRY_LOCAL/pod-hardener/legacy:$dest" >/dev/null
}

push_registry_images() {
  local variant
  for variant in "${LEGACY_VARIANTS[@]}"; do push_legacy_image "$variant" "$variant"; done
  push_legacy_image uid999 uid999-cold
  # containerd may still hold an older build's pull of these references: pods that must run this
  # build's image pull it with imagePullPolicy Always. Removing those references with ctr instead
  # made the kubelet report the same images under their local names as not present.
}
