import { createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { peer, run, tempDir } from "../../../test-support/peers.js";
import {
  LocalTransport,
  canonicalHost,
  checkHostKey,
  fingerprint,
  hostFieldMatches,
  hostKeyName,
  parseKnownHosts,
  parseSshConfig,
  quote,
  resolveSshConfig,
  sh,
  verifyHostKey,
} from "../src/index.js";

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

describe("known_hosts names, as OpenSSH spells them", () => {
  // Every spelling of one host a user may type, and the address or name OpenSSH looks up for it.
  const spellings: Record<string, string[]> = {
    localhost: ["localhost", "LOCALHOST", "LocalHost", "[LOCALHOST]"],
    "node.example": ["Node.Example", "NODE.EXAMPLE"],
    "::1": ["::1", "[::1]", "0:0:0:0:0:0:0:1", "0::1", "[0:0::1]"],
    "2001:db8::1": ["2001:DB8::0:1", "[2001:db8:0:0:0:0:0:1]"],
    "::ffff:127.0.0.1": ["::FFFF:127.0.0.1", "::ffff:7f00:1"],
    "10.0.0.5": ["10.0.0.5", "[10.0.0.5]", "10.0.5", "012.0.0.5", "0xa.0.0.5", "167772165"],
    "1.2.3.256": ["1.2.3.256"],
  };

  it("canonicalises each spelling to the name ssh itself uses (ssh -G), brackets dropped", () => {
    const ssh = peer("ssh");
    for (const [canonical, typed] of Object.entries(spellings)) {
      for (const t of typed) {
        expect(canonicalHost(t), t).toBe(canonical);
        // ssh leaves brackets to ssh:// URIs, and writes an address as typed when only its case differs (ssh_login lowercases it after).
        if (t.startsWith("[")) continue;
        const g = run(ssh, ["-G", "-F", "/dev/null", t]);
        expect(/^hostname (.*)$/m.exec(g.stdout)?.[1]?.toLowerCase(), t).toBe(canonical);
      }
    }
    expect(hostKeyName("LOCALHOST", 2223)).toBe("[localhost]:2223");
    expect(hostKeyName("[::1]", 22)).toBe("::1");
    expect(hostKeyName("0:0::1", 2223)).toBe("[::1]:2223");
  });

  it("finds every spelling in plain and ssh-keygen-hashed entries, a changed key refused under each, and a bare-name key good on any port", () => {
    const dir = tempDir();
    const keyOf = (name: string) => {
      run(peer("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, name)]);
      const [type, b64] = readFileSync(join(dir, `${name}.pub`), "utf8").split(" ");
      return { type: type!, key: Buffer.from(b64!, "base64") };
    };
    const [k1, k2] = [keyOf("k1"), keyOf("k2")];
    const names = { localhost: 2223, "::1": 2223, "10.0.0.5": 22, "node.example": 22 };
    const lines = Object.entries(names).map(([h, port]) => `${port === 22 ? h : `[${h}]:${port}`} ${k1.type} ${k1.key.toString("base64")}`);
    const plainFile = join(dir, "plain");
    writeFileSync(plainFile, `${lines.join("\n")}\n`);
    const hashedFile = join(dir, "hashed");
    writeFileSync(hashedFile, `${lines.join("\n")}\n`);
    expect(run(peer("ssh-keygen"), ["-H", "-f", hashedFile]).status).toBe(0);
    const hashed = readFileSync(hashedFile, "utf8");
    expect(hashed).not.toMatch(/localhost|::1|10\.0\.0\.5/);
    for (const file of [plainFile, hashedFile]) {
      const entries = parseKnownHosts(readFileSync(file, "utf8"), file);
      for (const [canonical, port] of Object.entries(names)) {
        for (const typed of spellings[canonical]!) {
          const where = `${typed}:${port} in ${file}`;
          expect(checkHostKey(entries, typed, port, k1.type, k1.key).status, where).toBe("known");
          const changed = checkHostKey(entries, typed, port, k2.type, k2.key);
          expect(changed.status, where).toBe("changed");
          expect(changed.status === "changed" && changed.expected[0]!.key.equals(k1.key), where).toBe(true);
          // Another port is another host: new, not changed.
          expect(checkHostKey(entries, typed, port + 1, k2.type, k2.key).status, where).toBe("unknown");
        }
      }
    }
    // sshconnect.c: unknown under [host]:port, the same key under the bare name is accepted; a different one there is no change.
    const bare = parseKnownHosts(`node.example ${k1.type} ${k1.key.toString("base64")}\n`, "bare");
    expect(checkHostKey(bare, "NODE.example", 2200, k1.type, k1.key).status).toBe("known");
    expect(checkHostKey(bare, "node.example", 2200, k2.type, k2.key).status).toBe("unknown");
  });

  it("calls a key of another ECDSA curve a change, as OpenSSH does (one kind of key per host)", () => {
    const p256 = Buffer.from("p256");
    const entries = parseKnownHosts(`h ecdsa-sha2-nistp256 ${p256.toString("base64")}\n`, "kh");
    expect(verifyHostKey(entries, "h", "ecdsa-sha2-nistp384", Buffer.from("p384")).status).toBe("changed");
    expect(verifyHostKey(entries, "h", "ssh-ed25519", Buffer.from("ed")).status).toBe("unknown");
  });
});

describe("stdin behind a prompt (sudo -S -p MARKER)", () => {
  const gate = { prompt: "[pw-marker]", answer: Buffer.from("the answer\n"), ready: "ready-marker" };
  const t = new LocalTransport();

  it("answers the prompt, sends the input only once ready, and takes both markers out of stderr, even cut across writes", async () => {
    const r = await t.run(
      sh`printf 'before\n[pw-' >&2; sleep 0.1; printf 'marker]' >&2; read -r pw; printf 'got %s\n' "$pw"; printf 'ready-ma' >&2; sleep 0.1; printf 'rker\nafter\n' >&2; cat`,
      { stdin: "INPUT\n", gate },
    );
    expect(r).toMatchObject({ exitCode: 0, stdout: "got the answer\nINPUT\n", stderr: "before\nafter\n" });
  });

  it("holds a command with its input sent once ready, its stdin left open until released", async () => {
    const held = await t.hold(sh`printf '[pw-marker]' >&2; read -r pw; printf 'ready-marker\n' >&2; read -r line; echo "$pw/$line"; cat >/dev/null`, {
      stdin: "INPUT\n",
      gate,
    });
    expect(held.firstLine).toBe("the answer/INPUT");
    await held.release();
  });

  it("sends no answer when nothing asks (a cached sudo ticket), and closes stdin at a second prompt", async () => {
    const cached = await t.run(sh`printf 'ready-marker\n' >&2; cat`, { stdin: "INPUT\n", gate });
    expect(cached).toMatchObject({ exitCode: 0, stdout: "INPUT\n", stderr: "" });
    const refused = await t.run(sh`printf '[pw-marker]' >&2; read -r a; printf 'Sorry\n[pw-marker]' >&2; read -r b || echo "no more: $a"`, {
      stdin: "INPUT\n",
      gate,
    });
    expect(refused).toMatchObject({ exitCode: 0, stdout: "no more: the answer\n", stderr: "Sorry\n" });
  });
});

describe("~/.ssh/config", () => {
  const CONFIG = `
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
`;
  const blocks = parseSshConfig(CONFIG);

  it("resolves each alias as `ssh -G` does with the same file (identity files' ~ and %r expanded as ssh expands them at use)", () => {
    const file = join(tempDir(), "ssh_config");
    writeFileSync(file, CONFIG);
    for (const alias of ["node1", "lab-skip", "lab-x", "other"]) {
      const g = run(peer("ssh"), ["-G", "-F", file, alias], { input: "" });
      expect(g.status, g.stderr).toBe(0);
      const values = (key: string) => [...g.stdout.matchAll(new RegExp(`^${key} (.*)$`, "gm"))].map((m) => m[1]!);
      const [user, hostName, jump] = [values("user")[0]!, values("hostname")[0]!, values("proxyjump")[0]];
      expect(resolveSshConfig(blocks, alias), alias).toEqual({
        ...(hostName === alias ? {} : { hostName }),
        user,
        port: Number(values("port")[0]),
        identityFiles: values("identityfile").map((f) => f.replace(/^~/, homedir()).replaceAll("%r", user)),
        ...(jump ? { proxyJump: jump } : {}),
      });
    }
  });

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
