#!/usr/bin/env node
// The entry point is bin.cjs (see there); this name stays for the scripts and tests that run bin.js.
import "./bin.cjs";
