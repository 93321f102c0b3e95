import { X509Certificate } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { type Signer, certificatePem, issueCertificate, kubeadmValidity, parseCertificate } from "../certificate.js";
import type { ClusterFolder } from "../cluster-folder.js";
import { DkError, InputError } from "../errors.js";
import { keyMatchesCertificate, verifyChain } from "../inspect.js";
import { KeyPair, keySpecOf, privateKeyFormatOf } from "../keys.js";
import { sansOf } from "../san.js";
import { x509 } from "../x509.js";
import { type CaName, LEAF_DEFS } from "./certlist.js";
import { certPaths } from "./layout.js";

/** The CAs `certs rotate-ca` takes, by the name the command line gives them. */
export const ROTATABLE_CAS: Readonly<Record<string, CaName>> = { etcd: "etcd/ca", cluster: "ca", "front-proxy": "front-proxy-ca" };

/** A rotation error: the state of the folder does not allow what was asked (another rotation, an abort too late). */
export class RotationError extends DkError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, "ROTATION", options);
  }
}

/**
 * A CA rotation, as the cluster folder remembers it (`pki/rotation/state.json`). Each phase is first written
 * locally (`phase`, `rolledOut: false`), then rolled out to every node (`rolledOut: true`); an interrupted run
 * resumes from there. Phase 1: every trust file holds old and new, the old one still signs. Phase 2: the
 * target signs and every leaf it did not sign is re-issued by it with a new key. Phase 3: the trust files
 * hold the target alone. The target is the new CA, or the old one after `--abort`.
 */
export interface CaRotation {
  /** The command line's name: etcd, cluster, front-proxy. */
  name: string;
  ca: CaName;
  phase: 1 | 2 | 3;
  rolledOut: boolean;
  /** `--abort` was asked: the old CA is the target. */
  aborting: boolean;
  /** This rotation's folder, relative to the cluster folder: the old and the new CA, certificates and keys (0600). */
  archive: string;
  /** SHA-256 fingerprints of the old and the new CA certificates. */
  old: string;
  new: string;
  startedAt: string;
}

const STATE = join("pki", "rotation", "state.json");

const RESTORE = { hint: "restore it from a backup: it says which CA signs" };

/**
 * The rotation the cluster folder records (finished or not), as this run sees it; undefined when none was ever started.
 * The state steers which CA signs and which one every node trusts: a damaged or edited file stops the run (one line naming
 * the field) rather than steer it, and a rotation in progress must find in its archive the very CAs it recorded.
 */
export async function readRotation(folder: ClusterFolder): Promise<CaRotation | undefined> {
  const file = join(folder.dir, STATE);
  const text = await folder.read(file);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InputError("not readable JSON", { file }, RESTORE);
  }
  const r = checkedRotation(parsed, file);
  if (rotationInProgress(r))
    for (const which of ["old", "new"] as const) {
      const [crtFile, keyFile] = [join(folder.dir, r.archive, `${which}.crt`), join(folder.dir, r.archive, `${which}.key`)];
      const crt = await mustRead(folder, crtFile);
      const key = await mustRead(folder, keyFile);
      if (fingerprintOrNone(crt) !== r[which]) throw new InputError(`not the CA the rotation recorded (sha256 ${r[which]})`, { file: crtFile }, RESTORE);
      // Phase 2 copies this key over every copy of the CA key: one that is not the certificate's would sign nothing valid.
      if (!(await keyMatchesCertificate(await KeyPair.fromPem(key, { file: keyFile }), parseCertificate(crt, { file: crtFile }))))
        throw new InputError(`does not match ${crtFile}`, { file: keyFile }, RESTORE);
    }
  return r;
}

const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** state.json's object, field by field (each read from the parsed value, never trusted by a cast). */
function checkedRotation(parsed: unknown, file: string): CaRotation {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new InputError("must be a JSON object", { file }, RESTORE);
  const o = parsed as Record<string, unknown>;
  const bad = (field: string, want: string): never => {
    throw new InputError(want, { file, field, value: String(JSON.stringify(o[field])) }, RESTORE);
  };
  const names = Object.keys(ROTATABLE_CAS);
  const name = typeof o.name === "string" && Object.hasOwn(ROTATABLE_CAS, o.name) ? o.name : bad("name", `must be ${names.slice(0, -1).join(", ")} or ${names.at(-1)}`);
  const ca = ROTATABLE_CAS[name]!;
  if (o.ca !== ca) bad("ca", `must be "${ca}", the ${name} CA's`);
  const phase = o.phase === 1 || o.phase === 2 || o.phase === 3 ? o.phase : bad("phase", "must be 1, 2 or 3");
  const flag = (field: "rolledOut" | "aborting"): boolean => (typeof o[field] === "boolean" ? o[field] : bad(field, "must be true or false"));
  // Made by startRotation as pki/rotation/<ca>-<time>: anything else could send the run's reads and writes elsewhere.
  const archive = typeof o.archive === "string" && /^pki\/rotation\/[a-z][a-z-]*-\d{8}T\d{6}Z$/.test(o.archive) ? o.archive : bad("archive", "must be a folder pki/rotation/NAME");
  const print = (field: "old" | "new"): string => (typeof o[field] === "string" && FINGERPRINT.test(o[field]) ? o[field] : bad(field, "must be a SHA-256 fingerprint"));
  const startedAt = typeof o.startedAt === "string" ? o.startedAt : bad("startedAt", "must be a time");
  return { name, ca, phase, rolledOut: flag("rolledOut"), aborting: flag("aborting"), archive, old: print("old"), new: print("new"), startedAt };
}

/** A certificate's fingerprint, or undefined when it is none. */
function fingerprintOrNone(pem: string): string | undefined {
  try {
    return fingerprint(pem);
  } catch {
    return undefined;
  }
}

/** Whether a recorded rotation still has work to do. */
export const rotationInProgress = (r: CaRotation | undefined): boolean => r !== undefined && !(r.phase === 3 && r.rolledOut);

/** One line for `status`: which CA, which phase, and whether its rollout is done. */
export function describeRotation(r: CaRotation): string {
  const what = ["old and new CA trusted, the old one signs", "the new CA signs, every leaf re-issued", "the old CA leaves every bundle"];
  const target = r.aborting ? "back to the old CA" : "to a new CA";
  if (!rotationInProgress(r)) return `${r.name} CA rotation ${r.aborting ? "aborted" : "finished"} (started ${r.startedAt})`;
  return `${r.name} CA rotation ${target}: phase ${r.phase}/3 (${r.aborting && r.phase === 2 ? "the old CA signs again, every leaf re-issued" : what[r.phase - 1]}), ${r.rolledOut ? "rolled out" : "rolling out"}`;
}

/** The CA's name for the command line, or a one-line error naming the accepted ones. */
export function rotatableCa(name: string): CaName {
  const ca = ROTATABLE_CAS[name];
  if (!ca) throw new InputError(`unknown CA; rotatable: ${Object.keys(ROTATABLE_CAS).join(", ")}`, { field: "CA", value: name });
  return ca;
}

/**
 * Starts a rotation of `name`'s CA, or returns the one in progress for it (a re-run resumes): a new CA of the
 * same key type, name and lifetime, both kept with the old one in `pki/rotation/<ca>-<time>/` (keys 0600), and
 * phase 1 staged: every copy of the CA certificate becomes the bundle old + new, the old one first (it still signs).
 */
export async function startRotation(folder: ClusterFolder, name: string, now = new Date()): Promise<CaRotation> {
  const ca = rotatableCa(name);
  const current = await readRotation(folder);
  if (current && rotationInProgress(current)) {
    if (current.ca === ca) return current;
    throw new RotationError(`a rotation of the ${current.name} CA is in progress (phase ${current.phase}): one CA at a time`, {
      hint: `finish it first: dk-bootstrap certs rotate-ca ${current.name} (or --abort it in phase 1 or 2)`,
    });
  }
  const p = certPaths(folder.dir, ca);
  const [oldPem, oldKeyPem] = [await folder.read(p.crt), await folder.read(p.key)];
  if (oldPem === undefined || oldKeyPem === undefined)
    throw new InputError(`${oldPem === undefined ? "no CA certificate" : "no CA key"}: a rotation needs the CA and its key`, {
      file: oldPem === undefined ? p.crt : p.key,
    });
  const old = parseCertificate(oldPem, { file: p.crt });
  // The key goes to the archive as the old CA's, and an abort signs with it again: it must be this CA's.
  if (!(await keyMatchesCertificate(await KeyPair.fromPem(oldKeyPem, { file: p.key }), old)))
    throw new InputError(`does not match ${p.crt}`, { file: p.key }, { hint: "restore the CA's own key before rotating it" });
  const oldOnly = certificatePem(old);
  const key = await KeyPair.generate(keySpecOf(new X509Certificate(oldOnly).publicKey, { file: p.crt }));
  const lifetime = old.notAfter.getTime() - old.notBefore.getTime();
  const cert = await issueCertificate(
    { subject: old.subjectName, publicKey: key.publicKey, sans: sansOf(old.getExtension(x509.SubjectAlternativeNameExtension)), validity: kubeadmValidity(now, lifetime), ca: {} },
    { selfKey: key },
  );
  const newPem = certificatePem(cert);
  const archive = join("pki", "rotation", `${ca.replace("/", "-")}-${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`);
  const a = join(folder.dir, archive);
  await folder.stage(join(a, "old.crt"), oldOnly, { mode: 0o644, dirMode: 0o700 });
  await folder.stage(join(a, "old.key"), oldKeyPem, { mode: 0o600, dirMode: 0o700 });
  await folder.stage(join(a, "new.crt"), newPem, { mode: 0o644, dirMode: 0o700 });
  await folder.stage(join(a, "new.key"), key.privateKeyPem(privateKeyFormatOf(oldKeyPem)), { mode: 0o600, dirMode: 0o700 });
  const rotation: CaRotation = {
    name,
    ca,
    phase: 1,
    rolledOut: false,
    aborting: false,
    archive,
    old: fingerprint(oldOnly),
    new: fingerprint(newPem),
    startedAt: now.toISOString(),
  };
  await stageCaCopies(folder, ca, oldOnly + newPem, undefined);
  await stageState(folder, rotation);
  return rotation;
}

/** Records that the current phase reached every node. */
export async function markRolledOut(folder: ClusterFolder, r: CaRotation): Promise<CaRotation> {
  await mustBeCurrent(folder, r);
  const next = { ...r, rolledOut: true };
  await stageState(folder, next);
  return next;
}

/** What {@link advanceRotation} staged: the certificates re-issued, by their path in the cluster folder. */
export interface PhaseChange {
  rotation: CaRotation;
  reissued: string[];
}

/**
 * Stages the next phase once the current one is rolled out. Phase 2: the target CA signs (its key in every
 * `.key` copy, its certificate first in every bundle) and every leaf of this CA that the target did not sign is
 * re-issued by it, with a new key of the same type, the same subject, names, usages and lifetime. Phase 3: every
 * copy of the CA certificate is the target alone.
 */
export async function advanceRotation(folder: ClusterFolder, r: CaRotation, now = new Date()): Promise<PhaseChange> {
  if (!r.rolledOut || r.phase === 3) throw new Error(`phase ${r.phase} is ${r.rolledOut ? "the last" : "not rolled out yet"}`);
  await mustBeCurrent(folder, r);
  return stagePhase(folder, { ...r, phase: (r.phase + 1) as 2 | 3, rolledOut: false }, now);
}

/**
 * `--abort`: back to the old CA. In phase 1 no leaf changed, so the new CA simply leaves the bundles (phase 3,
 * towards the old CA). In phase 2 the old CA signs again and every leaf the new one signed is re-issued by the old
 * one while both are still trusted; phase 3 then drops the new CA. Phase 3 is past the point of return: the old CA
 * has left some nodes' bundles already.
 */
export async function abortRotation(folder: ClusterFolder, r: CaRotation, now = new Date()): Promise<PhaseChange> {
  await mustBeCurrent(folder, r);
  if (r.aborting) return { rotation: r, reissued: [] };
  mustBeAbortable(r);
  return stagePhase(folder, { ...r, aborting: true, phase: r.phase === 1 ? 3 : 2, rolledOut: false }, now);
}

/**
 * What may not change a rotating CA's files behind the rotation's back: `certs --force` (it replaces the CAs and every
 * leaf) and `certs renew` of a leaf the rotating CA signs (phase 2 re-issues those itself, and knows which CA must sign
 * them). Refused while a rotation is in progress, saying how to go on.
 */
export async function refuseDuringRotation(folder: ClusterFolder, what: { force: true } | { renew: string }): Promise<void> {
  const r = await readRotation(folder);
  if (!r || !rotationInProgress(r)) return;
  const busy = `a rotation of the ${r.name} CA is in progress (phase ${r.phase}/3)`;
  const hint = { hint: `finish it first: dk-bootstrap certs rotate-ca ${r.name} (-f cluster.yaml, or ssh [user@]host), or --abort it in phase 1 or 2` };
  if ("force" in what) throw new RotationError(`${busy}: --force would replace the CAs and keys it is rotating`, hint);
  const signed = LEAF_DEFS.filter((d) => d.ca === r.ca && (what.renew === "all" || d.name === what.renew)).map((d) => d.name);
  if (signed.length > 0)
    throw new RotationError(`${busy}: ${signed.length === 1 ? `${signed[0]} is` : `${signed.join(", ")} are`} signed by that CA and re-issued by the rotation itself`, hint);
}

/** The folder of the rotations' archives, relative to the cluster folder. */
const ARCHIVES = join("pki", "rotation");

/**
 * The archives of finished rotations of `ca` that still hold a CA key (the old CA's is kept there until it is
 * purged), relative to the cluster folder; the archive of a rotation in progress is never among them.
 */
export async function keptArchives(folder: ClusterFolder, ca: CaName): Promise<string[]> {
  const current = await readRotation(folder);
  const busy = current && rotationInProgress(current) ? current.archive : undefined;
  const prefix = `${ca.replace("/", "-")}-`;
  const names = await readdir(join(folder.dir, ARCHIVES)).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.filter((x) => x.startsWith(prefix) && /^[a-z][a-z-]*-\d{8}T\d{6}Z$/.test(x)).sort()) {
    const archive = join(ARCHIVES, n);
    const files = await readdir(join(folder.dir, archive)).catch(() => [] as string[]);
    if (archive !== busy && files.some((f) => f.endsWith(".key"))) out.push(archive);
  }
  return out;
}

/**
 * `certs rotate-ca NAME --purge-archive`: removes the archives of `ca`'s finished rotations (the old CA's key among
 * them), once nothing can go back to it; refused while a rotation of any CA is in progress. Returns what it removed.
 */
export async function purgeArchives(folder: ClusterFolder, ca: CaName): Promise<string[]> {
  const current = await readRotation(folder);
  if (current && rotationInProgress(current))
    throw new RotationError(`a rotation of the ${current.name} CA is in progress (phase ${current.phase}/3): its archive is still needed`, {
      hint: `finish it first: dk-bootstrap certs rotate-ca ${current.name} (-f cluster.yaml, or ssh [user@]host)`,
    });
  const kept = await keptArchives(folder, ca);
  // Under the folder's lock; a removal cut short leaves part of an archive, which the next purge removes.
  for (const a of kept) await rm(join(folder.dir, a), { recursive: true, force: true });
  return kept;
}

/** Refuses an abort of a rotation past its point of return (phase 3 towards the new CA). */
export function mustBeAbortable(r: CaRotation): void {
  if (r.phase === 3 && !r.aborting)
    throw new RotationError(`the ${r.name} CA rotation is in phase 3 (the old CA leaves every bundle): too late to abort`, {
      hint: `finish it: dk-bootstrap certs rotate-ca ${r.name}`,
    });
}

async function stagePhase(folder: ClusterFolder, r: CaRotation, now: Date): Promise<PhaseChange> {
  const a = join(folder.dir, r.archive);
  const pair = async (which: "old" | "new") => ({ crt: await mustRead(folder, join(a, `${which}.crt`)), key: await mustRead(folder, join(a, `${which}.key`)) });
  const [target, leaving] = r.aborting ? [await pair("old"), await pair("new")] : [await pair("new"), await pair("old")];
  const reissued: string[] = [];
  if (r.phase === 2) {
    await stageCaCopies(folder, r.ca, target.crt + leaving.crt, target.key);
    const signer: Signer = { cert: parseCertificate(target.crt), key: await KeyPair.fromPem(target.key) };
    for (const place of await places(folder)) for (const name of await reissueLeaves(folder, place, r.ca, signer, now)) reissued.push(relative(folder.dir, certPaths(place, name).crt));
  } else await stageCaCopies(folder, r.ca, target.crt, target.key);
  await stageState(folder, r);
  return { rotation: r, reissued };
}

/** The cluster folder itself and each node's folder (`nodes/NAME`), which hold certificates of the cluster's CAs. */
async function places(folder: ClusterFolder): Promise<string[]> {
  const nodes = await readdir(join(folder.dir, "nodes")).catch(() => [] as string[]);
  return [folder.dir, ...nodes.sort().map((n) => join(folder.dir, "nodes", n))];
}

/** Every copy of the CA: the certificate file becomes `bundle`; the key, where a copy exists, `key` (unchanged when undefined). */
async function stageCaCopies(folder: ClusterFolder, ca: CaName, bundle: string, key: string | undefined): Promise<void> {
  for (const place of await places(folder)) {
    const p = certPaths(place, ca);
    if ((await folder.read(p.crt)) === undefined) continue;
    if ((await folder.read(p.crt)) !== bundle) await folder.stage(p.crt, bundle, { mode: 0o644, dirMode: 0o700 });
    if (key !== undefined && (await folder.read(p.key)) !== undefined && (await folder.read(p.key)) !== key)
      await folder.stage(p.key, key, { mode: 0o600, dirMode: 0o700 });
  }
}

/** Re-issues the leaves of `ca` in one place that `signer` did not sign; returns their names. */
async function reissueLeaves(folder: ClusterFolder, place: string, ca: CaName, signer: Signer, now: Date): Promise<string[]> {
  const done: string[] = [];
  for (const def of LEAF_DEFS.filter((d) => d.ca === ca)) {
    const p = certPaths(place, def.name);
    const pem = await folder.read(p.crt);
    if (pem === undefined) continue;
    const old = parseCertificate(pem, { file: p.crt });
    if ((await verifyChain(old, [signer.cert], [], now)).length === 0) continue;
    const keyPem = await folder.read(p.key);
    const key = await KeyPair.generate(keySpecOf(new X509Certificate(pem).publicKey, { file: p.crt }));
    const cert = await issueCertificate(
      {
        subject: old.subjectName,
        publicKey: key.publicKey,
        sans: sansOf(old.getExtension(x509.SubjectAlternativeNameExtension)),
        validity: kubeadmValidity(now, old.notAfter.getTime() - old.notBefore.getTime()),
        usages: {
          keyUsage: old.getExtension(x509.KeyUsagesExtension)?.usages ?? 0,
          extKeyUsage: (old.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []).map(String),
        },
      },
      signer,
    );
    await folder.stage(p.key, key.privateKeyPem(keyPem ? privateKeyFormatOf(keyPem) : "traditional"), { mode: 0o600, dirMode: 0o700 });
    await folder.stage(p.crt, certificatePem(cert), { mode: 0o644, dirMode: 0o700 });
    done.push(def.name);
  }
  return done;
}

/**
 * The folder's lock is held only while a phase is written, not while it rolls out: a second run may have moved the
 * rotation on meanwhile. Writing from a stale state would take it back, so the run stops instead.
 */
async function mustBeCurrent(folder: ClusterFolder, r: CaRotation): Promise<void> {
  const now = await readRotation(folder);
  if (!now || now.archive !== r.archive || now.phase !== r.phase || now.rolledOut !== r.rolledOut || now.aborting !== r.aborting)
    throw new RotationError(`the ${r.name} CA rotation changed while this run rolled it out (another run?): ${now ? `now phase ${now.phase}` : "it is gone"}`, {
      hint: `run the same command again: it resumes from what the folder records`,
    });
}

function stageState(folder: ClusterFolder, r: CaRotation): Promise<void> {
  return folder.stage(join(folder.dir, STATE), `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600, dirMode: 0o700 });
}

async function mustRead(folder: ClusterFolder, path: string): Promise<string> {
  const text = await folder.read(path);
  if (text === undefined) throw new InputError("missing: the rotation's CAs are kept there", { file: path }, { hint: "restore the rotation folder from a backup" });
  return text;
}

/** The SHA-256 fingerprint of a certificate's DER, as `openssl x509 -fingerprint -sha256` prints it. */
export function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
