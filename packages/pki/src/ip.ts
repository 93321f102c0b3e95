// node:net's isIP, without node:net: Node's rules (lib/internal/net.js: its IPv4 expression, its IPv6 grammar), so
// that an address the Node build accepts (a node IP, a SAN, a Service CIDR) is accepted everywhere, and no other.

const V4_SEG = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const V4_STR = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const IPV4 = new RegExp(`^${V4_STR}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z.:-]+$/;

/** True for a dotted-quad IPv4 address without leading zeros (node:net's isIPv4). */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/**
 * True for an IPv6 address, `::` forms, an embedded IPv4 tail and a `%zone` included (node:net's isIPv6). Read by
 * hand rather than with node's expression: compiling that expression costs a `certs` run 5 ms idle and up to 40 ms
 * on a loaded machine, for the one IPv6 SAN (`::1`) it checks. Node's rules: eight groups of 1-4 hex digits, or fewer
 * with one `::` standing for at least one; an IPv4 tail counts as two groups.
 */
export function isIPv6(text: string): boolean {
  const percent = text.indexOf("%");
  if (percent >= 0 && !ZONE.test(text.slice(percent + 1))) return false;
  const address = percent >= 0 ? text.slice(0, percent) : text;
  const gap = address.indexOf("::");
  if (gap >= 0 && address.indexOf("::", gap + 1) >= 0) return false;
  const sides = gap >= 0 ? [address.slice(0, gap), address.slice(gap + 2)] : [address];
  let groups = 0;
  for (const [i, side] of sides.entries()) {
    if (side === "") continue;
    const parts = side.split(":");
    for (const [j, part] of parts.entries()) {
      const last = i === sides.length - 1 && j === parts.length - 1;
      if (last && part.includes(".")) {
        if (!IPV4.test(part)) return false;
        groups += 2;
      } else if (HEX_GROUP.test(part)) groups += 1;
      else return false;
    }
  }
  return gap >= 0 ? groups <= 7 : groups === 8;
}

/** 4 for an IPv4 address, 6 for an IPv6 one, 0 otherwise: node:net's isIP. */
export function isIP(text: string): 0 | 4 | 6 {
  return isIPv4(text) ? 4 : isIPv6(text) ? 6 : 0;
}
