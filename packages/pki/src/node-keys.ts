import { KeyObject, createPrivateKey, createPublicKey } from "node:crypto";
import { InputError, type InputLocation } from "./errors.js";
import type { KeyBackend, KeyMaterial } from "./key-backend.js";
import { type ResolvedKeySpec, keySpecOf, signingAlgorithm } from "./key-spec.js";
import { checkPrivateKey } from "./key-check.js";
import { generateRsaKey } from "./rsa.js";

// Node's key backend: what KeyPair did before the core was made portable, kept for its speed (RSA primes from
// OpenSSL, see rsa.ts; synchronous KeyObject export) and for OpenSSL's reading of every key format.

/** Node's key backend; the Node entry (index.ts) installs it. */
export const nodeKeyBackend: KeyBackend = {
  async generate(spec) {
    if (spec.algo === "rsa") return fromKeyObject(await generateRsaKey(spec.size));
    const pair = (await crypto.subtle.generateKey(signingAlgorithm(spec), true, ["sign", "verify"])) as CryptoKeyPair;
    return { spec, privateKey: pair.privateKey, publicKey: pair.publicKey };
  },

  async readPrivateKey(pem, where) {
    let key: KeyObject;
    try {
      // cfssl labels its PKCS#8 Ed25519 keys with a name OpenSSL doesn't know.
      key = createPrivateKey({ key: pem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/gi, "-----$1 PRIVATE KEY-----"), format: "pem" });
    } catch (cause) {
      throw new InputError("not a readable PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted)", where, { cause });
    }
    const spec = keySpecOf(key, where);
    checkPrivateKey(key, where);
    return fromKeyObject(key, where, spec);
  },

  privateKeyPem(material, format) {
    const key = KeyObject.from(material.privateKey);
    if (format === "pkcs8" || material.spec.algo === "ed25519") return key.export({ type: "pkcs8", format: "pem" }) as string;
    return key.export({ type: material.spec.algo === "rsa" ? "pkcs1" : "sec1", format: "pem" }) as string;
  },

  publicKeyPem(material) {
    return KeyObject.from(material.publicKey).export({ type: "spki", format: "pem" }) as string;
  },

  fromKeyObject(key, where) {
    if (!(key instanceof KeyObject)) throw new TypeError("KeyPair.fromKeyObject takes a private KeyObject");
    return fromKeyObject(key, where);
  },
};

async function fromKeyObject(key: KeyObject, where: InputLocation = {}, spec: ResolvedKeySpec = keySpecOf(key, where)): Promise<KeyMaterial> {
  const alg = signingAlgorithm(spec);
  try {
    const der = key.export({ type: "pkcs8", format: "der" });
    const spki = createPublicKey(key).export({ type: "spki", format: "der" });
    const privateKey = await crypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]);
    const publicKey = await crypto.subtle.importKey("spki", spki, alg, true, ["verify"]);
    return { spec, privateKey, publicKey };
  } catch (cause) {
    // WebCrypto's own words ("Invalid keyData") name neither the file nor the problem.
    throw new InputError(`the ${spec.algo.toUpperCase()} private key cannot be used for signing`, where, { cause });
  }
}
