// The rotation record a node keeps (pki/ca-rotation.json) is text from the node: `status` shows it only when it is a
// record this tool writes, field by field, so an escape sequence written there never reaches the operator's terminal.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test-support/peers.js";
import { LocalTransport, nodeRotation, nodeRotationFile, nodeSpec, parseNodeRotation } from "../src/index.js";

const FP = "ab".repeat(32);
const GOOD = { name: "cluster", phase: 2, target: FP, at: "2026-12-07T02:00:00.000Z" };

describe("a node's rotation record", () => {
  it("is read back as written", () => {
    expect(parseNodeRotation(`${JSON.stringify(GOOD)}\n`)).toEqual(GOOD);
  });

  it.each([
    ["an escape sequence in a field", { ...GOOD, at: "2026-12-07T02:00:00Z\u001b[2J\u001b]0;owned\u0007" }],
    ["a carriage return", { ...GOOD, name: "cluster\rok" }],
    ["a phase out of range", { ...GOOD, phase: 4 }],
    ["a phase as text", { ...GOOD, phase: "2" }],
    ["a target that is no fingerprint", { ...GOOD, target: "\u009b31mred" }],
    ["a field more", { ...GOOD, note: "hello" }],
    ["a field less", { name: "cluster", phase: 2, target: FP }],
  ])("is refused with %s", (_what, record) => {
    expect(parseNodeRotation(JSON.stringify(record))).toBe("invalid");
  });

  it("is refused when it is not a JSON object, or holds its fields only through its prototype", () => {
    for (const text of ["[]", "null", "2", "{", '"cluster"']) expect(parseNodeRotation(text), text).toBe("invalid");
    expect(parseNodeRotation(`{"__proto__": ${JSON.stringify(GOOD)}}`)).toBe("invalid");
  });

  it("is read from the node through its transport: a tampered file is 'invalid', its text never returned", async () => {
    const root = tempDir("dk-node-record-");
    const spec = nodeSpec({ dir: join(root, "cluster"), remoteRoot: join(root, "node") });
    const t = new LocalTransport();
    expect(await nodeRotation(spec, t)).toBeUndefined();
    mkdirSync(join(nodeRotationFile(spec), ".."), { recursive: true });
    writeFileSync(nodeRotationFile(spec), JSON.stringify(GOOD));
    expect(await nodeRotation(spec, t)).toEqual(GOOD);
    writeFileSync(nodeRotationFile(spec), JSON.stringify({ ...GOOD, at: "\u001b]52;c;ZWNobyBvd25lZA==\u0007" }));
    expect(await nodeRotation(spec, t)).toBe("invalid");
  });
});
