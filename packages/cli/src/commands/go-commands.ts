import type { GoFlagSpec } from "../go-flags.js";

/** A cfssl-compatible command: Go-style single-dash flags, parsed outside commander. Its code is in cfssl.ts, loaded when it runs. */
export interface GoCommand {
  name: string;
  summary: string;
  usage: string;
  flags: GoFlagSpec;
  /** How many arguments it takes after its flags. */
  maxArgs: number;
}

const SIGNING_FLAGS: GoFlagSpec = { ca: "string", "ca-key": "string", config: "string", profile: "string", hostname: "string", loglevel: "string" };

/** `gencert`, `genkey`, `sign`, `certinfo`, `print-defaults` and `json` (cfssljson), with cfssl's flags. */
export const GO_COMMANDS: readonly GoCommand[] = [
  {
    name: "gencert",
    summary: "cfssl gencert: a new key and certificate from a CSR JSON (-initca for a CA)",
    usage:
      "dk-bootstrap gencert -initca CSRJSON\n  dk-bootstrap gencert -ca=ca.pem -ca-key=ca-key.pem [-config=ca-config.json] [-profile=NAME] [-hostname=a,b] CSRJSON\n\nPrints cfssl's JSON {cert, csr, key}: pipe it into `dk-bootstrap json -bare NAME` (or the real `cfssljson -bare NAME`).",
    flags: { ...SIGNING_FLAGS, initca: "bool" },
    maxArgs: 1,
  },
  {
    name: "genkey",
    summary: "cfssl genkey: a new key and its CSR (-initca: a CA too)",
    usage:
      "dk-bootstrap genkey [-initca] CSRJSON\n\nPrints cfssl's JSON {csr, key} ({cert, csr, key} with -initca); CSRJSON may be - for stdin. Pipe it into `dk-bootstrap json -bare NAME`.",
    flags: { initca: "bool", loglevel: "string" },
    maxArgs: 1,
  },
  {
    name: "sign",
    summary: "cfssl sign: sign a PEM CSR with a CA under a profile",
    usage:
      "dk-bootstrap sign -ca=ca.pem -ca-key=ca-key.pem [-config=ca-config.json] [-profile=NAME] [-hostname=a,b] CSR.pem [SUBJECT.json]\n\nSUBJECT, as cfssl's: a JSON {CN, names, SerialNumber} whose values replace the CSR's (the CSR's fill what it leaves empty).",
    flags: { ...SIGNING_FLAGS, csr: "string" },
    maxArgs: 2,
  },
  {
    name: "certinfo",
    summary: "cfssl certinfo: a certificate (or CSR) as JSON",
    usage: "dk-bootstrap certinfo -cert FILE | -csr FILE",
    flags: { cert: "string", csr: "string", loglevel: "string" },
    maxArgs: 0,
  },
  {
    name: "print-defaults",
    summary: "cfssl print-defaults: a starting CSR JSON or config JSON",
    usage: "dk-bootstrap print-defaults csr|config > FILE.json",
    flags: {},
    maxArgs: 1,
  },
  {
    name: "json",
    summary: "cfssljson: write the files of gencert's or sign's JSON (read on stdin)",
    usage:
      "dk-bootstrap gencert ... | dk-bootstrap json -bare NAME [-force]\n\nWrites NAME.pem, NAME-key.pem (0600) and NAME.csr. An existing key is never replaced without -force.",
    flags: { bare: "bool", f: "string", stdout: "bool", force: "bool" },
    maxArgs: 1,
  },
];
