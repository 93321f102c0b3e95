// Puts the built page into the CLI package (run by the CLI's build, from packages/cli): bundle/web.html, which
// `dk-bootstrap web` serves and the CLI's tarball ships. Replaced by a rename, never half-written.
import { copyFileSync, renameSync } from "node:fs";

const tmp = `bundle/.web.html.${process.pid}.tmp`;
copyFileSync(new URL("dist/dk-bootstrap.html", import.meta.url), tmp);
renameSync(tmp, "bundle/web.html");
