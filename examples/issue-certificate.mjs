// Issue a server certificate from a new CA with @dk-bootstrap/pki, and check the chain.
import { KeyPair, classifyHosts, describeCertificate, issueCertificate, kubeadmValidity, parseUsages, verifyChain } from "@dk-bootstrap/pki";

const now = new Date();
const caKey = await KeyPair.generate({ algo: "ecdsa" });
const ca = await issueCertificate(
  { subject: { CN: "my-ca" }, publicKey: caKey.publicKey, validity: kubeadmValidity(now, 10 * 8760 * 3_600_000), ca: {} },
  { selfKey: caKey },
);

const key = await KeyPair.generate({ algo: "ecdsa" });
const cert = await issueCertificate(
  {
    subject: { CN: "web", O: ["example"] },
    publicKey: key.publicKey,
    sans: classifyHosts(["web.example.com", "10.0.0.5"]),
    validity: kubeadmValidity(now, 8760 * 3_600_000),
    usages: parseUsages(["digital signature", "server auth"]),
  },
  { cert: ca, key: caKey },
);

const info = await describeCertificate(cert);
console.log(`issued ${info.subject.CN} for ${[...info.sans.dns, ...info.sans.ip].join(", ")} by ${info.issuer.CN}`);
console.log(`chain problems: ${(await verifyChain(cert, [ca])).length}`);
