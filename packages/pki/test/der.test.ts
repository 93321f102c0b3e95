import { describe, expect, it } from "vitest";
import { ipBytes, nameDer } from "../src/certificate-der.js";
import { children, fromHex, namedBits, oid, readTlv, setOf, time, tlv, toHex, unsignedInteger } from "../src/der.js";

const hex = (bytes: Uint8Array) => toHex(bytes);

describe("der.ts", () => {
  it("writes lengths in the fewest bytes: short form to 127, then 0x81, 0x82, 0x83", () => {
    for (const [n, head] of [
      [0, "0400"],
      [127, "047f"],
      [128, "048180"],
      [255, "0481ff"],
      [256, "04820100"],
      [65535, "0482ffff"],
      [65536, "0483010000"],
    ] as const) {
      const der = tlv(0x04, new Uint8Array(n));
      expect(hex(der.subarray(0, head.length / 2)), `length ${n}`).toBe(head);
      expect(der.length).toBe(head.length / 2 + n);
      const read = readTlv(der, 0);
      expect([read.start, read.end]).toEqual([head.length / 2, der.length]);
    }
  });

  it("writes non-negative INTEGERs minimally, with a 0x00 before a top bit that would make them negative", () => {
    expect(hex(unsignedInteger(0))).toBe("020100");
    expect(hex(unsignedInteger(2))).toBe("020102");
    expect(hex(unsignedInteger(127))).toBe("02017f");
    expect(hex(unsignedInteger(128))).toBe("02020080");
    expect(hex(unsignedInteger(256))).toBe("02020100");
    expect(hex(unsignedInteger(fromHex("80")))).toBe("02020080");
    expect(hex(unsignedInteger(fromHex("ff01")))).toBe("020300ff01");
    expect(hex(unsignedInteger(fromHex("00007f")))).toBe("02017f");
    expect(hex(unsignedInteger(fromHex("000080")))).toBe("02020080");
    expect(hex(unsignedInteger(fromHex("0000")))).toBe("020100");
    expect(() => unsignedInteger(-1)).toThrow(RangeError);
  });

  it("writes OIDs: 40a+b first, then base 128 with continuation bits", () => {
    expect(hex(oid("2.5.29.14"))).toBe("0603551d0e");
    expect(hex(oid("1.2.840.113549.1.1.11"))).toBe("06092a864886f70d01010b");
    expect(hex(oid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(hex(oid("2.999.3"))).toBe("0603883703"); // X.690 8.19.5's example: 2.999 is 1079, two bytes
    expect(hex(oid("1.3.6.1.4.1.311.21.20"))).toBe("06092b0601040182371514");
    for (const bad of ["1", "3.1", "1.40", "1.2.x", "1..2"]) expect(() => oid(bad), bad).toThrow(RangeError);
  });

  it("writes UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 4.1.2.5), whole seconds", () => {
    const cases = [
      ["1950-01-01T00:00:00.000Z", "17", "500101000000Z"],
      ["1999-12-31T23:59:59.999Z", "17", "991231235959Z"],
      ["2026-03-04T05:06:07.000Z", "17", "260304050607Z"],
      ["2049-12-31T23:59:59.000Z", "17", "491231235959Z"],
      ["2050-01-01T00:00:00.000Z", "18", "20500101000000Z"],
      ["9999-12-31T23:59:59.000Z", "18", "99991231235959Z"],
    ] as const;
    for (const [iso, tag, text] of cases) {
      const der = time(new Date(iso));
      expect(hex(der.subarray(0, 1)), iso).toBe(tag);
      expect(new TextDecoder().decode(der.subarray(2)), iso).toBe(text);
    }
    expect(() => time(new Date("1949-12-31T23:59:59Z"))).toThrow(RangeError);
    expect(() => time(new Date(Number.NaN))).toThrow(RangeError);
  });

  it("writes named bits without trailing zero bits (X.690 11.2.2)", () => {
    expect(hex(namedBits(1))).toBe("03020780"); // digitalSignature
    expect(hex(namedBits(1 | 4))).toBe("030205a0"); // digitalSignature, keyEncipherment
    expect(hex(namedBits(32 | 64))).toBe("03020106"); // keyCertSign, cRLSign
    expect(hex(namedBits(1 | 32 | 64))).toBe("03020186");
    expect(hex(namedBits(128))).toBe("03020001"); // encipherOnly: bit 7, no unused bits
    expect(hex(namedBits(256))).toBe("0303070080"); // decipherOnly: bit 8, in a second byte
    expect(hex(namedBits(0))).toBe("030100");
  });

  it("sorts a SET OF by its elements' encodings byte by byte, a prefix first", () => {
    const [a, b, c] = [fromHex("0401ff"), fromHex("040100"), fromHex("04020000")];
    // 0401ff before 04020000: the second byte decides before the lengths do.
    expect(hex(setOf(a, b, c))).toBe(`310a${hex(b)}${hex(a)}${hex(c)}`);
    const der = setOf(c, a, b);
    expect(children(der, readTlv(der, 0)).map((t) => hex(der.subarray(t.at, t.end)))).toEqual([hex(b), hex(a), hex(c)]);
    expect(hex(setOf(fromHex("0401aa"), fromHex("0401")))).toBe("310504010401aa");
  });

  it("refuses DER that runs past its end", () => {
    expect(() => readTlv(fromHex("0405aabb"), 0)).toThrow(RangeError);
    expect(() => readTlv(fromHex("0482ff"), 0)).toThrow(RangeError);
    expect(() => readTlv(fromHex("04"), 0)).toThrow(RangeError);
  });

  it("writes IP addresses as Go does: 4 bytes for IPv4 and IPv4-mapped IPv6, else 16", () => {
    expect(hex(ipBytes("192.0.2.10"))).toBe("c000020a");
    expect(hex(ipBytes("::1"))).toBe("00000000000000000000000000000001");
    expect(hex(ipBytes("::"))).toBe("0".repeat(32));
    expect(hex(ipBytes("2001:db8::a:1"))).toBe("20010db80000000000000000000a0001");
    expect(hex(ipBytes("fd00:1:2:3:4:5:6:7"))).toBe("fd000001000200030004000500060007");
    expect(hex(ipBytes("::ffff:192.0.2.1"))).toBe("c0000201");
    expect(hex(ipBytes("64:ff9b::192.0.2.1"))).toBe("0064ff9b0000000000000000c0000201");
    for (const bad of ["1.2.3", "256.1.1.1", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "::g", "1:2:3:4:5:6:7::8:9"])
      expect(() => ipBytes(bad), bad).toThrow(RangeError);
  });

  it("writes a subject in Go's order, PrintableString when it can, several values of a type in one RDN in DER order", () => {
    const der = nameDer({ CN: "kube-apiserver", O: ["system:masters", "Two", "Over"], C: ["US"] });
    const rdns = children(der, readTlv(der, 0));
    const values = rdns.map((rdn) =>
      children(der, rdn).map((atv) => {
        const [, value] = children(der, atv);
        return [value!.tag, new TextDecoder().decode(der.subarray(value!.start, value!.end))];
      }),
    );
    // Each value's encoding starts with its SEQUENCE's length, so a shorter value comes first: "Two" before "Over".
    expect(values).toEqual([
      [[0x13, "US"]],
      [
        [0x13, "Two"],
        [0x13, "Over"],
        [0x13, "system:masters"],
      ],
      [[0x13, "kube-apiserver"]],
    ]);
    const utf8 = nameDer({ CN: "*.example.com & ü" });
    expect(utf8[utf8.length - "*.example.com & ü".length - 3]).toBe(0x0c);
  });
});
