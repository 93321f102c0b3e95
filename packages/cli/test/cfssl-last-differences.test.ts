// cfssl's last differences (issue 21), each beside the real cfssl (Debian's 1.2): `gencert -initca` of a CSR JSON with
// an empty subject is refused as cfssl refuses it, and `gencert -hostname` prints a CSR carrying the -hostname hosts,
// as cfssl's does (cfssl sets the request's hosts before it makes the CSR).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";
import { SEED_CA_CONFIG } from "./seed.js";

const cfssl = (args: string[], cwd: string) => run(peer("cfssl"), args, { cwd });
/** The SANs of a PEM CSR, as openssl prints them. */
const csrSans = (pem: string) =>
  /X509v3 Subject Alternative Name:\s*\n\s*(.*)/.exec(run(peer("openssl"), ["req", "-noout", "-text"], { input: pem }).stdout)?.[1]?.trim();

describe("gencert -initca and the subject", () => {
  const cwd = tempDir();
  it.each([
    ["no CN and no names", { key: { algo: "ecdsa", size: 256 } }, false],
    ["one empty names entry", { key: { algo: "ecdsa", size: 256 }, names: [{}] }, false],
    ["only an O", { key: { algo: "ecdsa", size: 256 }, names: [{ O: "x" }] }, true],
    ["only a CN", { key: { algo: "ecdsa", size: 256 }, CN: "a" }, true],
  ])("%s: made or refused as cfssl does", (name, csr, made) => {
    const file = join(cwd, `${name.replace(/\W/g, "-")}.json`);
    writeFileSync(file, JSON.stringify(csr));
    const theirs = cfssl(["gencert", "-initca", file], cwd);
    const mine = dk(["gencert", "-initca", file], { cwd });
    expect(theirs.status === 0, theirs.stderr).toBe(made);
    expect(mine.status === 0, mine.stderr).toBe(made);
    if (!made) {
      expect(theirs.stdout + theirs.stderr).toContain("missing subject information");
      expect(mine.stderr).toBe("error: CN: missing subject information: a CA needs a CN or a names entry, as cfssl requires\n");
    }
  });
});

describe("gencert -hostname", () => {
  it("prints a CSR carrying the -hostname hosts, as cfssl's", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "ca-csr.json"), JSON.stringify({ CN: "ca", key: { algo: "ecdsa", size: 256 } }));
    writeFileSync(join(cwd, "ca-config.json"), SEED_CA_CONFIG);
    writeFileSync(join(cwd, "leaf.json"), JSON.stringify({ CN: "leaf", hosts: ["json.example"], key: { algo: "ecdsa", size: 256 } }));
    const ca = dk(["gencert", "-initca", "ca-csr.json"], { cwd });
    const { cert, key } = JSON.parse(ca.stdout) as { cert: string; key: string };
    writeFileSync(join(cwd, "ca.pem"), cert);
    writeFileSync(join(cwd, "ca-key.pem"), key);
    const args = ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ca-config.json", "-profile=kubernetes", "-hostname=a.example,10.0.0.9", "leaf.json"];
    const theirs = JSON.parse(cfssl(args, cwd).stdout) as { csr: string };
    const mine = dk(args, { cwd });
    expect(mine.status, mine.stderr).toBe(0);
    expect(csrSans(theirs.csr)).toBe("DNS:a.example, IP Address:10.0.0.9");
    expect(csrSans((JSON.parse(mine.stdout) as { csr: string }).csr)).toBe(csrSans(theirs.csr));
  });
});
