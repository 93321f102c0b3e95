import { type Shell, lines, raw, sh } from "../shell.js";
import type { Step } from "./step.js";

/**
 * The preflight: only what the pending steps need. Tools the scripts use, free ports, the clock
 * against the certificates' validity, and for root steps the kernel's settings. Each failure is one
 * line saying what to fix; all are reported, then it fails.
 */
export function preflight(pending: readonly Step[], notBefore: Date): Step {
  return {
    id: "preflight",
    title: "preflight checks",
    why: "Fail before changing anything: a busy port, a missing tool or a clock behind the certificates would each break a step halfway.",
    observe: "",
    files: () => [],
    script: () => preflightScript(pending, notBefore),
    check: () => sh`true`,
    checkTimeout: 1,
    creates: () => [],
    components: [],
  };
}

function preflightScript(pending: readonly Step[], notBefore: Date): Shell {
  const checks: Shell[] = [raw(`dk_fail=0; dk_problem() { echo "preflight: $*" >&2; dk_fail=1; }`)];
  checks.push(
    sh`case "$(uname -m)" in x86_64|aarch64|amd64|arm64) ;; *) dk_problem "unsupported CPU architecture $(uname -m): Kubernetes publishes amd64 and arm64" ;; esac`,
  );
  for (const tool of ["curl", "tar", "sha256sum", "setsid", "awk"])
    checks.push(sh`command -v ${tool} >/dev/null 2>&1 || dk_problem ${`${tool} is missing: install it`}`);
  // The certificates start 5 minutes back: a node clock behind that refuses every TLS handshake.
  checks.push(
    sh`[ "$(date +%s)" -ge ${Math.floor(notBefore.getTime() / 1000)} ] || dk_problem ${`the node's clock is behind the certificates (valid from ${notBefore.toISOString()}): fix the time (NTP) first`}`,
  );
  const ports = pending.flatMap((s) => s.ports ?? []);
  if (ports.length > 0) {
    checks.push(
      sh`for port in ${ports.map(String)}; do
  held=$(ss -ltnpH "sport = :$port" 2>/dev/null | head -1)
  [ -z "$held" ] || dk_problem "port $port is in use: $held"
done`,
    );
  }
  if (pending.some((s) => s.needsRoot)) {
    checks.push(
      sh`[ "$(id -u)" = 0 ] || dk_problem ${`${pending
        .filter((s) => s.needsRoot)
        .map((s) => s.id)
        .join(", ")} must run as root: connect as root, or let dk-bootstrap use sudo`}`,
    );
    checks.push(
      sh`[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || dk_problem "cgroup v2 is not mounted on /sys/fs/cgroup: the kubelet needs it"`,
    );
    checks.push(
      sh`[ "$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)" = 1 ] || sysctl -qw net.ipv4.ip_forward=1 || dk_problem "net.ipv4.ip_forward is off and cannot be set"`,
    );
    checks.push(
      sh`[ -d /sys/module/br_netfilter ] || modprobe br_netfilter 2>/dev/null || dk_problem "the br_netfilter kernel module cannot be loaded: Service traffic between pods would bypass kube-proxy"`,
    );
    checks.push(
      sh`[ -z "$(swapon --show --noheadings 2>/dev/null)" ] || echo "preflight: swap is on; the kubelet is configured to tolerate it (failSwapOn: false)" >&2`,
    );
  }
  checks.push(raw(`[ "$dk_fail" = 0 ] || exit 1`));
  return lines(checks);
}
