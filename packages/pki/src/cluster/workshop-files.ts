// The workshop layout's file names, apart from workshop.ts (which makes the files, on Node): the page reads such a
// folder in a browser and takes the names from here, through core.
/**
 * Where the workshop's PKI lies in a folder, relative to it: cfssljson's `-bare` naming (`NAME.pem`, `NAME-key.pem`,
 * `NAME.csr`) in `certs/`, the CA first. What reads a workshop-layout folder (check-expiration, the page) takes the
 * paths from here rather than spelling them again.
 */
export const WORKSHOP_FILES: readonly { name: "ca" | "admin"; cert: string; key: string; csr: string }[] = (["ca", "admin"] as const).map((name) => ({
  name,
  cert: `certs/${name}.pem`,
  key: `certs/${name}-key.pem`,
  csr: `certs/${name}.csr`,
}));
