#!/usr/bin/env node
// The whole cluster PKI and its kubeconfigs made by `dk-bootstrap certs`, by a cfssl script and by an openssl script
// (RSA-2048 and ECDSA P-256), and `dk-bootstrap --version` against `node -e 0`, in one run: the rows of the issue's
// targets first, then the details (key generation alone, the library in-process, the first run without a code cache).
// The tools take turns within each round, so that a busy machine slows them alike; medians of RUNS rounds, after one
// round that warms the disk cache and makes dk-bootstrap's code cache (kept in a folder of this run).
// kubeadm (built from the k8s.io/kubernetes module of the newest tested release by scripts/build-peers.sh, found in the
// peers' cache; KUBEADM=PATH names another) makes its PKI and kubeconfigs in the same turns: `kubeadm init phase certs
// all` then `init phase kubeconfig all` into an empty folder, RSA-2048 and ECDSA-P256 (its `encryptionAlgorithm`).
// Usage: node bench/pki.mjs [RUNS]   (npm run bench:pki; npm run bench adds the start-up and node benchmarks)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { webcrypto } from "node:crypto";
import { CERT_DEFS, KeyPair, clusterSpec, generateClusterPki } from "../packages/pki/dist/index.js";
import { RELEASES } from "../packages/orchestrator/dist/index.js";

const RUNS = Number(process.argv[2] ?? 7);
const CLI = new URL("../packages/cli/bin.cjs", import.meta.url).pathname;
const spec = clusterSpec({ nodeIPs: ["192.0.2.10"] });
const KEYS = CERT_DEFS.length + 1; // + sa
const work = mkdtempSync(join(tmpdir(), "dk-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
// dk-bootstrap's code cache lives here for this run: the warm-up round makes it, as a user's first run would.
// Node's default environment: NODE_EXTRA_CA_CERTS (a proxy's CA bundle, set on some machines, this one included) makes
// Node 20 read and parse that bundle, and its own roots, at every start before any script runs; node -e 0 pays it too.
// Where it is set, the same commands also run with it (the "this machine" rows), in the same turns.
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
const env = { ...process.env, XDG_CACHE_HOME: join(work, "cache"), NODE_DISABLE_COMPILE_CACHE: "" };
delete env.NODE_EXTRA_CA_CERTS;
const withExtraCa = extraCaCerts ? { NODE_EXTRA_CA_CERTS: extraCaCerts } : undefined;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

// Each command runs under `bash -c '...; times'`: bash reports the CPU time (user + sys) its child and the child's
// own children used, which a busy machine disturbs far less than the wall time. The wall time is taken by bash
// itself ($EPOCHREALTIME) right before and after the command: the wrapper's own start, which a loaded machine
// stretches by tens of ms from run to run, is not in it.
const WRAP = 'c="$1"; shift; t0=$EPOCHREALTIME; "$c" "$@" >/dev/null 2>&1 </dev/null; s=$?; t1=$EPOCHREALTIME; times; echo "$t0 $t1"; exit $s';
const seconds = (t) => Number(/(\d+)m([\d.]+)s/.exec(t)[1]) * 60 + Number(/(\d+)m([\d.]+)s/.exec(t)[2]);

/** One run of a command in a fresh folder: wall and CPU milliseconds. */
function once([cmd, args, extraEnv = {}]) {
  const dir = mkdtempSync(join(work, "run-"));
  const out = execFileSync("bash", ["-c", WRAP, "bash", cmd, ...args], { cwd: dir, encoding: "utf8", env: { ...env, ...extraEnv } });
  rmSync(dir, { recursive: true, force: true });
  const lines = out.trim().split("\n");
  const [user, sys] = lines[1].split(/\s+/).map(seconds);
  const [t0, t1] = lines[2].split(" ").map(Number);
  return { wall: (t1 - t0) * 1000, cpu: (user + sys) * 1000 };
}

/** Medians of commands run in turns: {name: [cmd, args, env?]} -> {name: {wall, cpu}} in ms. */
function inTurns(commands, runs = RUNS) {
  const names = Object.keys(commands);
  for (const n of names) once(commands[n]); // warm-up: disk cache, code cache
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) for (const n of names) times[n].push(once(commands[n]));
  return Object.fromEntries(names.map((n) => [n, { wall: median(times[n].map((x) => x.wall)), cpu: median(times[n].map((x) => x.cpu)) }]));
}

/** Times making the PKI's keys in parallel, in-process: `generate` makes one key. */
async function keygenOnly(generate) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await Promise.all(Array.from({ length: KEYS }, generate));
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Times generateClusterPki in this process: the library's work, without Node's start and module loading. */
async function library(algo) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(work, "lib-"));
    const t = performance.now();
    await generateClusterPki(clusterSpec({ nodeIPs: ["192.0.2.10"], key: algo === "rsa" ? { algo, size: 2048 } : { algo, size: 256 } }), dir);
    times.push(performance.now() - t);
    rmSync(dir, { recursive: true, force: true });
  }
  return median(times);
}

/** OpenSSL's own key generation through WebCrypto: for RSA, the SP 800-56B method dk-bootstrap skips (see src/rsa.ts). */
function opensslKey(algo) {
  const params =
    algo === "rsa"
      ? { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }
      : { name: "ECDSA", namedCurve: "P-256" };
  return () => webcrypto.subtle.generateKey(params, true, ["sign", "verify"]);
}

const KUBERNETES = RELEASES[0].knownPatch;
const KUBEADM = process.env.KUBEADM ?? join(process.env.DK_PEERS_CACHE ?? "/var/cache/dk-bootstrap-peers", "bin", "kubernetes", KUBERNETES, "kubeadm");

/**
 * kubeadm's two phases into the run's empty folder, for the bench's cluster (node `kubernetes` at 192.0.2.10, the
 * workshop's Service subnet, dk-bootstrap's extra apiserver names): 10 certificates, the SA key pair and 5 kubeconfigs
 * (kubeadm makes no kubelet serving certificate and no kube-proxy identity; dk-bootstrap's 18 keys are 2 more).
 */
function kubeadmScript(algo) {
  const config = [
    "apiVersion: kubeadm.k8s.io/v1beta4",
    "kind: InitConfiguration",
    "localAPIEndpoint: {advertiseAddress: 192.0.2.10, bindPort: 6443}",
    "nodeRegistration: {name: kubernetes, criSocket: unix:///run/containerd/containerd.sock}",
    "---",
    "apiVersion: kubeadm.k8s.io/v1beta4",
    "kind: ClusterConfiguration",
    `kubernetesVersion: v${KUBERNETES}`,
    "clusterName: demystifions-kubernetes",
    "certificatesDir: @DIR@/c/pki",
    `encryptionAlgorithm: ${algo === "rsa" ? "RSA-2048" : "ECDSA-P256"}`,
    "networking: {serviceSubnet: 10.0.0.0/24, dnsDomain: cluster.local}",
    "apiServer: {certSANs: [localhost, 127.0.0.1]}",
  ].join("\n");
  return [
    "set -e",
    `cat > kubeadm.yaml <<'Y'\n${config}\nY`,
    'sed -i "s#@DIR@#$PWD#" kubeadm.yaml',
    `${KUBEADM} init phase certs all --config kubeadm.yaml`,
    `${KUBEADM} init phase kubeconfig all --config kubeadm.yaml --kubeconfig-dir "$PWD/c"`,
  ].join("\n");
}

/** A shell script that makes the same certificates with one tool, one command per certificate, as a person would. */
function script(tool, algo) {
  const lines = ["set -e", "mkdir -p pki/etcd pki/clients"];
  const hosts = (d) => (d.hosts ? d.hosts(spec) : []);
  for (const d of CERT_DEFS) {
    const cn = d.cn(spec);
    const o = d.o?.(spec) ?? [];
    if (tool === "cfssl") {
      const csr = { CN: cn, key: algo === "rsa" ? { algo: "rsa", size: 2048 } : { algo: "ecdsa", size: 256 }, names: o.map((O) => ({ O })), hosts: hosts(d) };
      lines.push(`cat > csr.json <<'J'\n${JSON.stringify(csr)}\nJ`);
      if (!d.ca) lines.push(`cfssl gencert -initca csr.json 2>/dev/null | cfssljson -bare pki/${d.name}`);
      else {
        const usages = ["signing", "key encipherment", ...d.usages];
        lines.push(`cat > cfg.json <<'J'\n${JSON.stringify({ signing: { default: { expiry: "8760h", usages } } })}\nJ`);
        lines.push(`cfssl gencert -ca=pki/${d.ca}.pem -ca-key=pki/${d.ca}-key.pem -config=cfg.json csr.json 2>/dev/null | cfssljson -bare pki/${d.name}`);
      }
    } else {
      const newkey = algo === "rsa" ? "rsa:2048" : "ec -pkeyopt ec_paramgen_curve:P-256";
      const subj = `/${o.map((x) => `O=${x}`).join("/")}${o.length ? "/" : ""}CN=${cn}`;
      if (!d.ca) {
        lines.push(
          `openssl req -x509 -newkey ${newkey} -nodes -keyout pki/${d.name}.key -out pki/${d.name}.crt -days 3650 -subj '${subj}' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null`,
        );
      } else {
        const san = hosts(d)
          .map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`))
          .join(",");
        const eku = d.usages.map((u) => (u === "server auth" ? "serverAuth" : "clientAuth")).join(",");
        lines.push(
          `printf '%s\\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=${eku}' 'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid'${san ? ` 'subjectAltName=${san}'` : ""} > ext.cnf`,
        );
        lines.push(
          `openssl req -new -newkey ${newkey} -nodes -keyout pki/${d.name}.key -subj '${subj}' 2>/dev/null | openssl x509 -req -CA pki/${d.ca}.crt -CAkey pki/${d.ca}.key -CAcreateserial -days 365 -extfile ext.cnf -out pki/${d.name}.crt 2>/dev/null`,
        );
      }
    }
  }
  lines.push(algo === "rsa" ? "openssl genrsa -out pki/sa.key 2048 2>/dev/null" : "openssl ecparam -genkey -name prime256v1 -noout -out pki/sa.key");
  return lines.join("\n");
}

const started = performance.now();
const load = loadavg()[0];
const rows = [];
for (const algo of ["rsa", "ecdsa"]) {
  const commands = { dk: [process.execPath, [CLI, "certs", "--dir", "c", "--node-ip", "192.0.2.10", "--key-algo", algo]] };
  for (const tool of ["cfssl", "openssl"]) {
    if (!has(tool)) continue;
    const path = join(work, `${tool}-${algo}.sh`);
    writeFileSync(path, script(tool, algo));
    commands[tool] = ["bash", [path]];
  }
  if (existsSync(KUBEADM)) {
    const path = join(work, `kubeadm-${algo}.sh`);
    writeFileSync(path, kubeadmScript(algo));
    commands.kubeadm = ["bash", [path]];
  }
  // The first run of a new build or a new Node: no code cache yet (it is written at the end of that run).
  commands.dkCold = [...commands.dk, { NODE_DISABLE_COMPILE_CACHE: "1" }];
  if (withExtraCa) commands.dkExtraCa = [...commands.dk, withExtraCa];
  const row = { algo: algo === "rsa" ? "RSA-2048" : "ECDSA P-256", ...inTurns(commands) };
  row.library = await library(algo);
  row.keygen = await keygenOnly(() => KeyPair.generate(algo === "rsa" ? { algo, size: 2048 } : { algo, size: 256 }));
  row.opensslKeygen = await keygenOnly(opensslKey(algo));
  rows.push(row);
}
const startCommands = { node: [process.execPath, ["-e", "0"]], version: [process.execPath, [CLI, "--version"]] };
if (withExtraCa) startCommands.nodeExtraCa = [...startCommands.node, withExtraCa];
const start = inTurns(startCommands, RUNS * 3);

const ms = (x) => (x === undefined ? "n/a" : `${Math.round(x)} ms`);
const both = (x) => (x === undefined ? "n/a" : `${Math.round(x.wall)} ms (${Math.round(x.cpu)} ms)`);
const ratio = (a, b) => (a === undefined || b === undefined ? "n/a" : (a / b).toFixed(2));
const ratios = (a, b) => (a === undefined || b === undefined ? "n/a" : `${ratio(a.wall, b.wall)} (${ratio(a.cpu, b.cpu)})`);
const verdict = (a, b, target) => (a === undefined || b === undefined ? "n/a" : a.wall / b.wall <= target ? "yes" : "no");
const [rsa, ecdsa] = rows;
console.log(
  `Cluster PKI: ${CERT_DEFS.length} certificates + the SA key pair (+ 6 kubeconfigs for dk-bootstrap), median of ${RUNS} rounds in turns, ${cpus().length} cores, load average ${load.toFixed(1)} at the start.`,
);
console.log("Wall time, and in brackets CPU time (user + sys, every process and thread of the run), which a busy machine disturbs less.");
console.log(
  extraCaCerts
    ? `Node's default environment: without this machine's NODE_EXTRA_CA_CERTS (${extraCaCerts}), which the last table adds back.\n`
    : "NODE_EXTRA_CA_CERTS is not set here: Node's default environment.\n",
);
console.log("| target | dk-bootstrap | reference | ratio | target ratio (wall) | met |");
console.log("|---|---|---|---|---|---|");
for (const [label, r, target] of [
  ["ECDSA P-256 PKI + kubeconfigs, vs the cfssl script", ecdsa, 0.7],
  ["RSA-2048 PKI + kubeconfigs, vs the cfssl script", rsa, 0.4],
]) {
  console.log(`| ${label} | ${both(r.dk)} | ${both(r.cfssl)} | ${ratios(r.dk, r.cfssl)} | ≤ ${target} | ${verdict(r.dk, r.cfssl, target)} |`);
}
for (const [label, r, target] of [
  ["RSA-2048 PKI + kubeconfigs, vs kubeadm's phases", rsa, 1.0],
  ["ECDSA P-256 PKI + kubeconfigs, vs kubeadm's phases", ecdsa, 1.5],
]) {
  console.log(`| ${label} | ${both(r.dk)} | ${both(r.kubeadm)} | ${ratios(r.dk, r.kubeadm)} | ≤ ${target} | ${verdict(r.dk, r.kubeadm, target)} |`);
}
console.log(
  `| \`dk-bootstrap --version\`, vs \`node -e 0\` | ${both(start.version)} | ${both(start.node)} | ${ratios(start.version, start.node)} | ≤ 1.2 | ${verdict(start.version, start.node, 1.2)} |`,
);

console.log("\nEvery tool (dk-bootstrap without a code cache: its first run after an install, a rebuild or a new Node):\n");
console.log(
  `| keys | dk-bootstrap certs | same, no code cache | cfssl script | openssl script | kubeadm ${KUBERNETES} phases | dk / cfssl | dk / openssl | dk / kubeadm |`,
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.algo} | ${both(r.dk)} | ${both(r.dkCold)} | ${both(r.cfssl)} | ${both(r.openssl)} | ${both(r.kubeadm)} | ${ratios(r.dk, r.cfssl)} | ${ratios(r.dk, r.openssl)} | ${ratios(r.dk, r.kubeadm)} |`,
  );

// A ratio over a few milliseconds of key generation (ECDSA) says nothing.
const overKeygen = (a, keygen) => (keygen < 10 ? "n/a" : ratio(a, keygen));
console.log("\nOver key generation alone (the keys made in parallel, in-process; wall time):\n");
console.log(
  "| keys | dk's key generation | OpenSSL's key generation (WebCrypto) | generateClusterPki (in-process) | dk-bootstrap certs (a process) | library / keygen | CLI / keygen |",
);
console.log("|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.algo} | ${ms(r.keygen)} | ${ms(r.opensslKeygen)} | ${ms(r.library)} | ${ms(r.dk.wall)} | ${overKeygen(r.library, r.keygen)} | ${overKeygen(r.dk.wall, r.keygen)} |`,
  );
if (withExtraCa) {
  console.log(
    `\nWith this machine's NODE_EXTRA_CA_CERTS, which Node 20 reads at every start before any script runs (\`node -e 0\`: ${both(start.nodeExtraCa)}, against ${both(start.node)} without):\n`,
  );
  console.log("| keys | dk-bootstrap certs | cfssl script | dk / cfssl | target ratio (wall) | met |");
  console.log("|---|---|---|---|---|---|");
  for (const [r, target] of [
    [ecdsa, 0.7],
    [rsa, 0.4],
  ])
    console.log(
      `| ${r.algo} | ${both(r.dkExtraCa)} | ${both(r.cfssl)} | ${ratios(r.dkExtraCa, r.cfssl)} | ≤ ${target} | ${verdict(r.dkExtraCa, r.cfssl, target)} |`,
    );
}
console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
