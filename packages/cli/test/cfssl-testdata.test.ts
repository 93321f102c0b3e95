// cfssl's own test data (fixtures/cfssl, copied from cloudflare/cfssl) and a few cases written the same way, each
// through the real current cfssl (1.6.5, built from github.com/cloudflare/cfssl by scripts/build-peers.sh), through
// Debian's cfssl 1.2 (the second peer: what Debian users have) and through dk-bootstrap, side by side. Every case must
// come out as current cfssl's does, or differ exactly as its `documented` list says (each entry names a sentence of the
// README's list of deliberate differences); and 1.2 must differ from current cfssl exactly where the case's `cfssl12`
// says so, with the line of cfssl's source that says why.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { certinfoJson, parseCertificate } from "@dk-bootstrap/pki";
import { peer, tempDir } from "../../../test-support/peers.js";
import { type Outcome, type Tool, certFacts, csrFacts, differences, inBatches, reasonOf, runAsync, runTool } from "./cfssl-side-by-side.js";
import { CASES, type Case, DOCUMENTED, OWN_FILES } from "./cfssl-testdata-cases.js";

const FX = join(import.meta.dirname, "fixtures", "cfssl");
const README = readFileSync(join(import.meta.dirname, "..", "..", "..", "README.md"), "utf8");

/** cfssl 1.2 prints key IDs without zero padding (`0:3:C2`); current cfssl pads each byte (`%02X`, certinfo.go). */
function padKeyIds(info: Record<string, unknown>): Record<string, unknown> {
  const pad = (s: unknown) =>
    typeof s === "string" && s !== ""
      ? s
          .split(":")
          .map((h) => h.padStart(2, "0"))
          .join(":")
      : s;
  return { ...info, authority_key_id: pad(info.authority_key_id), subject_key_id: pad(info.subject_key_id) };
}

/** The two sides of each differing field, for DK_CASE_DETAIL=1 runs. */
function detail(r: { cfssl: Outcome; dk: Outcome }, fields: string[], a = "cfssl", b = "dk"): string {
  const pick = (o: Outcome, f: string): unknown =>
    f === "outcome" || f === "reason"
      ? `${o.ok ? "accepted" : `refused (${o.reason}): ${o.message}`}`
      : f.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], o);
  return fields.map((f) => `    ${f}\n      ${a}: ${JSON.stringify(pick(r.cfssl, f))}\n      ${b}: ${JSON.stringify(pick(r.dk, f))}`).join("\n");
}

describe("cfssl's test data through cfssl and dk-bootstrap", () => {
  const root = tempDir("dk-cfssl-td-");
  /** `@x` is a file of the run, `%x` the running tool's file of a chain, anything else one of cfssl's under fixtures/cfssl. */
  const path = (p: string, tool: Tool) => (p.startsWith("@") ? join(root, p.slice(1)) : p.startsWith("%") ? join(root, tool, p.slice(1)) : join(FX, p));
  const results = new Map<string, { cfssl: Outcome; cfssl12: Outcome; dk: Outcome; diffs: string[]; drift: string[] }>();

  function argsOf(c: Case, tool: Tool): string[] {
    const path = (p: string) => at(p, tool);
    const signing = [
      ...(c.ca ? [`-ca=${path(c.ca.cert)}`, `-ca-key=${path(c.ca.key)}`] : [`-ca=${join(root, "ca.pem")}`, `-ca-key=${join(root, "ca-key.pem")}`]),
      ...(c.config ? [`-config=${path(c.config)}`] : []),
      ...(c.profile ? [`-profile=${c.profile}`] : []),
      ...(c.hostname !== undefined ? [`-hostname=${c.hostname}`] : []),
    ];
    switch (c.kind) {
      case "certinfo":
        return ["certinfo", "-cert", path(c.input)];
      case "certinfo-csr":
        return ["certinfo", "-csr", path(c.input)];
      case "genkey":
        return ["genkey", ...(c.initca ? ["-initca"] : []), path(c.input)];
      case "initca":
        return ["gencert", "-initca", ...(c.hostname !== undefined ? [`-hostname=${c.hostname}`] : []), path(c.input)];
      case "gencert":
        return ["gencert", ...signing, path(c.input)];
      case "sign":
        return ["sign", ...signing, path(c.input), ...(c.subject ? [path(c.subject)] : [])];
    }
  }

  const at = (p: string, tool: Tool) => path(p, tool);

  async function outcome(tool: Tool, c: Case): Promise<Outcome> {
    const r = await runTool(tool, argsOf(c, tool), root);
    const file = (p: string | undefined) => (p === undefined ? undefined : at(p, tool));
    const files =
      c.kind === "certinfo"
        ? { cert: file(c.input) }
        : c.kind === "certinfo-csr"
          ? { csr: file(c.input) }
          : { config: file(c.config), csr: file(c.input), ca: file(c.ca?.cert) ?? "ca.pem", caKey: file(c.ca?.key) ?? "ca-key.pem" };
    if (r.status !== 0) return { ok: false, ...reasonOf(tool, `${r.stderr}\n${r.stdout}`, files) };
    // Compared as printed: big integers (an RSA modulus) would not survive JSON.parse.
    if (c.kind === "certinfo-csr") return { ok: true, certinfo: r.stdout };
    const json = JSON.parse(r.stdout) as Record<string, string>;
    if (c.kind === "certinfo") return { ok: true, certinfo: tool === "cfssl12" ? padKeyIds(json) : json };
    if (c.saveAs) {
      const base = at(c.saveAs, tool);
      mkdirSync(dirname(base), { recursive: true });
      for (const [k, suffix] of [
        ["cert", ".pem"],
        ["key", "-key.pem"],
        ["csr", ".csr"],
      ] as const)
        if (json[k]) writeFileSync(`${base}${suffix}`, json[k]);
    }
    return {
      ok: true,
      keys: Object.keys(json).sort(),
      // A CSR made elsewhere keeps its key, the same for both tools; a chain's CSRs are each tool's own.
      ...(json.cert ? { cert: certFacts(json.cert, c.kind === "sign" && !c.input.startsWith("%")) } : {}),
      ...(c.kind !== "sign" && json.csr ? { csr: csrFacts(json.csr) } : {}),
      ...(json.cert ? { certPem: json.cert } : {}),
    };
  }

  /**
   * certinfo of cfssl's certificate, by both: dk-bootstrap must describe cfssl's output as cfssl does. dk-bootstrap's
   * side runs in this process (the certinfo cases run its command; a process each here would double the run's time).
   */
  async function certinfoOf(pem: string, name: string): Promise<[unknown, unknown]> {
    const file = join(root, `${name.replace(/[^a-z0-9]+/gi, "_")}.issued.pem`);
    writeFileSync(file, pem);
    const a = await runTool("cfssl", ["certinfo", "-cert", file], root);
    const ours = JSON.parse(JSON.stringify(await certinfoJson(parseCertificate(pem, { file }))));
    return [a.status === 0 ? JSON.parse(a.stdout) : a.stdout, ours];
  }

  beforeAll(async () => {
    for (const [name, text] of Object.entries(OWN_FILES)) writeFileSync(join(root, name), text);
    // The CA every gencert and sign case signs with: made by cfssl, ECDSA to keep the run short.
    const ca = await runTool("cfssl", ["gencert", "-initca", join(root, "interop-ca-csr.json")], root);
    expect(ca.status, ca.stderr).toBe(0);
    const { cert, key } = JSON.parse(ca.stdout) as Record<string, string>;
    writeFileSync(join(root, "ca.pem"), cert!);
    writeFileSync(join(root, "ca-key.pem"), key!);
    // A chain's steps run in order (each needs the one before); chains and other cases run side by side.
    const byChain = new Map<string, Case[]>();
    for (const c of CASES) byChain.set(c.chain ?? c.name, [...(byChain.get(c.chain ?? c.name) ?? []), c]);
    const groups = [...byChain.values()];
    await inBatches(groups, 4, async (group) => {
      for (const c of group) {
        const [cfssl, cfssl12, ours] = await Promise.all([outcome("cfssl", c), outcome("cfssl12", c), outcome("dk", c)]);
        if (cfssl.ok && ours.ok && cfssl.certPem) [cfssl.certinfo, ours.certinfo] = await certinfoOf(cfssl.certPem, c.name);
        for (const o of [cfssl, cfssl12, ours]) delete o.certPem;
        // 1.2 is compared with current cfssl on the same facts (certinfo of what it issued is not asked of it).
        results.set(c.name, {
          cfssl,
          cfssl12,
          dk: ours,
          diffs: differences(cfssl, ours),
          drift: differences({ ...cfssl, certinfo: c.kind.startsWith("certinfo") ? cfssl.certinfo : undefined }, cfssl12),
        });
      }
    });
    const tally = { identical: 0, documented: 0, incompatible: 0 };
    for (const c of CASES) {
      const r = results.get(c.name)!;
      const undocumented = r.diffs.filter((d) => !c.documented?.[d]);
      tally[r.diffs.length === 0 ? "identical" : undocumented.length === 0 ? "documented" : "incompatible"]++;
      if (undocumented.length > 0)
        console.log(`INCOMPATIBLE ${c.name}: ${undocumented.join(", ")}${process.env.DK_CASE_DETAIL ? `\n${detail(r, undocumented)}` : ""}`);
      const drift = JSON.stringify(r.drift.sort()) !== JSON.stringify([...(c.cfssl12?.fields ?? [])].sort());
      if (drift)
        console.log(
          `1.2 DRIFT ${c.name}: ${r.drift.join(", ")}${process.env.DK_CASE_DETAIL ? `\n${detail({ cfssl: r.cfssl, dk: r.cfssl12 }, r.drift, "cfssl", "1.2")}` : ""}`,
        );
    }
    console.log(
      `cfssl test data: ${CASES.length} cases, ${tally.identical} identical, ${tally.documented} documented differences, ${tally.incompatible} incompatible`,
    );
  }, 600_000);

  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const r = results.get(c.name)!;
    const expected = Object.keys(c.documented ?? {}).sort();
    // Every difference is one the case documents, and every documented one still happens (else the list lies).
    expect({ diffs: r.diffs.sort(), cfssl: r.cfssl, dk: r.dk }).toMatchObject({ diffs: expected });
    // Debian's cfssl 1.2 differs from current cfssl exactly where the case says (and why), nowhere else.
    expect({ drift: r.drift.sort(), cfssl: r.cfssl, cfssl12: r.cfssl12 }).toMatchObject({ drift: [...(c.cfssl12?.fields ?? [])].sort() });
  });

  it("openssl verifies dk-bootstrap's client-auth chain; cfssl's leaves, with no AKI under an issuer named as they are, look self-signed to it", async () => {
    const verify = (tool: Tool) => {
      const f = (n: string) => join(root, tool, "client-auth", `${n}.pem`);
      return runAsync(peer("openssl"), ["verify", "-CAfile", f("root"), "-untrusted", f("int"), f("leaf-server"), f("leaf-client")], root);
    };
    const [dk, cfssl] = await Promise.all([verify("dk"), verify("cfssl")]);
    expect(dk.status, `${dk.stdout}${dk.stderr}`).toBe(0);
    expect(cfssl.status).not.toBe(0);
    expect(`${cfssl.stdout}${cfssl.stderr}`).toMatch(/self-signed certificate/);
  });

  it("every documented difference is in the README's list, in the words the cases cite", () => {
    const cited = new Set(CASES.flatMap((c) => Object.values(c.documented ?? {})));
    for (const id of cited) expect(README, `README lacks: ${DOCUMENTED[id]}`).toContain(DOCUMENTED[id]);
    expect([...cited].sort()).toEqual(Object.keys(DOCUMENTED).sort());
  });
});
