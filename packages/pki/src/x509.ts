// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded first; every module of this package imports x509 from here.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

/** The WebCrypto implementation used for every signature: the platform's (Node's own is backed by OpenSSL). */
export const crypto: Crypto = globalThis.crypto;
x509.cryptoProvider.set(crypto);

export { x509 };
