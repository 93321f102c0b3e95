import { posix } from "node:path";
import { raw, sh, type Shell } from "./shell.js";

/** Where things live on the node, all under `root` (`--remote-root`, `/` by default). */
export class NodeLayout {
  constructor(readonly root: string) {}

  /** A path under the remote root. */
  path(...parts: string[]): string {
    return posix.join(this.root, ...parts);
  }

  get bin(): string {
    return this.path("usr/local/bin");
  }
  get pki(): string {
    return this.path("etc/kubernetes/pki");
  }
  get etc(): string {
    return this.path("etc/kubernetes");
  }
  get state(): string {
    return this.path("var/lib/dk-bootstrap");
  }
  get cache(): string {
    return this.path("var/cache/dk-bootstrap");
  }
  get logs(): string {
    return this.path("var/log/dk-bootstrap");
  }
  get run(): string {
    return this.path("run/dk-bootstrap");
  }
}

/** Exit status of `dk_fetch` when a download's checksum does not match. */
export const CHECKSUM_EXIT = 86;

/**
 * Shell functions every step script starts with. They are the same in a dry run's printed script and
 * in a real run, so what a person reads is what runs. (Written with `String.raw`: the shell's
 * backslashes stay as they are, and the shell text avoids `${`.)
 * - `dk_fetch URL SUMS FILE`: download into the cache unless it is there and verified; the expected
 *   SHA-256 is `HEX` when SUMS is `sha256:HEX` (pinned: a mirror's downloads), else the line of the URL SUMS
 *   for FILE (or its only token); a mismatch, or an empty pin, exits 86.
 * - `dk_start NAME CMD...`: (re)start a component under systemd when it runs and the root is `/`,
 *   else as a detached process with a pid file and a log file, so it also works without an init system.
 *   `DK_AFTER='etcd ...' dk_start ...` orders its unit after those components' units, and wants them;
 *   `DK_TYPE=notify` is for a program that tells systemd when it is ready (etcd, containerd), so what is
 *   ordered after it starts once it serves, and `systemctl restart` returns then.
 * - `dk_stop NAME`: stop a component.
 * - `dk_started NAME`: when the component's running process was started, in seconds since the epoch (its unit's
 *   start under systemd, else its pid file's time: dk_start writes it as it starts the process).
 * - `dk_wait SECONDS PROBE`: retry PROBE, one shell string, until it passes. It is evaluated afresh on
 *   every try, so a `$(...)` in it asks again each time; {@link waitFor} writes the call.
 */
export function preamble(node: NodeLayout): Shell {
  return raw(
    [
      `DK_ROOT=${sh`${node.root}`.text}; DK_CACHE=${sh`${node.cache}`.text}; DK_RUN=${sh`${node.run}`.text}; DK_LOGS=${sh`${node.logs}`.text}; DK_UNITS=/etc/systemd/system`,
      String.raw`dk_fetch() {
  url=$1; sums=$2; file=$3; dest="$DK_CACHE/$file"; want=
  case $sums in
    sha256:) echo "no trusted checksum for $file: with a mirror, its SHA-256 must come from --checksums or the upstream" >&2; exit ${CHECKSUM_EXIT} ;;
    sha256:*) want=${"$"}{sums#sha256:} ;;
  esac
  mkdir -p "$DK_CACHE"
  if [ -f "$dest" ] && [ -f "$dest.sha256" ] && have=$(sha256sum "$dest" | cut -d' ' -f1) && [ "$have" = "$(cat "$dest.sha256")" ] && { [ -z "$want" ] || [ "$have" = "$want" ]; }; then return 0; fi
  curl -fsSL --retry 3 -o "$dest.part" "$url"
  if [ -z "$want" ]; then
    curl -fsSL --retry 3 -o "$dest.sums" "$sums"
    want=$(awk -v f="$file" 'NF == 1 { print $1; exit } $2 == f || $2 == "*" f { print $1; exit }' "$dest.sums")
  fi
  got=$(sha256sum "$dest.part" | cut -d' ' -f1)
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    rm -f "$dest.part"
    [ -n "$want" ] || want=nothing
    echo "checksum mismatch for $file: expected $want, downloaded $got" >&2
    exit ${CHECKSUM_EXIT}
  fi
  echo "$want" > "$dest.sha256"; mv -f "$dest.part" "$dest"
}`,
      String.raw`dk_systemd() { [ "$DK_ROOT" = / ] && [ -d /run/systemd/system ] && [ "$(id -u)" = 0 ]; }`,
      String.raw`dk_stop() {
  if dk_systemd; then systemctl stop "dk-$1" 2>/dev/null || true; return 0; fi
  pidfile="$DK_RUN/$1.pid"
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null || true
    # Up to 30 s to stop cleanly: an etcd leader hands its leadership over first, which on a loaded machine took more
    # than 10 s (systemd would give it 90, TimeoutStopSec's default).
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
    # Said, not hidden: a component that needs SIGKILL was down (its port closed) for all that time.
    if kill -0 "$pid" 2>/dev/null; then echo "warning: $1 did not stop within 30 s of SIGTERM: killed" >&2; kill -9 "$pid" 2>/dev/null || true; fi
    # SIGKILL is not instant: until the process is gone it holds its ports and locks (etcd's data folder), which the
    # start that follows would find taken.
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    rm -f "$pidfile"
  fi
}`,
      String.raw`dk_started() {
  if dk_systemd; then t=$(systemctl show -p ExecMainStartTimestamp --value "dk-$1") && [ -n "$t" ] && date -d "$t" +%s; else stat -c %Y "$DK_RUN/$1.pid"; fi
}`,
      // systemd splits ExecStart= into words itself (systemd.service(5), "Command lines"), so each
      // argument goes in double quotes, \ and " escaped, % doubled (specifiers), $ doubled (variables).
      String.raw`dk_unit_word() {
  case $1 in *'
'*) echo "dk_start: a unit file cannot hold an argument with a newline: $1" >&2; return 1 ;; esac
  printf '"%s"' "$(printf '%s\n' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/%/%%/g' -e 's/\$/$$/g')"
}`,
      String.raw`dk_unit() {
  name=$1; after=$2; type=$3; shift 3
  [ -n "$type" ] || type=simple
  cmd=
  for arg in "$@"; do
    word=$(dk_unit_word "$arg") || return 1
    if [ -z "$cmd" ]; then cmd=$word; else cmd="$cmd $word"; fi
  done
  deps=network-online.target
  for dep in $after; do deps="$deps dk-$dep.service"; done
  printf '[Unit]\nDescription=dk-bootstrap %s\nWants=%s\nAfter=%s\n\n[Service]\nType=%s\nExecStart=%s\nRestart=always\nRestartSec=2\nDelegate=yes\nKillMode=process\nLimitNOFILE=1048576\n\n[Install]\nWantedBy=multi-user.target\n' "$name" "$deps" "$deps" "$type" "$cmd"
}`,
      String.raw`dk_start() {
  name=$1; shift
  after=$DK_AFTER; type=$DK_TYPE; DK_AFTER=; DK_TYPE=
  if dk_systemd; then
    unit=$(dk_unit "$name" "$after" "$type" "$@") || return 1
    printf '%s\n' "$unit" > "$DK_UNITS/dk-$name.service"
    systemctl daemon-reload; systemctl enable "dk-$name" >/dev/null 2>&1; systemctl restart "dk-$name"; return 0
  fi
  dk_stop "$name"; mkdir -p "$DK_RUN" "$DK_LOGS"
  setsid nohup "$@" >> "$DK_LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$DK_RUN/$name.pid"
}`,
      // The deadline is in seconds of the clock, not in tries: a probe that itself waits (a dial timeout) can't stretch it.
      String.raw`dk_wait() {
  secs=$1; probe=$2; end=$(( $(date +%s) + secs ))
  until out=$(eval "$probe" 2>&1); do
    if [ "$(date +%s)" -ge "$end" ]; then echo "still failing after $secs s: $probe" >&2; [ -z "$out" ] || echo "$out" >&2; return 1; fi
    sleep 0.5
  done
}`,
    ].join("\n"),
  );
}

/** `dk_wait SECONDS PROBE`: the probe goes as one quoted string, so the shell evaluates it again on every try. */
export function waitFor(seconds: number, probe: Shell): Shell {
  return sh`dk_wait ${seconds} ${probe.text}`;
}
