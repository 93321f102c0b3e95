// The cluster folder's saved settings put under the flags a command was not given, each change a flag makes said.
// Apart from saved-settings.ts, which the page (packages/web) bundles: this is the command line's side only.
import { resolve } from "node:path";
import type { Command } from "commander";
import { type SavedSettings, applySavedSettings, describeChange, readSavedSettings } from "./saved-settings.js";

/**
 * The folder's saved settings under the flags not given, each change a flag makes said first. `check` runs on the
 * result before anything is said: a flag it refuses is one line, not a change announced and then not made.
 */
export async function withSavedSettings(cmd: Command, dir: string, say: (line: string) => void, check: () => void = () => undefined): Promise<SavedSettings> {
  const settings = await readSavedSettings(resolve(dir));
  const changes = applySavedSettings(cmd, settings.saved);
  check();
  for (const c of changes) say(`changing a saved setting: ${describeChange(c)}`);
  return settings;
}
