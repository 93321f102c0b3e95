#!/usr/bin/env node
// The whole cluster PKI (RSA-2048 and ECDSA P-256) made by `dk-bootstrap certs`, by a cfssl script and by an
// openssl script, in one run; plus key generation alone. Medians of RUNS runs. Usage: node bench/pki.mjs [RUNS]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { webcrypto } from "node:crypto";
import { CERT_DEFS, KeyPair, clusterSpec, generateClusterPki } from "../packages/pki/dist/index.js";

const RUNS = Number(process.argv[2] ?? 5);
const CLI = new URL("../packages/cli/bin.js", import.meta.url).pathname;
const spec = clusterSpec({ nodeIPs: ["192.0.2.10"] });
const KEYS = CERT_DEFS.length + 1; // + sa

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

function timeCommand(make) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
    const [cmd, args] = make(dir);
    const t = performance.now();
    execFileSync(cmd, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    times.push(performance.now() - t);
    rmSync(dir, { recursive: true, force: true });
  }
  return median(times);
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
    const dir = mkdtempSync(join(tmpdir(), "bench-"));
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

const rows = [];
for (const algo of ["rsa", "ecdsa"]) {
  const row = { algo: algo === "rsa" ? "RSA-2048" : "ECDSA P-256" };
  row.dk = timeCommand(() => [process.execPath, [CLI, "certs", "--dir", "c", "--node-ip", "192.0.2.10", "--key-algo", algo]]);
  row.library = await library(algo);
  row.keygen = await keygenOnly(() => KeyPair.generate(algo === "rsa" ? { algo, size: 2048 } : { algo, size: 256 }));
  row.opensslKeygen = await keygenOnly(opensslKey(algo));
  for (const tool of ["cfssl", "openssl"]) {
    if (!has(tool)) continue;
    const text = script(tool, algo);
    row[tool] = timeCommand((dir) => {
      writeFileSync(join(dir, "make.sh"), text);
      return ["bash", [join(dir, "make.sh")]];
    });
  }
  rows.push(row);
}

const ms = (x) => (x === undefined ? "n/a" : `${Math.round(x)} ms`);
console.log(`Cluster PKI: ${CERT_DEFS.length} certificates + the SA key pair, median of ${RUNS} runs, ${(await import("node:os")).cpus().length} cores\n`);
const ratio = (a, b) => (a === undefined || b === undefined ? "n/a" : (a / b).toFixed(2));
// A ratio over a few milliseconds of key generation (ECDSA) says nothing.
const overKeygen = (a, keygen) => (keygen < 10 ? "n/a" : ratio(a, keygen));
console.log("| keys | dk-bootstrap certs | cfssl script | openssl script | dk / cfssl | dk / openssl |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.algo} | ${ms(r.dk)} | ${ms(r.cfssl)} | ${ms(r.openssl)} | ${ratio(r.dk, r.cfssl)} | ${ratio(r.dk, r.openssl)} |`);
console.log("\nOver key generation alone (the keys made in parallel, in-process):\n");
console.log(
  "| keys | dk's key generation | OpenSSL's key generation (WebCrypto) | generateClusterPki (in-process) | dk-bootstrap certs (a process) | library / keygen | CLI / keygen |",
);
console.log("|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.algo} | ${ms(r.keygen)} | ${ms(r.opensslKeygen)} | ${ms(r.library)} | ${ms(r.dk)} | ${overKeygen(r.library, r.keygen)} | ${overKeygen(r.dk, r.keygen)} |`,
  );
