// node:net's isIP, without node:net: the same regular expressions as Node's lib/internal/net.js, so that
// an address the Node build accepts (a node IP, a SAN, a Service CIDR) is accepted everywhere, and no other.

const V4_SEG = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const V4_STR = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const V6_SEG = "(?:[0-9a-fA-F]{1,4})";
const IPV4 = new RegExp(`^${V4_STR}$`);
const IPV6 = new RegExp(
  "^(?:" +
    `(?:${V6_SEG}:){7}(?:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){6}(?:${V4_STR}|:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){5}(?::${V4_STR}|(?::${V6_SEG}){1,2}|:)|` +
    `(?:${V6_SEG}:){4}(?:(?::${V6_SEG}){0,1}:${V4_STR}|(?::${V6_SEG}){1,3}|:)|` +
    `(?:${V6_SEG}:){3}(?:(?::${V6_SEG}){0,2}:${V4_STR}|(?::${V6_SEG}){1,4}|:)|` +
    `(?:${V6_SEG}:){2}(?:(?::${V6_SEG}){0,3}:${V4_STR}|(?::${V6_SEG}){1,5}|:)|` +
    `(?:${V6_SEG}:){1}(?:(?::${V6_SEG}){0,4}:${V4_STR}|(?::${V6_SEG}){1,6}|:)|` +
    `(?::(?:(?::${V6_SEG}){0,5}:${V4_STR}|(?::${V6_SEG}){1,7}|:))` +
    ")(?:%[0-9a-zA-Z-.:]{1,})?$",
);

/** True for a dotted-quad IPv4 address without leading zeros (node:net's isIPv4). */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** True for an IPv6 address, `::` forms, an embedded IPv4 tail and a `%zone` included (node:net's isIPv6). */
export function isIPv6(text: string): boolean {
  // Every form has a colon; the test spares a host name the first use of this large expression, whose
  // compilation costs a `certs` run 5 ms idle and up to 40 ms on a loaded machine (bench/pki.mjs).
  return text.includes(":") && IPV6.test(text);
}

/** 4 for an IPv4 address, 6 for an IPv6 one, 0 otherwise: node:net's isIP. */
export function isIP(text: string): 0 | 4 | 6 {
  return isIPv4(text) ? 4 : isIPv6(text) ? 6 : 0;
}
