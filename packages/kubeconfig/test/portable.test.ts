// The kubeconfig core's portable specs on Node (browser.test.ts runs them in Chromium, Bun and Deno).
import "./portable/kubeconfig.spec.js";
