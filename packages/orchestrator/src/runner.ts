import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { parseCertificate, readIfExists, writeFileAtomic } from "@dk-bootstrap/pki";
import { CHECKSUM_EXIT, waitFor } from "./node.js";
import { ChecksumError, LockedError, RemoteCommandError } from "./errors.js";
import type { EventSink } from "./events.js";
import { bundledArtifact } from "./bundle.js";
import { withPinnedSha256 } from "./checksums.js";
import { contextFor, fileContent, stepHash, stepScript } from "./context.js";
import { PREFLIGHT, plan } from "./plan.js";
import { lines, sh } from "./shell.js";
import { runTargets, markNode, recordMade, stepTargets } from "./node-record.js";
import type { NodeSpec } from "./spec.js";
import { preflight } from "./steps/preflight.js";
import type { Step, StepContext } from "./steps/step.js";
import { type Transport, exec, putFile } from "./transport/transport.js";

/** Options of {@link bootstrap}. */
export interface BootstrapOptions {
  from?: string;
  until?: string;
  events?: EventSink;
  /** The guided run: asked before each pending step; `false` stops the run there (the next one resumes). */
  beforeStep?: (step: Step) => Promise<boolean>;
  /** Run each step's `show` commands after it and report their output as `observe` events. */
  show?: boolean;
}

/** What a run did. */
export interface BootstrapResult {
  done: string[];
  skipped: string[];
  /** The step the guided run stopped before, if it did. */
  stoppedBefore?: string;
}

/** The local record of a node's steps, in the cluster folder. */
interface LocalState {
  host: string;
  remoteRoot: string;
  steps: Record<string, { hash: string; at: string }>;
}

/**
 * Runs the plan on a node. A step whose recorded inputs are unchanged and whose check passes is
 * skipped, so a run after a failure (or a cut connection) resumes where it stopped. The node is
 * locked for the run; the lock is a process of the connection, so a lost connection releases it.
 */
export async function bootstrap(spec: NodeSpec, transport: Transport, options: BootstrapOptions = {}): Promise<BootstrapResult> {
  // `--until preflight`: the checks for the whole plan's pending steps, then stop before the first of them.
  if (options.until === PREFLIGHT) {
    const r = await runSteps(spec, transport, plan({ from: options.from }, spec), options.events, { beforeStep: async () => false });
    return { done: [], skipped: r.skipped };
  }
  return runSteps(spec, transport, plan(options, spec), options.events, options);
}

/**
 * Runs any list of steps with the same machinery (lock, skip when done, preflight, checks, state):
 * what {@link bootstrap} does with the workshop's steps, and what a platform engineer's own steps can use.
 */
export async function runSteps(
  spec: NodeSpec,
  transport: Transport,
  steps: readonly Step[],
  events?: EventSink,
  guide: Pick<BootstrapOptions, "beforeStep" | "show"> & { lockHeld?: boolean } = {},
): Promise<BootstrapResult> {
  const emit = events ?? (() => undefined);
  const found = await contextFor(spec, transport);
  // With a mirror, every download's SHA-256 is pinned from a source the mirror does not control before anything runs;
  // one no such source knows stays unpinned, and the step that would download it fails there (exit 86), naming it.
  const ctx = {
    ...found,
    spec: await withPinnedSha256(
      spec,
      steps.flatMap((s) => s.artifacts?.(found) ?? []),
      { partial: true },
    ),
  };
  // A caller that holds the node's lock for longer (etcd restore) runs its steps under it.
  const release = guide.lockHeld ? async () => undefined : await lock(ctx, transport);
  try {
    const hashes = new Map(await Promise.all(steps.map(async (s) => [s.id, await stepHash(ctx, s)] as const)));
    const skipped: string[] = [];
    for (const step of steps) if (await isDone(ctx, transport, step, hashes.get(step.id)!)) skipped.push(step.id);
    const pending = steps.filter((s) => !skipped.includes(s.id));
    for (const id of skipped) emit({ type: "step-done", step: id, status: "skipped", ms: 0 });
    if (pending.length > 0) await runStep(ctx, transport, preflight(pending, await earliestNotBefore(spec), spec), emit, undefined);
    const done: string[] = [];
    for (const step of pending) {
      if (guide.beforeStep && !(await guide.beforeStep(step))) return { done, skipped, stoppedBefore: step.id };
      await runStep(ctx, transport, step, emit, hashes.get(step.id)!);
      done.push(step.id);
      if (guide.show && step.show) await showStep(ctx, transport, step, emit);
    }
    return { done, skipped };
  } finally {
    await release();
  }
}

/** Takes the node's lock (as every run does) for a caller that runs several things under it: pass `lockHeld` to {@link runSteps}. */
export async function lockNode(spec: NodeSpec, transport: Transport): Promise<() => Promise<void>> {
  return lock(await contextFor(spec, transport), transport);
}

async function lock(ctx: StepContext, transport: Transport): Promise<() => Promise<void>> {
  const path = `${ctx.node.state}/lock`;
  // Before anything else is made: the node's record of the folders every run makes, and the mark that it is ours.
  const { nodeName: node, clusterName: cluster, remoteRoot } = ctx.spec;
  await exec(transport, lines([recordMade(ctx.node, runTargets(ctx.node)), markNode(ctx.node, { node, cluster, remoteRoot })]));
  if (!transport.hold) return async () => undefined;
  // flock holds the lock while `cat` waits on the connection's stdin: when the connection goes, so does the lock. The
  // holder writes who it is beside the lock (this process's PID, host and command line), for a run it refuses.
  const owner = `PID ${process.pid} on ${hostname()} (${["dk-bootstrap", ...process.argv.slice(2)].join(" ")})`;
  const held = await transport.hold(
    sh`mkdir -p ${ctx.node.state} && DK_LOCK_OWNER=${owner} DK_LOCK_OWNER_FILE=${`${path}.owner`} exec flock -n -E 75 ${path} -c 'printf "%s\n" "$DK_LOCK_OWNER" > "$DK_LOCK_OWNER_FILE"; echo dk-lock-held; exec cat >/dev/null'`,
  );
  if (held.firstLine !== "dk-lock-held") {
    await held.release();
    const holder = (await transport.run(sh`cat ${`${path}.owner`} 2>/dev/null`)).stdout.trim().split("\n")[0];
    throw new LockedError(transport.host, path, holder || undefined);
  }
  return held.release;
}

async function isDone(ctx: StepContext, t: Transport, step: Step, hash: string): Promise<boolean> {
  const recorded = await t.run(sh`cat ${`${ctx.node.state}/steps/${step.id}`} 2>/dev/null`);
  if (recorded.stdout.trim() !== hash) return false;
  // A component restarted by its supervisor may need a moment: give the check a few seconds before running the step again.
  return (await t.run(stepScript(ctx, waitFor(3, step.check(ctx))))).exitCode === 0;
}

async function runStep(ctx: StepContext, t: Transport, step: Step, emit: EventSink, hash: string | undefined): Promise<void> {
  const started = Date.now();
  emit({ type: "step-start", step: step.id, title: step.title, why: step.why });
  // Recorded before they are made: a killed step leaves no path of ours out of the node's record.
  const targets = stepTargets(ctx, step);
  if (targets.length > 0) await exec(t, recordMade(ctx.node, targets));
  for (const f of step.files(ctx))
    emit({ type: "file", step: step.id, path: f.path, action: await putFile(t, f.path, await fileContent(ctx.spec, f), f.mode) });
  if (ctx.spec.upload) {
    // Air-gapped: the verified file and its digest go into the node's cache, where dk_fetch finds them and downloads nothing.
    for (const a of step.artifacts?.(ctx) ?? []) {
      const { body, sha256 } = await bundledArtifact(ctx.spec.upload, a);
      const path = `${ctx.node.cache}/${a.file}`;
      emit({ type: "file", step: step.id, path, action: await putFile(t, path, body, 0o644) });
      await putFile(t, `${path}.sha256`, `${sha256}\n`, 0o644);
    }
  }
  const onLine = (line: string, stream: "stdout" | "stderr") => emit({ type: "output", step: step.id, stream, line });
  try {
    await exec(t, stepScript(ctx, step.script(ctx)), { onLine });
    await exec(t, stepScript(ctx, waitFor(step.checkTimeout, step.check(ctx))), { onLine });
  } catch (e) {
    if (e instanceof RemoteCommandError && e.exitCode === CHECKSUM_EXIT) throw new ChecksumError(`${t.host}: ${e.stderr.trim().split("\n").pop()}`);
    if (e instanceof RemoteCommandError) {
      await logTails(ctx, t, step, onLine);
      emit({ type: "check", step: step.id, ok: false, detail: e.message });
    }
    throw e;
  }
  emit({ type: "check", step: step.id, ok: true });
  if (hash !== undefined) {
    await exec(t, sh`mkdir -p ${`${ctx.node.state}/steps`} && printf '%s\n' ${hash} > ${`${ctx.node.state}/steps/${step.id}`}`);
    await recordLocally(ctx, t.host, step.id, hash);
  }
  if (step.observe) emit({ type: "observe", step: step.id, text: step.observe });
  emit({ type: "step-done", step: step.id, status: "done", ms: Date.now() - started });
}

/**
 * The last lines of each of a failed step's component logs, shown under the failure: what a component said as it
 * failed to come up is the first thing one needs (kubeadm points at the kubelet's journal for the same reason).
 */
async function logTails(ctx: StepContext, t: Transport, step: Step, onLine: (line: string, stream: "stdout" | "stderr") => void): Promise<void> {
  for (const c of step.components) {
    const tail = sh`if dk_systemd; then journalctl --no-pager -n 20 -u ${`dk-${c}`}; else tail -n 20 "$DK_LOGS"/${`${c}.log`}; fi`;
    await exec(t, stepScript(ctx, sh`if dk_systemd || [ -s "$DK_LOGS"/${`${c}.log`} ]; then echo ${`last lines of ${c}'s log:`}; ${tail}; fi`), {
      onLine,
    }).catch(() => undefined);
  }
}

/** Runs a step's observation commands; their output becomes `observe` events (a failure there is shown, not fatal). */
async function showStep(ctx: StepContext, t: Transport, step: Step, emit: EventSink): Promise<void> {
  const r = await t.run(stepScript(ctx, step.show!(ctx)));
  for (const line of `${r.stdout}${r.stderr}`.split("\n").filter((l) => l !== "")) emit({ type: "observe", step: step.id, text: line });
}

async function recordLocally(ctx: StepContext, host: string, id: string, hash: string): Promise<void> {
  const path = join(ctx.spec.dir, "state.json");
  const text = await readIfExists(path);
  const state: LocalState = text ? (JSON.parse(text) as LocalState) : { host, remoteRoot: ctx.spec.remoteRoot, steps: {} };
  state.steps[id] = { hash, at: new Date().toISOString() };
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** The latest notBefore of the cluster's CAs: the node's clock must be past it. */
async function earliestNotBefore(spec: NodeSpec): Promise<Date> {
  let latest = new Date(0);
  for (const ca of ["ca.crt", "etcd/ca.crt", "front-proxy-ca.crt"]) {
    const pem = await readFile(join(spec.dir, "pki", ca), "utf8").catch(() => undefined);
    if (pem) {
      const nb = parseCertificate(pem).notBefore;
      if (nb > latest) latest = nb;
    }
  }
  return latest;
}
