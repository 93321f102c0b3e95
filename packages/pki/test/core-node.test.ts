// The portable core checked against Node and the real tools: its IP and byte helpers against node:net and Buffer,
// its import graph for `node:` modules, its keys against OpenSSL and Node's backend, and the in-memory maker
// against `dk-bootstrap certs`.
import { isIP as nodeIsIP } from "node:net";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import {
  type KeySpec,
  type PrivateKeyFormat,
  clusterPkiFiles,
  clusterSpec,
  decodeText,
  fromBase64,
  isIP,
  makeClusterPki,
  nodeKeyBackend,
  portableKeyBackend,
  toBase64,
  validateKeySpec,
} from "../src/index.js";
import { componentKubeconfigFiles } from "@dk-bootstrap/kubeconfig";
import { comparableCertificate, withoutEmbeddedData } from "../../../test-support/compare-pki.js";
import { derToPem, flipByte, pemToDer, prng } from "../../../test-support/mutate.js";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";
import { USER_OPTIONS, typecheck } from "../../../test-support/typecheck.js";
import ts from "typescript";

const ROOT = join(import.meta.dirname, "..", "..", "..");

describe("ip.ts accepts what node:net's isIP accepts, and nothing else", () => {
  it("on listed addresses, good and bad", () => {
    const inputs = [
      ...["0.0.0.0", "10.0.0.1", "255.255.255.255", "192.168.001.1", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.-4"],
      ...["::", "::1", "fe80::1%eth0", "fe80::1%", "2001:db8::", "2001:db8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::1", "::ffff:10.0.0.1"],
      ...["::ffff:10.0.0.256", "fd00:10::/108", "FD00::ABCD", "gggg::1", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "", "localhost", "[::1]"],
    ];
    expect(inputs.map((s) => [s, isIP(s)])).toEqual(inputs.map((s) => [s, nodeIsIP(s)]));
  });

  it("on 100000 seeded strings made of address pieces", () => {
    const pieces = ["0", "1", "2", "5", "9", "a", "f", "F", "g", ":", ".", "%", "z", "-", "::", "255", "256", "01", "ffff", "1.2.3.4", " "];
    const rand = prng(13);
    const differ: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      let s = "";
      for (let n = 1 + Math.floor(rand() * 12); n > 0; n--) s += pieces[Math.floor(rand() * pieces.length)];
      if (isIP(s) !== nodeIsIP(s)) differ.push(s);
    }
    expect(differ).toEqual([]);
  });

  it("on 100000 seeded colon-separated forms: 1 to 10 groups, at most two gaps, IPv4 tails, zones", () => {
    const groups = ["0", "1", "ab", "FFFF", "12345", "g", "", "1.2.3.4", "256.1.1.1", "01.2.3.4"];
    const zones = ["", "", "%eth0", "%", "%a.b-c:d", "%a%b", "%é"];
    const rand = prng(17);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const differ: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const parts = Array.from({ length: 1 + Math.floor(rand() * 10) }, () => (rand() < 0.8 ? pick(groups.slice(0, 4)) : pick(groups)));
      const s = parts.join(":") + pick(zones);
      if (isIP(s) !== nodeIsIP(s)) differ.push(s);
    }
    expect(differ).toEqual([]);
  });
});

describe("bytes.ts decodes as Buffer does", () => {
  it("base64 (clean, with whitespace and junk, URL-safe, padded early) and text in every encoding", () => {
    const rand = prng(5);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n!é";
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
      const text = Array.from({ length: Math.floor(rand() * 30) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
      expect(Buffer.from(fromBase64(text)).toString("hex"), JSON.stringify(text)).toBe(Buffer.from(text, "base64").toString("hex"));
      expect(decodeText(bytes, "utf8")).toBe(Buffer.from(bytes).toString("utf8"));
      expect(decodeText(bytes, "latin1")).toBe(Buffer.from(bytes).toString("latin1"));
      if (bytes.length % 2 === 0) expect(decodeText(bytes, "utf16be")).toBe(Buffer.from(bytes).swap16().toString("utf16le"));
    }
  });
});

/** The `node:` modules (and bare Node built-ins) the bundle of `entry` would import, resolved as a browser (or Node) resolves. */
async function nodeImportsOf(entry: string, condition: "browser" | "node" = "browser"): Promise<string[]> {
  const found: string[] = [];
  await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "neutral",
    conditions: [condition],
    mainFields: condition === "browser" ? ["browser", "module", "main"] : ["module", "main"],
    logLevel: "silent",
    plugins: [
      {
        name: "node-builtins",
        setup(b) {
          b.onResolve({ filter: /^(node:.*|fs|path|os|net|tls|crypto|child_process|buffer|util|stream|events|url)$/ }, (args) => {
            found.push(`${args.path} (from ${relative(ROOT, args.importer)})`);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return found;
}

describe("the portable entries import no node: module", () => {
  it("@dk-bootstrap/pki and @dk-bootstrap/kubeconfig under the browser condition (their whole import graph, dependencies included)", async () => {
    expect(await nodeImportsOf(join(ROOT, "packages/pki/dist/core.js"))).toEqual([]);
    expect(await nodeImportsOf(join(ROOT, "packages/kubeconfig/dist/core.js"))).toEqual([]);
    // And the check sees them where they are: the Node entries.
    expect((await nodeImportsOf(join(ROOT, "packages/pki/dist/index.js"), "node")).join("\n")).toMatch(/node:crypto \(from packages\/pki\/dist\/rsa\.js\)/);
    expect((await nodeImportsOf(join(ROOT, "packages/kubeconfig/dist/index.js"), "node")).join("\n")).toMatch(/node:fs/);
  });

  it("the package exports send browsers to the core and Node to the full entry", () => {
    for (const pkg of ["pki", "kubeconfig"]) {
      const exportsField = JSON.parse(readFileSync(join(ROOT, "packages", pkg, "package.json"), "utf8")).exports["."];
      expect(Object.keys(exportsField)).toEqual(["browser", "node", "default"]);
      expect([exportsField.browser.default, exportsField.node.default, exportsField.default.default]).toEqual([
        "./dist/core.js",
        "./dist/index.js",
        "./dist/core.js",
      ]);
      expect([exportsField.browser.types, exportsField.node.types]).toEqual(["./dist/core.d.ts", "./dist/index.d.ts"]);
    }
  });
});

describe("each entry has its types", () => {
  const page = [
    `import { checkClusterFiles, clusterPkiFiles, clusterSpec, makeClusterPki, type ClusterFile } from "@dk-bootstrap/pki";`,
    `import { componentKubeconfigFiles, checkKubeconfig, toYaml } from "@dk-bootstrap/kubeconfig";`,
    `const pki = await makeClusterPki(clusterSpec({ key: { algo: "ecdsa" } }));`,
    `const files: ClusterFile[] = [...clusterPkiFiles(pki), ...componentKubeconfigFiles(pki)];`,
    `console.log(files.length, (await checkClusterFiles(files)).length, toYaml, checkKubeconfig);`,
    "export {};",
  ].join("\n");
  // A page's project: a bundler resolving the browser condition, the DOM's types and not Node's.
  const browserProject: ts.CompilerOptions = {
    ...USER_OPTIONS,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    customConditions: ["browser"],
    types: [],
  };

  it("a page's project compiles against the core's types, and the Node-only names are not there", () => {
    expect(typecheck({ "page.ts": page }, ROOT, browserProject)).toEqual([]);
    const nodeOnly = `import { generateClusterPki } from "@dk-bootstrap/pki";\nimport { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";\nexport { generateClusterPki, writeComponentKubeconfigs };\n`;
    expect(typecheck({ "page-node.ts": nodeOnly }, ROOT, browserProject).join("\n")).toMatch(
      /has no exported member 'generateClusterPki'[\s\S]*has no exported member named 'writeComponentKubeconfigs'/,
    );
  });

  it("a Node project sees both: the core's names and the disk's", () => {
    const both = `${page}\nimport { generateClusterPki } from "@dk-bootstrap/pki";\nimport { writeComponentKubeconfigs } from "@dk-bootstrap/kubeconfig";\nconsole.log(generateClusterPki, writeComponentKubeconfigs);\n`;
    expect(typecheck({ "node-app.ts": both })).toEqual([]);
  });
});

const SPECS: [string, KeySpec][] = [
  ["rsa", { algo: "rsa", size: 2048 }],
  ["p256", { algo: "ecdsa", size: 256 }],
  ["p384", { algo: "ecdsa", size: 384 }],
  ["p521", { algo: "ecdsa", size: 521 }],
  ["ed25519", { algo: "ed25519" }],
];

describe("portable keys and Node's are the same files", () => {
  it("each backend reads the other's keys, and writes them back byte for byte as the other did; OpenSSL checks the portable ones", async () => {
    const dir = tempDir();
    for (const [name, spec] of SPECS) {
      for (const format of ["traditional", "pkcs8"] as PrivateKeyFormat[]) {
        const resolved = validateKeySpec(spec);
        const [mine, node] = await Promise.all([portableKeyBackend.generate(resolved), nodeKeyBackend.generate(resolved)]);
        const minePem = portableKeyBackend.privateKeyPem(mine, format);
        const nodePem = nodeKeyBackend.privateKeyPem(node, format);
        const file = join(dir, `${name}-${format}.key`);
        writeFileSync(file, minePem);
        const check = run(peer("openssl"), ["pkey", "-check", "-noout", "-in", file]);
        expect(check.status, `${name} ${format}: ${check.stderr}`).toBe(0);
        expect(nodeKeyBackend.privateKeyPem(await nodeKeyBackend.readPrivateKey(minePem, { file }), format), `${name} ${format}`).toBe(minePem);
        expect(portableKeyBackend.privateKeyPem(await portableKeyBackend.readPrivateKey(nodePem, { file }), format), `${name} ${format}`).toBe(nodePem);
        expect(portableKeyBackend.publicKeyPem(mine)).toBe(nodeKeyBackend.publicKeyPem(await nodeKeyBackend.readPrivateKey(minePem, { file })));
      }
    }
  });

  it("reads an EC key whose point OpenSSL wrote compressed, as the same key", async () => {
    const dir = tempDir();
    for (const curve of ["prime256v1", "secp384r1", "secp521r1"]) {
      const file = join(dir, `${curve}.key`);
      const compressed = join(dir, `${curve}-c.key`);
      expect(run(peer("openssl"), ["ecparam", "-name", curve, "-genkey", "-noout", "-out", file]).status).toBe(0);
      expect(run(peer("openssl"), ["ec", "-in", file, "-conv_form", "compressed", "-out", compressed]).status).toBe(0);
      const key = await portableKeyBackend.readPrivateKey(readFileSync(compressed, "utf8"), { file: compressed });
      expect(portableKeyBackend.privateKeyPem(key, "traditional"), curve).toBe(readFileSync(file, "utf8"));
    }
  });

  it("byte flips in keys of every kind and form (every header byte, then seeded): the portable backend's verdict is OpenSSL's", async () => {
    const dir = tempDir();
    const rand = prng(21);
    const verdicts: string[] = [];
    for (const [name, spec] of SPECS) {
      for (const format of ["traditional", "pkcs8"] as PrivateKeyFormat[]) {
        if (format === "traditional" && spec.algo === "ed25519") continue;
        const pem = portableKeyBackend.privateKeyPem(await portableKeyBackend.generate(validateKeySpec(spec)), format);
        const { label, der } = pemToDer(pem);
        // The first bytes hold the structure (lengths, versions, algorithm, parameters): each flipped in its low and its
        // high bit (a length's short form turned long). An EC key ends with its point, after the BIT STRING's unused-bits
        // count. The rest, mostly numbers, at seeded places.
        const point = spec.algo === "ecdsa" ? 1 + 2 * Math.ceil(spec.size! / 8) : 0;
        const flips: [number, number][] = [
          ...Array.from({ length: 24 }, (_, p) => [[p, 0x01] as [number, number], [p, 0x80] as [number, number]]).flat(),
          ...(point ? [[der.length - point - 1, 0x01] as [number, number]] : []),
          ...Array.from({ length: 10 }, (): [number, number] => [Math.floor(rand() * der.length), 1 + Math.floor(rand() * 255)]),
        ];
        for (const [i, [pos, mask]] of flips.entries()) {
          const mutant = derToPem(label, flipByte(der, pos, mask));
          const file = join(dir, `${name}-${format}-${i}.key`);
          writeFileSync(file, mutant);
          const r = run(peer("openssl"), ["pkey", "-check", "-noout", "-in", file]);
          const theirs = r.status === 0 && /valid/i.test(r.stdout) && !/invalid/i.test(r.stdout);
          let ours = true;
          try {
            await portableKeyBackend.readPrivateKey(mutant, { file });
          } catch (e) {
            expect((e as Error).message.startsWith(`${file}: `)).toBe(true);
            ours = false;
          }
          verdicts.push(`${name} ${format}@${pos}: openssl ${theirs ? "ok" : "refuses"}, we ${ours ? "accept" : "refuse"}`);
        }
      }
    }
    expect(verdicts.filter((v) => /ok, we refuse|refuses, we accept/.test(v))).toEqual([]);
    expect(verdicts.filter((v) => /refuses, we refuse/.test(v)).length).toBeGreaterThan(350);
  });
});

/** Every file under `dir`, relative, with its mode. */
function listFiles(dir: string, base = dir): [string, number][] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e): [string, number][] => {
    const path = join(dir, e.name);
    return e.isDirectory() ? listFiles(path, base) : [[relative(base, path), statSync(path).mode & 0o777]];
  });
}

describe("the in-memory maker makes what `dk-bootstrap certs` writes", () => {
  it("same paths and modes, certificates that differ only in keys, serials and times, kubeconfigs equal but for their embedded data", async () => {
    const dir = join(tempDir(), "cluster");
    const flags = ["--node-name", "node-1", "--node-ip", "10.1.1.1", "--node-ip", "fd00::1", "--key-algo", "ecdsa", "--cluster-name", "lab"];
    const r = dk(["certs", "--dir", dir, ...flags, "--server", "https://10.1.1.1:6443"]);
    expect(r.status, r.stderr).toBe(0);
    const pki = await makeClusterPki(clusterSpec({ nodeName: "node-1", nodeIPs: ["10.1.1.1", "fd00::1"], key: { algo: "ecdsa" } }));
    const files = [...clusterPkiFiles(pki), ...componentKubeconfigFiles(pki, { clusterName: "lab", server: "https://10.1.1.1:6443" })];
    // cluster.yaml is the CLI's record of its flags, not part of the PKI.
    const written = listFiles(dir).filter(([p]) => p !== "cluster.yaml");
    expect(files.map((f) => [f.path, f.mode]).sort()).toEqual(written.sort());
    for (const f of files) {
      const theirs = readFileSync(join(dir, f.path), "utf8");
      if (f.path.endsWith(".crt")) expect(await comparableCertificate(f.content, f.path)).toEqual(await comparableCertificate(theirs, f.path));
      else if (f.path.endsWith(".conf")) expect(withoutEmbeddedData(f.content), f.path).toBe(withoutEmbeddedData(theirs));
      else expect(f.content.split("\n")[0], f.path).toBe(theirs.split("\n")[0]);
    }
  });
});
