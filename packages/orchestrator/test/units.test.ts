import { createHmac } from "node:crypto";
import { homedir } from "node:os";
import { describe, expect, it } from "vitest";
import { fingerprint, hostFieldMatches, hostKeyName, parseKnownHosts, parseSshConfig, quote, resolveSshConfig, sh, verifyHostKey } from "../src/index.js";

describe("POSIX quoting", () => {
  it.each([
    ["plain/path-1.2:x=y,z@w%", "plain/path-1.2:x=y,z@w%"],
    ["", "''"],
    ["with space", "'with space'"],
    ["it's", `'it'\\''s'`],
    ["$HOME;rm -rf /", "'$HOME;rm -rf /'"],
  ])("quotes %j as %s", (value, quoted) => expect(quote(value)).toBe(quoted));
  it("refuses NUL, and quotes arrays element by element", () => {
    expect(() => quote("a\0b")).toThrow(/NUL/);
    expect(sh`ls ${["a b", "c"]} ${sh`| wc -l`}`.text).toBe("ls 'a b' c | wc -l");
  });
});

describe("known_hosts", () => {
  const key = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIOtM2Hq4Bbb1ZUNpY2UtdGVzdC1rZXktYnl0ZXMtMTIzNDU2", "base64");
  const other = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIGNkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRk", "base64");
  // A hashed entry for "[node.example]:2222", made with salt "salt-bytes".
  const salt = Buffer.from("salt-bytes").toString("base64");
  const hashed = `|1|${salt}|${createHmac("sha1", Buffer.from("salt-bytes")).update("[node.example]:2222").digest("base64")}`;
  const text = `# comment\n${hashed} ssh-ed25519 ${key.toString("base64")}\n*.lab,!bad.lab ssh-ed25519 ${key.toString("base64")}\n@revoked * ssh-ed25519 ${other.toString("base64")}\n`;
  const entries = parseKnownHosts(text, "kh");

  it("matches hashed names with their port, wildcards and negations", () => {
    expect(hostKeyName("node.example", 2222)).toBe("[node.example]:2222");
    expect(hostFieldMatches(hashed, "[node.example]:2222")).toBe(true);
    expect(hostFieldMatches(hashed, "node.example")).toBe(false);
    expect(hostFieldMatches("*.lab,!bad.lab", "a.lab")).toBe(true);
    expect(hostFieldMatches("*.lab,!bad.lab", "bad.lab")).toBe(false);
  });

  it("says known, unknown, changed or revoked as OpenSSH would", () => {
    expect(verifyHostKey(entries, "[node.example]:2222", "ssh-ed25519", key).status).toBe("known");
    expect(verifyHostKey(entries, "new.example", "ssh-ed25519", key).status).toBe("unknown");
    const changed = verifyHostKey(entries, "a.lab", "ssh-ed25519", Buffer.concat([key, Buffer.from("x")]));
    expect(changed.status).toBe("changed");
    expect(verifyHostKey(entries, "a.lab", "ssh-ed25519", other).status).toBe("revoked");
    expect(verifyHostKey(entries, "a.lab", "ecdsa-sha2-nistp256", other).status).toBe("revoked");
    expect(fingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe("~/.ssh/config", () => {
  const blocks = parseSshConfig(`
User everyone
Host node1 lab-*
  HostName 192.0.2.10
  Port 2222
  IdentityFile ~/.ssh/lab_%r
  ProxyJump ops@bastion.example:22
Host lab-skip
  HostName should-not-win
Match host node1
  User nobody
Host *
  IdentityFile ~/.ssh/id_ed25519
  Port 22
`);

  it("resolves an alias as OpenSSH does: first value wins, identity files add up, ~ and %r expanded", () => {
    expect(resolveSshConfig(blocks, "node1")).toEqual({
      hostName: "192.0.2.10",
      user: "everyone",
      port: 2222,
      identityFiles: [`${homedir()}/.ssh/lab_everyone`, `${homedir()}/.ssh/id_ed25519`],
      proxyJump: "ops@bastion.example:22",
    });
    expect(resolveSshConfig(blocks, "lab-skip").hostName).toBe("192.0.2.10");
    expect(resolveSshConfig(blocks, "other")).toEqual({ user: "everyone", port: 22, identityFiles: [`${homedir()}/.ssh/id_ed25519`] });
  });
});
