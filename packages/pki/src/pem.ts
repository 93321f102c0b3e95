import { fromBase64 } from "./bytes.js";
import { InputError, type InputLocation } from "./errors.js";

// @peculiar/x509 takes any string it can read as PEM, base64 or hex, whatever the PEM label says, and
// parses the parts of a certificate only when they are first read: damage then surfaces later as a raw
// ASN.1 or WebCrypto error ("Invalid keyData") with no file named. These helpers read the PEM strictly
// and every part up front, so that what is wrong is said once, with the file, where the input comes in.

/**
 * The DER bytes of the first PEM block of `text`, which must carry one of `labels` (the first is the
 * one named in errors) and clean base64. `what` names the input in errors, e.g. "certificate".
 */
export function pemBlockDer(text: string, labels: readonly string[], what: string, where: InputLocation): Uint8Array<ArrayBuffer> {
  const begin = /-----BEGIN ([^-\r\n]*)-----/.exec(text);
  if (!begin) throw new InputError(`not a PEM ${what}: no "-----BEGIN ${labels[0]}-----" line`, where);
  const label = begin[1]!;
  if (!labels.includes(label)) throw new InputError(`not a PEM ${what}: its label is "${label}", expected "${labels[0]}"`, where);
  const endMarker = `-----END ${label}-----`;
  const end = text.indexOf(endMarker, begin.index);
  if (end < 0) throw new InputError(`truncated PEM ${what}: no "${endMarker}" line`, where);
  const body = text.slice(begin.index + begin[0].length, end).replace(/\s/g, "");
  if (body === "" || !/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new InputError(`damaged PEM ${what}: its base64 body is not valid base64`, where);
  }
  return fromBase64(body);
}

/**
 * Reads each lazily parsed part of a certificate or CSR now (`parts` maps a name such as "its subject"
 * to a getter), so that a malformed one is refused here, named, instead of failing later with a raw error.
 */
export function readEveryPart(what: string, where: InputLocation, parts: Record<string, () => unknown>): void {
  for (const [part, read] of Object.entries(parts)) {
    try {
      read();
    } catch (cause) {
      throw new InputError(`malformed ${what}: ${part} cannot be read`, where, { cause });
    }
  }
}
