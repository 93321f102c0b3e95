// The portable specs on Node with the portable key backend: what a browser, Bun and Deno run (browser.test.ts runs them there).
import "./portable/pki.spec.js";
