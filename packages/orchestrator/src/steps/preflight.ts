import { type Shell, lines, raw, sh } from "../shell.js";
import type { NodeSpec } from "../spec.js";
import type { Step } from "./step.js";
import { CGROUP_PROBE } from "./cgroups.js";
import { moduleLoaded } from "./kernel.js";

/** What a node on cgroup v1 is told: it runs, and what it gives up. */
export const CGROUP_V1_WARNING =
  "preflight: warning: this node has cgroup v1, deprecated by Kubernetes, containerd and runc: the kubelet is configured with failCgroupV1: false (1.35 and later refuse v1 without it); memory QoS, swap and PSI need cgroup v2, and a future Kubernetes release will remove v1";

/** Programs every step script uses (downloads, checksums, the supervisor, unit files). */
const BASE_TOOLS: Record<string, string> = {
  curl: "downloads",
  tar: "unpacking releases",
  sha256sum: "checking downloads",
  setsid: "starting components without systemd",
  awk: "reading checksum files",
  sed: "writing systemd units",
};

/**
 * The preflight: only what the pending steps need. Tools the scripts use, free ports, the clock
 * against the certificates' validity, and for root steps the kernel's settings. It changes nothing
 * (the steps that need a kernel setting make it, and persist it). Each failure is one line saying
 * what to fix; all are reported, then it fails.
 */
export function preflight(pending: readonly Step[], notBefore: Date, spec: NodeSpec): Step {
  return {
    id: "preflight",
    title: "preflight checks",
    why: "Fail before changing anything: a busy port, a missing tool or a clock behind the certificates would each break a step halfway.",
    observe: "",
    files: () => [],
    script: () => preflightScript(pending, notBefore, spec),
    check: () => sh`true`,
    checkTimeout: 1,
    creates: () => [],
    components: [],
  };
}

/** Each tool the pending steps need, with who needs it for what. */
function toolsFor(pending: readonly Step[], spec: NodeSpec): Map<string, string[]> {
  const tools = new Map(Object.entries(BASE_TOOLS).map(([t, why]) => [t, [why]]));
  if (pending.some((s) => s.ports?.length)) tools.set("ss", ["checking that the components' ports are free"]);
  for (const step of pending) for (const [t, why] of Object.entries(step.tools?.(spec) ?? {})) tools.set(t, [...(tools.get(t) ?? []), `${step.id}: ${why}`]);
  return tools;
}

function preflightScript(pending: readonly Step[], notBefore: Date, spec: NodeSpec): Shell {
  const checks: Shell[] = [
    raw(`dk_fail=0; dk_problem() { echo "preflight: $*" >&2; dk_fail=1; }`),
    // dk_own_port SS_LINES OWNERS: every listener is one of OWNERS (colon-separated process names).
    raw(
      String.raw`dk_own_port() { echo "$1" | while IFS= read -r l; do o=$(echo "$l" | sed -n 's/.*users:(("\([^"]*\)".*/\1/p'); case ":$2:" in *":$o:"*) ;; *) exit 1 ;; esac; done; }`,
    ),
  ];
  checks.push(
    sh`case "$(uname -m)" in x86_64|aarch64|amd64|arm64) ;; *) dk_problem "unsupported CPU architecture $(uname -m): Kubernetes publishes amd64 and arm64" ;; esac`,
  );
  for (const [tool, uses] of toolsFor(pending, spec))
    checks.push(sh`command -v ${tool} >/dev/null 2>&1 || dk_problem ${`${tool} is missing (needed for ${uses.join("; ")}): install it`}`);
  // The certificates start 5 minutes back: a node clock behind that refuses every TLS handshake.
  checks.push(
    sh`[ "$(date +%s)" -ge ${Math.floor(notBefore.getTime() / 1000)} ] || dk_problem ${`the node's clock is behind the certificates (valid from ${notBefore.toISOString()}): fix the time (NTP) first`}`,
  );
  // A step run again (its files changed) restarts its own component: the port that component holds is not in the way.
  // ss shows a process by its comm, the first 15 characters of its name.
  const ports = pending.flatMap((s) => (s.ports ?? []).map((port) => ({ port, owners: s.components.map((c) => c.slice(0, 15)) })));
  if (ports.length > 0) {
    // A port check that cannot run is a failure, never a pass (ss missing is reported above).
    checks.push(
      sh`if command -v ss >/dev/null 2>&1; then
  for spec in ${ports.map((p) => [p.port, ...p.owners].join(":"))}; do
    port=\${spec%%:*}; owners=\${spec#*:}
    if held=$(ss -ltnpH "sport = :$port" 2>&1); then
      [ -z "$held" ] || dk_own_port "$held" "$owners" || dk_problem "port $port is in use: $(echo "$held" | head -1)"
    else
      dk_problem "cannot list the sockets listening on port $port: $held"
    fi
  done
fi`,
    );
  }
  if (pending.some((s) => s.needsRoot)) {
    checks.push(
      sh`[ "$(id -u)" = 0 ] || dk_problem ${`${pending
        .filter((s) => s.needsRoot)
        .map((s) => s.id)
        .join(", ")} must run as root: connect as root, or let dk-bootstrap use sudo`}`,
    );
    if (spec.remoteRoot !== "/") checks.push(rootOwnedChain(spec.remoteRoot, pending));
    // v1 still runs, deprecated: the kubelet's config then says failCgroupV1: false (Kubernetes 1.35+ refuses v1 without it).
    checks.push(
      sh`case "$(${CGROUP_PROBE})" in
  v2) echo "preflight: cgroup v2" >&2 ;;
  v1) echo ${CGROUP_V1_WARNING} >&2 ;;
  *) dk_problem "no cgroup hierarchy is mounted on /sys/fs/cgroup: the kubelet and containerd need one" ;;
esac`,
    );
    // Only whether the settings can be made: the containerd step makes them (and writes them for the next boot).
    checks.push(
      sh`[ "$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)" = 1 ] || [ -w /proc/sys/net/ipv4/ip_forward ] || dk_problem "net.ipv4.ip_forward is off and cannot be set (/proc/sys is read-only): pods could not reach beyond the node"`,
    );
    // modprobe -n only says whether it could load the module.
    for (const step of pending)
      for (const [module, why] of Object.entries(step.modules ?? {}))
        checks.push(
          sh`${moduleLoaded(module)} || modprobe -n ${module} 2>/dev/null || dk_problem ${`the ${module} kernel module is not available (${step.id}: ${why})`}`,
        );
    checks.push(
      sh`[ -z "$(swapon --show --noheadings 2>/dev/null)" ] || echo "preflight: swap is on; the kubelet is configured to tolerate it (failSwapOn: false)" >&2`,
    );
  }
  checks.push(raw(`[ "$dk_fail" = 0 ] || exit 1`));
  return lines(checks);
}

/**
 * Root never runs what a login user can replace: with root steps pending, the remote root and every folder above it
 * (from the deepest one that exists: what root makes below it is root's) must be root's and not writable by group
 * or others (a parent with the sticky bit, as /tmp, lets no one rename what is root's in it). Otherwise the user
 * who owns such a folder could swap the binaries, the download cache or the staged files root then runs.
 */
function rootOwnedChain(remoteRoot: string, pending: readonly Step[]): Shell {
  const who = pending
    .filter((s) => s.needsRoot)
    .map((s) => s.id)
    .join(", ");
  return sh`dk_p=${remoteRoot}; dk_top=1
while [ ! -e "$dk_p" ] && [ "$dk_p" != / ]; do dk_p=$(dirname "$dk_p"); dk_top=0; done
while :; do
  dk_s=$(stat -c '%u %a' "$dk_p" 2>/dev/null) || dk_s='? 0'
  dk_u=\${dk_s% *}; dk_m=\${dk_s#* }
  if [ "$dk_u" != 0 ] || { [ $((0$dk_m & 022)) -ne 0 ] && { [ "$dk_top" = 1 ] || [ $((0$dk_m & 01000)) -eq 0 ]; }; }; then
    dk_problem "$dk_p is owned by uid $dk_u with mode $dk_m:" ${`${who} run as root from under it, and a user who can change it could replace what root runs: make it root's and not group- or world-writable (chown root: and chmod go-w), or choose a remote root whose folders are`}
  fi
  [ "$dk_p" = / ] && break
  dk_p=$(dirname "$dk_p"); dk_top=0
done`;
}
