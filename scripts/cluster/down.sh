# shellcheck shell=bash
# Teardown (sourced by scripts/cluster.sh): everything `up` made, including what the components
# put at paths they hard-code, whatever state a run left (a crashed kubelet, a half-started up).
# Every step tolerates its object being gone already, so `down` is idempotent.

# stop_pid NAME: SIGTERM the process in run/NAME.pid, SIGKILL after 20 s.
stop_pid() {
  local pid
  pid="$(pid_of "$1" 2>/dev/null)" || return 0
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local i
    for (( i = 0; i < 100; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$RUN_DIR/$1.pid"
}

# Processes whose command line names the cluster's directory: shims, and anything a crashed run
# left without a pid file.
own_processes() {
  local p
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" == "$$" || "${p#/proc/}" == "$BASHPID" ]] && continue
    [[ "$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)" == *"$STATE_DIR/"* ]] && echo "${p#/proc/}"
  done
  return 0
}

own_mounts() { awk -v s="$STATE_DIR/" 'index($2, s) == 1 {print $2}' /proc/self/mounts | sort -r; }

# Network namespaces of our sandboxes, from the CNI result cache (results name our network).
own_netns() {
  local r
  for r in /var/lib/cni/results/"$CNI_NETWORK"-*; do
    [[ -f "$r" ]] && grep -oE '/(var/)?run/netns/cni-[0-9a-f-]+' "$r" | head -n 1
  done
  return 0
}

own_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/unified/kubepods; do
    [[ -d "$d" ]] && echo "$d"
  done
  return 0
}

# Prints what a cluster left on this machine, one line each; nothing when it is clean.
leftovers() {
  local p m ns d
  for p in $(own_processes); do echo "process $p: $({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | cut -c1-100)"; done
  for m in $(own_mounts); do echo "mount $m"; done
  for ns in $(own_netns); do echo "network namespace $ns"; done
  for d in $(own_cgroups); do echo "cgroup $d"; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && echo "bridge $BRIDGE"
  iptables -t nat -S "$NAT_CHAIN" >/dev/null 2>&1 && echo "iptables chain $NAT_CHAIN (nat)"
  for d in /var/lib/kubelet/device-plugins /var/lib/kubelet/pod-resources /var/lib/cni/results/"$CNI_NETWORK"-*; do
    [[ -e "$d" ]] && echo "path $d"
  done
  return 0
}

leftovers_present() { [[ -n "$(leftovers)" ]]; }

teardown() {
  # The kubelet first, so it does not restart what is being removed; then every container.
  stop_pid kubelet
  if alive containerd; then
    local c
    for c in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s KILL "$c" >/dev/null 2>&1 || true; done
    sleep 1
    for c in $(ctr tasks ls -q 2>/dev/null); do ctr tasks rm -f "$c" >/dev/null 2>&1 || true; done
    for c in $(ctr containers ls -q 2>/dev/null); do ctr containers rm "$c" >/dev/null 2>&1 || true; done
  fi
  stop_pid containerd
  stop_pid controlplane
  local p
  for p in $(own_processes); do kill -9 "$p" 2>/dev/null || true; done

  local ns
  for ns in $(own_netns); do
    umount "$ns" 2>/dev/null || true
    rm -f "$ns"
  done
  rm -f /var/lib/cni/results/"$CNI_NETWORK"-* /var/lib/cni/results/cni-loopback-* 2>/dev/null || true

  # Mounts under the state directory (the kubelet's volumes and pod directories, container root
  # file systems, sandbox /dev/shm), deepest first; lazily, as a container may still hold one.
  local m
  for m in $(own_mounts); do umount -l "$m" 2>/dev/null || true; done

  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE" && log "removed bridge $BRIDGE"
  fi
  # veth peers of pods vanish with their network namespaces; any left on the bridge went with it.
  if iptables -t nat -S "$NAT_CHAIN" >/dev/null 2>&1; then
    while iptables -t nat -D PREROUTING -j "$NAT_CHAIN" 2>/dev/null; do :; done
    iptables -t nat -F "$NAT_CHAIN" && iptables -t nat -X "$NAT_CHAIN" && log "removed iptables chain $NAT_CHAIN"
  fi

  # The kubelet's cgroups (cgroupfs driver), deepest first, after killing what is still in them
  # (containers whose runtime died before it could stop them).
  local d
  for d in $(own_cgroups); do
    # shellcheck disable=SC2038 # xargs reads the process ids inside the files, not file names
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  sleep 0.3
  for d in $(own_cgroups); do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [[ -d "$d" ]] && log "warning: could not remove cgroup $d (a process is still in it?)"
  done

  # Paths the components hard-code, which only this node used.
  local f
  for f in /var/log/containers/*.log; do
    [[ -L "$f" && "$(readlink "$f")" == "$STATE_DIR/"* ]] && rm -f "$f"
  done
  rm -rf /var/lib/kubelet/device-plugins /var/lib/kubelet/pod-resources
  for d in /var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni/results /var/lib/cni \
    /run/netns /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io \
    /run/containerd/runc /run/containerd; do
    rmdir "$d" 2>/dev/null || true
  done

  rm -rf "$STATE_DIR"
}
