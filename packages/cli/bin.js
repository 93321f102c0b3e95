#!/usr/bin/env node
// With --debug the CLI prints stacks: map them back to the TypeScript sources.
if (process.argv.includes("--debug")) process.setSourceMapsEnabled(true);
await import("./bundle/main.js");
