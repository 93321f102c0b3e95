// The cases of cfssl-testdata.test.ts. `input`, `config` and `ca` are paths under fixtures/cfssl (cfssl's own
// files), or `@name` for a file of OWN_FILES (cases written the same way for what cfssl's test data lacks).

export interface Case {
  name: string;
  /** `certinfo -cert`, `certinfo -csr`, `gencert -initca`, `genkey [-initca]`, `gencert` or `sign`. */
  kind: "certinfo" | "certinfo-csr" | "initca" | "genkey" | "gencert" | "sign";
  input: string;
  /** genkey -initca. */
  initca?: boolean;
  /** Cases of one chain run in order, each tool on its own files: `%name` is the running tool's file of the chain. */
  chain?: string;
  /** Keeps what the step printed as `cfssljson -bare` would: `%x` gives %x.pem, %x-key.pem and %x.csr. */
  saveAs?: string;
  config?: string;
  profile?: string;
  hostname?: string;
  /** sign's SUBJECT file, whose names replace the CSR's. */
  subject?: string;
  /** The signing CA; the ECDSA CA cfssl made for the run when absent. */
  ca?: { cert: string; key: string };
  /** Differences this case shows on purpose: the differing field, and the id of its README sentence in DOCUMENTED. */
  documented?: Record<string, string>;
  /** Where Debian's cfssl 1.2 (the second peer) and current cfssl differ: the differing fields, and why. */
  cfssl12?: { why: string; fields: string[] };
}

/** The README sentences the documented differences cite (each must be in README.md's list of deliberate differences). */
export const DOCUMENTED: Record<string, string> = {
  ku: "`key encipherment` is only set on RSA keys",
  cap: "A leaf never ends after its CA",
  usage: "an unknown usage name is an error",
  expired: "An expired CA does not sign",
  remote: "A config for cfssl's signing server is refused",
  unsupported: "What dk-bootstrap does not write is refused by name",
  emptyHost: 'An empty `hosts` entry (`""`) gives no SAN',
  aki: "every leaf an AKI",
  goCsr: "`certinfo -csr` prints a CSR as cfssl built with Go 1.19 (Debian's) does",
};

const GO_126_CSR =
  "certinfo -csr prints Go's x509.CertificateRequest: Go 1.26 (the Go the tests build current cfssl with) reads a requested extension's critical flag into Attributes and orders url.URL's fields anew; Go 1.19 (Debian's cfssl) did neither";

const URI_IN_HOSTS = "current cfssl reads hosts with url.ParseRequestURI (csr.go, v1.3.3, PR #921): spiffe:// is a URI SAN; 1.2 wrote a DNS SAN";
const uris: Case["cfssl12"] = { why: URI_IN_HOSTS, fields: ["cert.sans"] };
/** Current cfssl accepts what 1.2 refused. */
const acceptedNow = (why: string): Case["cfssl12"] => ({ why, fields: ["outcome"] });

const ecdsa = '"key": {"algo": "ecdsa", "size": 256}';

/** Files written for the run (not cfssl's): the run's CA, and what cfssl's test data has no example of. */
export const OWN_FILES: Record<string, string> = {
  "interop-ca-csr.json": `{"CN": "Interop CA", ${ecdsa}, "names": [{"C": "US", "O": "dk-bootstrap"}]}`,
  "leaf.json": `{"CN": "leaf.example", "hosts": ["leaf.example", "10.0.0.2", "ops@leaf.example", "spiffe://td/leaf"],
    "names": [{"C": "US", "ST": "CA", "L": "SF", "O": "a", "OU": "b"}, {"O": "c"}], ${ecdsa}}`,
  "cloudflare.json": `{"CN": "www.cloudflare.com", "hosts": ["www.cloudflare.com"], ${ecdsa}}`,
  "lowercase.json": `{"cn": "lower", "HOSTS": ["x.example"], "Names": [{"c": "US", "o": "x"}], "KEY": {"ALGO": "ecdsa", "SIZE": 256}}`,
  "empty-host.json": `{"CN": "empty-host", "hosts": [""], ${ecdsa}}`,
  "no-subject.json": `{"hosts": ["anon.example"], ${ecdsa}}`,
  "ca-pathlen0.json": `{"CN": "Pathlen Zero CA", "hosts": ["127.0.0.1", "localhost", "ca@example.com"], ${ecdsa}, "ca": {"pathlen": 0, "pathlenzero": true, "expiry": "1000h"}}`,
  "ca-plain.json": `{"CN": "Plain CA", "hosts": ["ca.example"], ${ecdsa}}`,
  "ed25519-ca.json": `{"CN": "Ed25519 CA", "key": {"algo": "ed25519"}}`,
  "profile-no-expiry.json": `{"signing": {"default": {"expiry": "8760h"}, "profiles": {"p": {"usages": ["signing", "client auth"]}}}}`,
  "remote-profile.json": `{"signing": {"default": {"expiry": "8760h", "usages": ["signing"]}, "profiles": {"r": {"remote": "srv"}}}, "remotes": {"srv": "127.0.0.1:9"}}`,
  "typo-usage.json": `{"signing": {"default": {"expiry": "8760h", "usages": ["signing", "server-auth", "client auth"]}}}`,
  "backdate.json": `{"signing": {"default": {"expiry": "8760h", "backdate": "1h", "usages": ["signing", "client auth"]}}}`,
  "multi-rdn.json": `{"CN": "m", "names": [{"O": "Over", "OU": "ab"}, {"O": "Two", "OU": "a"}], ${ecdsa}}`,
  "subject.json": `{"CN": "override.example", "names": [{"O": "Over", "OU": "ride"}, {"O": "Two"}], "SerialNumber": "42", "hosts": ["ignored.example"]}`,
  "subject-country.json": `{"names": [{"C": "DE"}]}`,
  "subject-lowercase.json": `{"cn": "lower", "NAMES": [{"st": "Bavaria"}]}`,
  // openssl req -multivalue-rdn -subj "/C=US/street=1 Main St/postalCode=94107/O=Over+O=Two/emailAddress=a@b.example/CN=street.example"
  "street-postal.csr": `-----BEGIN CERTIFICATE REQUEST-----
MIIBPDCB5AIBADCBgTELMAkGA1UEBhMCVVMxEjAQBgNVBAkMCTEgTWFpbiBTdDEO
MAwGA1UEEQwFOTQxMDcxGTAKBgNVBAoMA1R3bzALBgNVBAoMBE92ZXIxGjAYBgkq
hkiG9w0BCQEWC2FAYi5leGFtcGxlMRcwFQYDVQQDDA5zdHJlZXQuZXhhbXBsZTBZ
MBMGByqGSM49AgEGCCqGSM49AwEHA0IABHDIrUKCatSBo/ARfXFtSkn2AIWLrul8
obIqUBrPb75S4a66rM9P5F+SChi/NEMEYN07SZHAPUq0uChh82TClDCgADAKBggq
hkjOPQQDAgNHADBEAiAII9Wq1xGjCdtryVYB9dx9AahZRk3WSWIs/Uh1+P7+mAIg
I2iCuvGwPP0+FU+3Mw+TjSrYyup4pN02jPTXxOM0WUA=
-----END CERTIFICATE REQUEST-----
`,
  // openssl crl2pkcs7 -nocrl -certfile bundler/testdata/partial-bundle.pem: a PKCS#7 with two certificates
  "two-certs.p7": `-----BEGIN PKCS7-----
MIIHUgYJKoZIhvcNAQcCoIIHQzCCBz8CAQExADALBgkqhkiG9w0BBwGgggcnMIIC
vzCCAkSgAwIBAgIUEOTb+fwacUOxBc1ryZ3YHHR7hYIwCgYIKoZIzj0EAwMwgYwx
CzAJBgNVBAYTAlVTMRMwEQYDVQQIEwpDYWxpZm9ybmlhMRYwFAYDVQQHEw1TYW4g
RnJhbmNpc2NvMRMwEQYDVQQKEwpDbG91ZEZsYXJlMRwwGgYDVQQLExNTeXN0ZW1z
IEVuZ2luZWVyaW5nMR0wGwYDVQQDExRjbG91ZGZsYXJlLWludGVyLmNvbTAeFw0x
OTA1MDEwMDAwMDBaFw0yODA2MTUwODAwMDBaMIGLMQswCQYDVQQGEwJVUzETMBEG
A1UECBMKQ2FsaWZvcm5pYTEWMBQGA1UEBxMNU2FuIEZyYW5jaXNjbzETMBEGA1UE
ChMKQ2xvdWRGbGFyZTEcMBoGA1UECxMTU3lzdGVtcyBFbmdpbmVlcmluZzEcMBoG
A1UEAxMTY2xvdWRmbGFyZS1sZWFmLmNvbTB2MBAGByqGSM49AgEGBSuBBAAiA2IA
BNYivDDh3Iikkb+3/Oocity4JQXmxLP2njZThYNtR4y7Bxixp05KLoq8gtazyccD
klueu4OWFnpmkjyqPQ+0MIf/BJKoA4Q4iNiCN/ZfF690LR/pZPrMRZuWSGVb2890
L6NmMGQwDgYDVR0PAQH/BAQDAgKkMBIGA1UdEwEB/wQIMAYBAf8CAQEwHQYDVR0O
BBYEFDmNWkY9a2tS8p4M9RGYi2MJRbo/MB8GA1UdIwQYMBaAFD3f3FiGmOjKKSDu
pXSse/XS6RdXMAoGCCqGSM49BAMDA2kAMGYCMQCKWVbXphd4qec03igIHUU9lBIU
dzWNwlN5Vy2TzwFW4cqdzOCv2FNOGGutweLezjcCMQCJOR7Q3WbWf7wear2igaoQ
jQW55KjDYA5bJjbh+x3MCROR+tcnfdT94ALUN2CKxEkwggRgMIICSKADAgECAhQa
RLplHekYbXCEF0z3z/6EBJE2kTANBgkqhkiG9w0BAQ0FADCBjDELMAkGA1UEBhMC
VVMxEzARBgNVBAoTCkNsb3VkRmxhcmUxHDAaBgNVBAsTE1N5c3RlbXMgRW5naW5l
ZXJpbmcxFjAUBgNVBAcTDVNhbiBGcmFuY2lzY28xEzARBgNVBAgTCkNhbGlmb3Ju
aWExHTAbBgNVBAMTFGNsb3VkZmxhcmUtaW50ZXIuY29tMB4XDTE5MDUwMTAwMDAw
MFoXDTI4MDYxNTA4MDAwMFowgYwxCzAJBgNVBAYTAlVTMRMwEQYDVQQIEwpDYWxp
Zm9ybmlhMRYwFAYDVQQHEw1TYW4gRnJhbmNpc2NvMRMwEQYDVQQKEwpDbG91ZEZs
YXJlMRwwGgYDVQQLExNTeXN0ZW1zIEVuZ2luZWVyaW5nMR0wGwYDVQQDExRjbG91
ZGZsYXJlLWludGVyLmNvbTB2MBAGByqGSM49AgEGBSuBBAAiA2IABCFZIzSRsH9x
dF1iR+8kElbcbqAYnYuSTbEOxYcREHGRJd2/v9YhetEwWNmIuisCbgOpyBO9zyFx
snzYU4cOA/AomW2nJEP7n4M9g8r8clhQz8y6+013jP9MEqf4pqMVnqNmMGQwDgYD
VR0PAQH/BAQDAgKkMBIGA1UdEwEB/wQIMAYBAf8CAQEwHQYDVR0OBBYEFD3f3FiG
mOjKKSDupXSse/XS6RdXMB8GA1UdIwQYMBaAFIhguhikd7hBBBvV73dRwlsUuiA/
MA0GCSqGSIb3DQEBDQUAA4ICAQCvcXOOxGhNSjlahw/GlRp5Lk88hjm4GYxlBT4l
C4LMFMbAA42TPARlQwdb1I2sP2Dupxai7L7W3hLPp0mIpr7q++jrRsm8g0Qsudu7
ln6331/tHc8B1whxxBXE8gXEoqrodiGAPH6M68JO4YBNcgv2+RgvytH/1iYwkGnp
F7j6xar3uTNEm3vMhTj6kv/cifHwpS5eWHwr9prhKFjJEh4BiLGcaMNDxgxUsXKN
V6DTCK/6oCSCiaLzWG2zsNSFrDMxELzUDqgjC9Y0F8HYJSKMRHOkGPGYxnBpQ6Pr
IqEZuKC3uXG9xKTMllMniz4cTTmT05icnz48X6aje5KcbZ2D82oiKl2Hz/1+8e5t
bdAvtzBtojtPSVViSik2QvxM/uA5mOR40JO+Ee6fj7tqmNsV7KWPySRNovr7pj7s
ksaawPxqa7LjlC780qohnJgX+/EFKqLfDZGbwjBi9DtyLaM35Em89BXLaGKhfI5T
OjIEQPsaFmNXn2Ls3rZyVDz6DeDGPEXn+VhTo6TdQSBroktyEFaCrTL8zhwa2J0k
IZZ0tkCV1C2dFvuqPTK3rhvLL5IQJkceUqugYBG7Sq+ixsTquJm+GZSWesENLTYs
bAbR2eLbWIREm7nojyW0domxlQi7iM4RQEQ1DAgBQuhk9g4RRT0YaCgalR2o22l9
llaa/DEA
-----END PKCS7-----
`,
  // openssl req -x509 -set_serial 0xED4C11D3085536D1597D3B0A550E93BE6159A1: a positive serial whose DER keeps a 00 byte
  "serial-00ed.pem": `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUAO1MEdMIVTbRWX07ClUOk75hWaEwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLc2VyaWFsIDAwRUQwHhcNMjYxMjAxMTM0NjQ4WhcNMzYxMTI4
MTM0NjQ4WjAWMRQwEgYDVQQDDAtzZXJpYWwgMDBFRDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABHDIrUKCatSBo/ARfXFtSkn2AIWLrul8obIqUBrPb75S4a66rM9P
5F+SChi/NEMEYN07SZHAPUq0uChh82TClDCjUzBRMB0GA1UdDgQWBBTb9B5elg5X
ACevC6n8rk8SH2s30zAfBgNVHSMEGDAWgBTb9B5elg5XACevC6n8rk8SH2s30zAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQC48UJ5Cp7C2KZ1qPGv
+EZYdkLYOwukdNnOMNi/rWCisgIhALC2KXgAWxv0g9lwOFrqAYa18VJnBqG+wNjf
Itj5KC2D
-----END CERTIFICATE-----
`,
  // cfssl's bundler/testdata/client-auth chain (root, an intermediate with an empty subject, a server and a client
  // leaf with empty subjects): its JSON files are not in the search index, so these are read back from the
  // certificates the chain made (root.pem, int.pem, leaf-server.pem, leaf-client.pem, kept under fixtures/cfssl).
  "client-auth-root-csr.json": `{"names": [{"C": "US", "ST": "California", "L": "San Francisco", "O": "Root CA"}], ${ecdsa}}`,
  "client-auth-root-config.json": `{"signing": {"default": {"expiry": "43830h", "usages": ["cert sign"], "ca_constraint": {"is_ca": true}}}}`,
  "client-auth-empty-csr.json": `{${ecdsa}}`,
  "client-auth-int-config.json": `{"signing": {"profiles": {"server": {"expiry": "43830h", "usages": ["server auth"]}, "client": {"expiry": "43830h", "usages": ["client auth"]}}}}`,
};

const chain = "client-auth";
const caOf = (name: string) => ({ cert: `%${chain}/${name}.pem`, key: `%${chain}/${name}-key.pem` });
/** cfssl's bundler/testdata/client-auth chain, each tool on its own files, then each tool's files described by both. */
const CHAIN: Case[] = [
  { name: "chain: genkey -initca root-csr.json", kind: "genkey", initca: true, input: "@client-auth-root-csr.json", saveAs: `%${chain}/root` },
  {
    name: "chain: gencert int-csr.json (empty subject) under root-config.json (ca_constraint)",
    kind: "gencert",
    input: "@client-auth-empty-csr.json",
    ca: caOf("root"),
    config: "@client-auth-root-config.json",
    saveAs: `%${chain}/int`,
    documented: { "cert.validity": "cap" },
  },
  ...["server", "client"].map((p): Case => ({
    name: `chain: gencert leaf-${p}-csr.json (empty subject) under int-config.json ${p}`,
    kind: "gencert",
    input: "@client-auth-empty-csr.json",
    ca: caOf("int"),
    config: "@client-auth-int-config.json",
    profile: p,
    saveAs: `%${chain}/leaf-${p}`,
    documented: { "cert.validity": "cap", "cert.aki": "aki" },
  })),
  // The same chain through genkey and sign, as the workshop-style scripts make intermediates.
  { name: "chain: genkey int-csr.json", kind: "genkey", input: "@client-auth-empty-csr.json", saveAs: `%${chain}/int2` },
  {
    name: "chain: sign int2.csr (empty subject) under root-config.json",
    kind: "sign",
    input: `%${chain}/int2.csr`,
    ca: caOf("root"),
    config: "@client-auth-root-config.json",
    saveAs: `%${chain}/int2`,
    documented: { "cert.validity": "cap" },
  },
  {
    name: "chain: gencert leaf under the signed int2",
    kind: "gencert",
    input: "@client-auth-empty-csr.json",
    ca: caOf("int2"),
    config: "@client-auth-int-config.json",
    profile: "server",
    documented: { "cert.validity": "cap", "cert.aki": "aki" },
  },
  { name: "chain: genkey with a ca section (refused: only -initca reads it)", kind: "genkey", input: "@ca-pathlen0.json" },
  ...["cfssl", "dk"].flatMap((tool): Case[] => [
    ...["int", "leaf-server"].map((n): Case => ({ name: `chain: certinfo ${tool}'s ${n}.pem`, kind: "certinfo", input: `@${tool}/${chain}/${n}.pem` })),
    ...["root", "int", "int2"].map((n): Case => ({
      name: `chain: certinfo -csr ${tool}'s ${n}.csr`,
      kind: "certinfo-csr",
      input: `@${tool}/${chain}/${n}.csr`,
    })),
  ]),
].map((c) => ({ ...c, chain }));

const expiredCa = { cert: "initca/testdata/pathlen_1.pem", key: "initca/testdata/pathlen_1-key.pem" };

export const CASES: Case[] = [
  ...CHAIN,

  // certinfo -csr on cfssl's CSRs
  ...[
    "cmd/cfssl/testdata/cert.csr",
    "cmd/cfssl/testdata/testcert.csr",
    "selfsign/testdata/extension.csr",
    "selfsign/testdata/sans.csr",
    "signer/local/testdata/extreq.csr",
    "signer/local/testdata/inter_pathlen_0.csr",
    "signer/local/testdata/inter_pathlen_1.csr",
    "signer/local/testdata/inter_pathlen_unspecified.csr",
    "initca/testdata/ed25519.csr",
    "initca/testdata/pathlen_0.csr",
    "initca/testdata/pathlen_1.csr",
    "initca/testdata/pathlen_unspecified.csr",
    "helpers/testdata/cert.pem",
  ].map((input): Case => ({
    name: `certinfo -csr ${input}`,
    kind: "certinfo-csr",
    input,
    ...(["selfsign/testdata/extension.csr", "selfsign/testdata/sans.csr"].includes(input)
      ? { documented: { certinfo: "goCsr" }, cfssl12: { why: GO_126_CSR, fields: ["certinfo"] } }
      : {}),
  })),

  // certinfo on cfssl's certificates
  ...[
    "helpers/testdata/cert.pem",
    "initca/testdata/pathlen_1.pem",
    "initca/testdata/5min-ed25519.pem",
    "bundler/testdata/partial-bundle.pem",
    "bundler/testdata/cfssl-leaf-ecdsa256.pem",
    "bundler/testdata/client-auth/root.pem",
    "bundler/testdata/client-auth/leaf-client.pem",
    "bundler/testdata/negative-serial-root.pem",
    "bundler/testdata/cfssl-leaf-ecdsa384.pem",
    "bundler/testdata/cfssl-leaf-ecdsa521.pem",
    "bundler/testdata/client-auth/int.pem",
    "bundler/testdata/client-auth/leaf-server.pem",
    "helpers/testdata/cert_with_whitespace.pem",
    "helpers/testdata/cert_pkcs7.pem",
    "signer/testdata/notselfsigned.pem",
    "initca/testdata/pathlen_0.pem",
    "initca/testdata/pathlen_unspecified.pem",
    "cmd/cfssl/testdata/cert.pem",
    "api/testdata/leaf.pem",
    "signer/remote/testdata/server.pem",
    "signer/remote/testdata/client.pem",
    "bundler/testdata/inter-L1.pem",
  ].map((input): Case => ({
    name: `certinfo ${input}`,
    kind: "certinfo",
    input,
    ...(input.includes("ed25519")
      ? {
          cfssl12: { why: "Go >= 1.13 names it Ed25519 (helpers.SignatureString); Debian's 1.2 says Unknown Signature", fields: ["certinfo"] },
        }
      : {}),
  })),

  { name: "certinfo a PKCS#7 with two certificates", kind: "certinfo", input: "@two-certs.p7" },
  { name: "certinfo a positive serial with a leading 00 byte", kind: "certinfo", input: "@serial-00ed.pem" },

  // gencert -initca
  {
    name: "initca cli/testdata/csr.json",
    kind: "initca",
    input: "cli/testdata/csr.json",
    documented: { outcome: "unsupported" },
    cfssl12: {
      why: "current cfssl writes a names entry's OID map into the subject, and delegation_enabled as the DelegationUsage extension (csr.go); 1.2 ignored both",
      fields: ["cert.issuerDer", "cert.subject", "cert.subjectDer", "csr.extensions", "csr.subject"],
    },
  },
  {
    name: "initca cli/testdata/bad_oid_csr.json",
    kind: "initca",
    input: "cli/testdata/bad_oid_csr.json",
    cfssl12: { why: "current cfssl refuses an OID that does not parse (csr.go Name: OIDFromString)", fields: ["outcome"] },
  },
  { name: "initca initca/testdata/ca_csr_ed25519.json (invalid JSON)", kind: "initca", input: "initca/testdata/ca_csr_ed25519.json" },
  { name: "initca helpers/testsuite/testdata/initCA/ca_csr.json", kind: "initca", input: "helpers/testsuite/testdata/initCA/ca_csr.json" },
  { name: "initca pathlen 0, IP/DNS/email hosts", kind: "initca", input: "@ca-pathlen0.json" },
  { name: "initca -hostname", kind: "initca", input: "@ca-plain.json", hostname: "other.example,10.0.0.9" },
  {
    name: "initca ed25519",
    kind: "initca",
    input: "@ed25519-ca.json",
    cfssl12: acceptedNow("current cfssl makes Ed25519 keys (v1.6.5, PR #1061); 1.2: invalid algorithm"),
  },
  { name: "initca lowercase keys", kind: "initca", input: "@lowercase.json" },
  { name: "initca cmd/cfssl/testdata/newkeyRequest.json", kind: "initca", input: "cmd/cfssl/testdata/newkeyRequest.json" },
  { name: "genkey cmd/cfssl/testdata/newkeyRequest.json", kind: "genkey", input: "cmd/cfssl/testdata/newkeyRequest.json" },
  { name: "genkey -initca cmd/cfssl/testdata/newkeyRequest.json", kind: "genkey", initca: true, input: "cmd/cfssl/testdata/newkeyRequest.json" },
  {
    name: "genkey cli/testdata/csr.json",
    kind: "genkey",
    input: "cli/testdata/csr.json",
    documented: { outcome: "unsupported" },
    cfssl12: {
      why: "current cfssl writes a names entry's OID map into the subject, and delegation_enabled as the DelegationUsage extension (csr.go); 1.2 ignored both",
      fields: ["csr.extensions", "csr.subject"],
    },
  },

  // gencert with a CA
  { name: "gencert cmd/cfssl/testdata/newcertRequest.json", kind: "gencert", input: "cmd/cfssl/testdata/newcertRequest.json" },
  { name: "gencert leaf, no config", kind: "gencert", input: "@leaf.json", cfssl12: uris, documented: { "cert.keyUsage": "ku" } },
  { name: "gencert leaf, valid_config.json default", kind: "gencert", input: "@leaf.json", config: "config/testdata/valid_config.json", cfssl12: uris },
  {
    name: "gencert leaf, valid_config.json email",
    kind: "gencert",
    input: "@leaf.json",
    config: "config/testdata/valid_config.json",
    profile: "email",
    cfssl12: uris,
  },
  {
    name: "gencert leaf, valid_config.json CA (cert sign on a leaf)",
    kind: "gencert",
    input: "@leaf.json",
    config: "config/testdata/valid_config.json",
    profile: "CA",
    cfssl12: uris,
  },
  {
    name: "gencert leaf, good_config_ca.json default (ca_constraint)",
    kind: "gencert",
    input: "@leaf.json",
    config: "testdata/good_config_ca.json",
    documented: { "cert.validity": "cap" },
  },
  {
    name: "gencert leaf, good_config_ca.json www (name_whitelist refuses)",
    kind: "gencert",
    input: "@leaf.json",
    config: "testdata/good_config_ca.json",
    profile: "www",
  },
  {
    name: "gencert cloudflare, good_config_ca.json www (name_whitelist passes)",
    kind: "gencert",
    input: "@cloudflare.json",
    config: "testdata/good_config_ca.json",
    profile: "www",
    documented: { "cert.keyUsage": "ku", "cert.validity": "cap" },
  },
  {
    name: "gencert leaf, valid_config_ca_constraints.json",
    kind: "gencert",
    input: "@leaf.json",
    config: "config/testdata/valid_config_ca_constraints.json",
    documented: { outcome: "unsupported" },
  },
  { name: "gencert leaf -hostname", kind: "gencert", input: "@leaf.json", hostname: "override.example,10.1.1.1", documented: { "cert.keyUsage": "ku" } },
  { name: "gencert lowercase keys", kind: "gencert", input: "@lowercase.json", documented: { "cert.keyUsage": "ku" } },
  {
    name: 'gencert hosts [""]',
    kind: "gencert",
    input: "@empty-host.json",
    documented: { "cert.sans": "emptyHost", "csr.extensions": "emptyHost", "cert.keyUsage": "ku" },
  },
  { name: "gencert no subject", kind: "gencert", input: "@no-subject.json", documented: { "cert.keyUsage": "ku" } },
  { name: "gencert testdata/good_config.json (no expiry)", kind: "gencert", input: "@leaf.json", config: "testdata/good_config.json", profile: "www" },
  { name: "gencert config/testdata/invalid_auth.json", kind: "gencert", input: "@leaf.json", config: "config/testdata/invalid_auth.json" },
  { name: "gencert config/testdata/invalid_remotes.json", kind: "gencert", input: "@leaf.json", config: "config/testdata/invalid_remotes.json" },
  {
    name: "gencert cmd/cfssl/testdata/config.json (auth_key)",
    kind: "gencert",
    input: "@leaf.json",
    config: "cmd/cfssl/testdata/config.json",
    documented: { outcome: "remote" },
    cfssl12: uris,
  },
  {
    name: "gencert transport/example/config_auth.json server",
    kind: "gencert",
    input: "@leaf.json",
    config: "transport/example/config_auth.json",
    profile: "server",
    documented: { outcome: "remote" },
    cfssl12: uris,
  },
  { name: "gencert a profile without expiry", kind: "gencert", input: "@leaf.json", config: "@profile-no-expiry.json", profile: "p" },
  { name: "gencert a remote profile", kind: "gencert", input: "@leaf.json", config: "@remote-profile.json", profile: "r", documented: { reason: "remote" } },
  { name: "gencert a usage typo", kind: "gencert", input: "@leaf.json", config: "@typo-usage.json", documented: { outcome: "usage" }, cfssl12: uris },
  { name: "gencert profile backdate", kind: "gencert", input: "@leaf.json", config: "@backdate.json", cfssl12: uris },

  ...["maclient", "server"].map((profile): Case => ({
    name: `gencert newkeyRequest.json, transport/example/config.json ${profile}`,
    kind: "gencert",
    input: "cmd/cfssl/testdata/newkeyRequest.json",
    config: "transport/example/config.json",
    profile,
    documented: { "cert.keyUsage": "ku" },
  })),
  { name: "gencert a CA JSON under a leaf profile (policy)", kind: "gencert", input: "@ca-pathlen0.json" },
  { name: "gencert a CA JSON under good_config_ca.json default", kind: "gencert", input: "@ca-pathlen0.json", config: "testdata/good_config_ca.json" },

  // sign: CSRs made elsewhere
  { name: "sign cmd/cfssl/testdata/cert.csr", kind: "sign", input: "cmd/cfssl/testdata/cert.csr" },
  { name: "sign cmd/cfssl/testdata/testcert.csr", kind: "sign", input: "cmd/cfssl/testdata/testcert.csr" },
  { name: "sign selfsign/testdata/extension.csr", kind: "sign", input: "selfsign/testdata/extension.csr" },
  {
    name: "sign selfsign/testdata/sans.csr",
    kind: "sign",
    input: "selfsign/testdata/sans.csr",
    cfssl12: { why: "current cfssl copies a CSR's URI SANs (signer.go ParseCertificateRequest: URIs); 1.2 dropped them", fields: ["cert.sans"] },
    documented: { "cert.keyUsage": "ku" },
  },
  { name: "sign signer/local/testdata/extreq.csr", kind: "sign", input: "signer/local/testdata/extreq.csr" },
  {
    name: "sign initca/testdata/ed25519.csr",
    kind: "sign",
    input: "initca/testdata/ed25519.csr",
    cfssl12: acceptedNow("current cfssl verifies Ed25519 CSRs (csr.CheckSignature); 1.2: algorithm unimplemented"),
    documented: { "cert.keyUsage": "ku" },
  },
  ...["inter_pathlen_0", "inter_pathlen_1", "inter_pathlen_unspecified"].map((n): Case => ({
    name: `sign signer/local/testdata/${n}.csr, default profile`,
    kind: "sign",
    input: `signer/local/testdata/${n}.csr`,
  })),
  {
    name: "sign inter_pathlen_1.csr, good_config_ca.json default",
    kind: "sign",
    input: "signer/local/testdata/inter_pathlen_1.csr",
    config: "testdata/good_config_ca.json",
    documented: { "cert.validity": "cap" },
  },
  {
    name: "sign inter_pathlen_1.csr, valid_config_ca_constraints.json",
    kind: "sign",
    input: "signer/local/testdata/inter_pathlen_1.csr",
    config: "config/testdata/valid_config_ca_constraints.json",
    documented: { outcome: "unsupported" },
  },
  {
    name: "sign testcert.csr, valid_config.json CA",
    kind: "sign",
    input: "cmd/cfssl/testdata/testcert.csr",
    config: "config/testdata/valid_config.json",
    profile: "CA",
  },
  ...["pathlen_0", "pathlen_1", "pathlen_unspecified"].flatMap((n): Case[] => [
    { name: `sign initca/testdata/${n}.csr, default profile`, kind: "sign", input: `initca/testdata/${n}.csr` },
    {
      name: `sign initca/testdata/${n}.csr, good_config_ca.json default`,
      kind: "sign",
      input: `initca/testdata/${n}.csr`,
      config: "testdata/good_config_ca.json",
      documented: { "cert.validity": "cap" },
    },
  ]),
  { name: "gencert multi-valued RDNs of different lengths (DER order)", kind: "gencert", input: "@multi-rdn.json", documented: { "cert.keyUsage": "ku" } },
  ...[
    ["cmd/cfssl/testdata/cert.csr", "subject.json"],
    ["selfsign/testdata/extension.csr", "subject-country.json"],
    ["signer/local/testdata/extreq.csr", "subject-lowercase.json"],
  ].map(([input, subject]): Case => ({ name: `sign ${input} with SUBJECT ${subject}`, kind: "sign", input: input!, subject: `@${subject}` })),
  {
    name: "sign a CSR with street, postal code, email and a multi-valued RDN",
    kind: "sign",
    input: "@street-postal.csr",
    documented: { "cert.keyUsage": "ku" },
    cfssl12: {
      why: "current cfssl keeps a CSR's other attributes (the emailAddress) after Go's own, one RDN each (signer.go ParseCertificateRequest: ExtraNames); 1.2 dropped them",
      fields: ["cert.subject", "cert.subjectDer"],
    },
  },
  { name: "certinfo -csr a CSR with street, postal code, email and a multi-valued RDN", kind: "certinfo-csr", input: "@street-postal.csr" },
  ...["subject.json", "subject-country.json"].map((subject): Case => ({
    name: `sign street-postal.csr with SUBJECT ${subject} (street and postal code dropped)`,
    kind: "sign",
    input: "@street-postal.csr",
    subject: `@${subject}`,
    documented: { "cert.keyUsage": "ku" },
  })),
  { name: "sign testcert.csr -hostname", kind: "sign", input: "cmd/cfssl/testdata/testcert.csr", hostname: "a.example,10.9.9.9,me@a.example" },
  { name: "sign cert.csr with an expired CA", kind: "sign", input: "cmd/cfssl/testdata/cert.csr", ca: expiredCa, documented: { outcome: "expired" } },
];
