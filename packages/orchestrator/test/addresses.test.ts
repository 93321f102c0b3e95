// The node's own addresses, read from the node with iproute2, and the choice of node IPs made from them.
import { describe, expect, it } from "vitest";
import { LocalTransport, chooseNodeIPs, nodeAddresses, parseDefaultRouteDevs, parseIpAddr } from "@dk-bootstrap/orchestrator";
import { dk, peer, run, tempDir } from "../../../test-support/peers.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

describe("nodeAddresses on a real machine", () => {
  it("lists what `ip -j addr` lists as global, and the default route's interface first", async () => {
    const ip = peer("ip");
    const snapshot = () => {
      const json = JSON.parse(run(ip, ["-j", "addr", "show", "up"]).stdout) as { ifname: string; addr_info?: { local: string; scope: string }[] }[];
      const global = json.flatMap((i) => (i.addr_info ?? []).filter((a) => a.scope === "global").map((a) => ({ dev: i.ifname, address: a.local })));
      const routes = JSON.parse(run(ip, ["-j", "route", "show", "default"]).stdout || "[]") as { dev: string }[];
      return { global, routes };
    };
    // Another run of the suite on this machine adds and removes its test hosts' interfaces at any moment: the
    // comparison is made against a machine that did not change while nodeAddresses read it (seen the same before and after).
    for (let attempt = 1; ; attempt++) {
      const before = snapshot();
      const found = await nodeAddresses(new LocalTransport());
      const after = snapshot();
      if (JSON.stringify(after) !== JSON.stringify(before) && attempt < 20) continue;
      const { global, routes } = before;
      expect(after).toEqual(before);
      expect(found.all.sort()).toEqual(global.map((g) => g.address).sort());
      expect(found.all).not.toContain("127.0.0.1");
      const want = routes.flatMap((r) => global.filter((g) => g.dev === r.dev && !g.address.includes(":")).map((g) => g.address));
      expect(found.defaultRoute.filter((a) => !a.includes(":"))).toEqual(want);
      break;
    }
  });
});

describe("parsing iproute2's one-line output", () => {
  const addr = [
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
    "2: eth0    inet 192.168.1.10/24 brd 192.168.1.255 scope global dynamic eth0\\       valid_lft 86000sec",
    "2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever",
    "2: eth0    inet6 2001:db8::10/64 scope global \\       valid_lft forever",
    "5: veth1@if4    inet 10.213.1.2/24 scope global veth1\\       valid_lft forever",
  ].join("\n");
  it("keeps global unicast addresses only, with their interface (veth peers' @ifN dropped)", () => {
    expect(parseIpAddr(addr)).toEqual([
      { dev: "eth0", address: "192.168.1.10" },
      { dev: "eth0", address: "2001:db8::10" },
      { dev: "veth1", address: "10.213.1.2" },
    ]);
  });
  it("reads the default route's interface", () => {
    expect(parseDefaultRouteDevs("default via 192.168.1.1 dev eth0 proto dhcp metric 100\n10.0.0.0/8 dev wg0\n")).toEqual(["eth0"]);
    expect(parseDefaultRouteDevs("")).toEqual([]);
  });
});

describe("choosing the node IPs", () => {
  const nat = { all: ["10.0.0.5", "172.17.0.1"], defaultRoute: ["10.0.0.5"] };
  it("takes the default route's address, not the address SSH reached (a NAT's)", () => {
    expect(chooseNodeIPs(nat, [], "203.0.113.7", "node")).toEqual(["10.0.0.5"]);
  });
  it("takes the address reached when there is no default route and the node holds it", () => {
    expect(chooseNodeIPs({ all: ["10.213.1.2", "10.9.0.1"], defaultRoute: [] }, [], "10.213.1.2", "node")).toEqual(["10.213.1.2"]);
  });
  it("refuses a --node-ip that is on no interface, naming the ones it has", () => {
    expect(() => chooseNodeIPs(nat, ["203.0.113.7"], undefined, "node")).toThrow(
      /--node-ip: is on no interface of node; its addresses: 10.0.0.5, 172.17.0.1 \(got "203.0.113.7"\)/,
    );
  });
  it("keeps --node-ip values that the node holds, in order", () => {
    expect(chooseNodeIPs(nat, ["172.17.0.1", "10.0.0.5"], undefined, "node")).toEqual(["172.17.0.1", "10.0.0.5"]);
  });
  it("asks for --node-ip when it can't tell", () => {
    expect(() => chooseNodeIPs({ all: ["10.1.0.1", "10.2.0.1"], defaultRoute: [] }, [], undefined, "node")).toThrow(/several \(10.1.0.1, 10.2.0.1\)/);
  });
});

describe("dk-bootstrap local --node-ip", () => {
  it("refuses an address this machine does not hold before making anything", () => {
    const cwd = tempDir();
    const r = dk(["local", "--node-ip", "203.0.113.9", "--remote-root", join(cwd, "root"), "--until", "etcd", "--key-algo", "ecdsa"], { cwd });
    expect(r.status, r.stderr).toBe(1);
    // A warning about the version resolved offline may come first; the error is one line.
    expect(r.stderr).toMatch(/(^|\n)error: --node-ip: is on no interface of [^;]+; its addresses: .+ \(got "203.0.113.9"\)\n/);
    expect(existsSync(join(cwd, "cluster"))).toBe(false);
    expect(existsSync(join(cwd, "root"))).toBe(false);
  });
});
