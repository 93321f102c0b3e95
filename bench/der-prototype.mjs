#!/usr/bin/env node
// What the cluster PKI would cost without an ASN.1 library: the same 17 ECDSA certificates and 18 keys, made by a
// process that writes DER by hand and signs with node:crypto (a prototype, not the product), against
// `dk-bootstrap certs --key-algo ecdsa` and `node -e 0`, in turns, medians of RUNS. The prototype's certificates are
// checked with `openssl verify -x509_strict` first. Usage: node bench/der-prototype.mjs [RUNS]
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { isIP, isIPv4 } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";

async function compare(runs) {
  const { CERT_DEFS, clusterSpec } = await import("../packages/pki/dist/index.js");
  const spec = clusterSpec({ nodeIPs: ["192.0.2.10"] });
  const defs = CERT_DEFS.map((d) => ({ name: d.name, ca: d.ca, cn: d.cn(spec), o: d.o?.(spec) ?? [], usages: d.usages, hosts: d.hosts?.(spec) ?? [] }));
  const work = mkdtempSync(join(tmpdir(), "dk-der-"));
  process.on("exit", () => rmSync(work, { recursive: true, force: true }));
  const self = new URL(import.meta.url).pathname;
  const cli = new URL("../packages/cli/bin.cjs", import.meta.url).pathname;
  const env = { ...process.env, XDG_CACHE_HOME: join(work, "cache"), NODE_DISABLE_COMPILE_CACHE: "" };

  const out = join(work, "check");
  execFileSync(process.execPath, [self, "--child", JSON.stringify(defs), out]);
  for (const ca of defs.filter((d) => !d.ca)) {
    const leaves = defs.filter((d) => d.ca === ca.name).map((d) => join(out, `${d.name}.crt`));
    execFileSync("openssl", ["verify", "-x509_strict", "-CAfile", join(out, `${ca.name}.crt`), ...leaves], { stdio: "ignore" });
  }

  const commands = {
    "node -e 0": ["-e", "0"],
    "DER by hand + node:crypto (prototype)": [self, "--child", JSON.stringify(defs), "c"],
    "dk-bootstrap certs --key-algo ecdsa": [cli, "certs", "--key-algo", "ecdsa", "--node-ip", "192.0.2.10", "--dir", "c"],
  };
  // As in pki.mjs: bash's `times` gives the CPU time of the command and its threads, less disturbed by a busy machine.
  const wrap = 'c="$1"; shift; "$c" "$@" >/dev/null 2>&1 </dev/null; s=$?; times; exit $s';
  const seconds = (t) => ((m) => Number(m[1]) * 60 + Number(m[2]))(/(\d+)m([\d.]+)s/.exec(t));
  const times = Object.fromEntries(Object.keys(commands).map((n) => [n, { wall: [], cpu: [] }]));
  for (let i = -1; i < runs; i++)
    for (const [name, args] of Object.entries(commands)) {
      const dir = mkdtempSync(join(work, "run-"));
      const t = performance.now();
      const out = execFileSync("bash", ["-c", wrap, "bash", process.execPath, ...args], { cwd: dir, encoding: "utf8", env });
      const wall = performance.now() - t;
      rmSync(dir, { recursive: true, force: true });
      if (i < 0) continue; // round -1 warms the disk and the code cache
      const [user, sys] = out.trim().split("\n")[1].split(/\s+/).map(seconds);
      times[name].wall.push(wall);
      times[name].cpu.push((user + sys) * 1000);
    }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`The cluster PKI's ${defs.length} ECDSA certificates (checked with openssl), median of ${runs} in turns\n`);
  console.log("| process | wall time | CPU time |\n|---|---|---|");
  for (const [name, x] of Object.entries(times)) console.log(`| ${name} | ${Math.round(median(x.wall))} ms | ${Math.round(median(x.cpu))} ms |`);
}

/** The child: every key and certificate of `defs`, written under `out` as NAME.crt and NAME.key (no journal, no fsync). */
function issueAll(defs, out) {
  const made = new Map();
  for (const d of [...defs.filter((x) => !x.ca), ...defs.filter((x) => x.ca)]) {
    const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = key.publicKey.export({ type: "spki", format: "der" });
    const issuer = d.ca ? made.get(d.ca) : { name: subjectName(d), key: key.privateKey, spki };
    const cert = certificate(d, subjectName(d), spki, issuer);
    made.set(d.name, { name: subjectName(d), key: key.privateKey, spki });
    mkdirSync(dirname(join(out, d.name)), { recursive: true });
    writeFileSync(
      join(out, `${d.name}.crt`),
      `-----BEGIN CERTIFICATE-----\n${cert
        .toString("base64")
        .match(/.{1,64}/g)
        .join("\n")}\n-----END CERTIFICATE-----\n`,
    );
    writeFileSync(join(out, `${d.name}.key`), key.privateKey.export({ type: "pkcs8", format: "pem" }));
  }
  writeFileSync(join(out, "sa.key"), generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
}

// DER: tag, length, value.
function tlv(tag, ...parts) {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
const seq = (...parts) => tlv(0x30, ...parts);
const set = (...parts) => tlv(0x31, ...parts);
const bool = () => tlv(0x01, Buffer.from([0xff]));
const int = (bytes) => tlv(0x02, bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const octets = (bytes) => tlv(0x04, bytes);
const bits = (bytes) => tlv(0x03, Buffer.from([0]), bytes);
const utf8 = (s) => tlv(0x0c, Buffer.from(s));
const utcTime = (d) => tlv(0x17, Buffer.from(`${d.toISOString().replace(/[-:T]/g, "").slice(2, 14)}Z`));
function oid(dotted) {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (let n of rest) {
    const groups = [n & 0x7f];
    while ((n >>= 7) > 0) groups.unshift((n & 0x7f) | 0x80);
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const EKU = { "server auth": "1.3.6.1.5.5.7.3.1", "client auth": "1.3.6.1.5.5.7.3.2" };
const subjectName = (d) => seq(...d.o.map((o) => set(seq(oid("2.5.4.10"), utf8(o)))), set(seq(oid("2.5.4.3"), utf8(d.cn))));
const extension = (id, critical, value) => seq(oid(id), ...(critical ? [bool()] : []), octets(value));
// RFC 5280's key identifier: SHA-1 of the subjectPublicKey bits (the 65 bytes of a P-256 point).
const keyId = (spki) =>
  createHash("sha1")
    .update(spki.subarray(spki.length - 65))
    .digest();

function certificate(d, subject, spki, issuer) {
  const now = Date.now();
  const serial = randomBytes(20);
  serial[0] = serial[0] & 0x7f || 1;
  const exts = d.ca
    ? [
        extension("2.5.29.15", true, tlv(0x03, Buffer.from([7, 0x80]))), // digitalSignature
        ...(d.usages.length ? [extension("2.5.29.37", false, seq(...d.usages.map((u) => oid(EKU[u]))))] : []),
        extension("2.5.29.19", true, seq()),
      ]
    : [extension("2.5.29.15", true, tlv(0x03, Buffer.from([1, 0x06]))), extension("2.5.29.19", true, seq(bool()))]; // keyCertSign, cRLSign
  exts.push(extension("2.5.29.14", false, octets(keyId(spki))));
  if (d.ca) exts.push(extension("2.5.29.35", false, seq(tlv(0x80, keyId(issuer.spki)))));
  const hosts = [...new Set(d.ca ? d.hosts : [d.cn])];
  const ip = (h) => isIP(h) !== 0;
  if (hosts.length)
    exts.push(
      extension(
        "2.5.29.17",
        false,
        seq(...hosts.filter((h) => !ip(h)).map((h) => tlv(0x82, Buffer.from(h))), ...hosts.filter(ip).map((h) => tlv(0x87, ipBytes(h)))),
      ),
    );
  const days = d.ca ? 365 : 3650;
  const tbs = seq(
    tlv(0xa0, int(Buffer.from([2]))),
    int(serial),
    ECDSA_SHA256,
    issuer.name,
    seq(utcTime(new Date(now - 5 * 60_000)), utcTime(new Date(now + days * 86_400_000))),
    subject,
    spki,
    tlv(0xa3, seq(...exts)),
  );
  return seq(tbs, ECDSA_SHA256, bits(sign("sha256", tbs, { key: issuer.key, dsaEncoding: "der" })));
}

/** An IP address's bytes: 4 for IPv4, 16 for IPv6 (`::` expanded). */
function ipBytes(ip) {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  const [head, tail = ""] = ip.split("::");
  const groups = (part) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const [h, t] = [groups(head), groups(tail)];
  const all = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return Buffer.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

if (process.argv[2] === "--child") issueAll(JSON.parse(process.argv[3]), process.argv[4]);
else await compare(Number(process.argv[2] ?? 15));
