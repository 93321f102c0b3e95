// 600 mutated kubeconfigs through the library paths of view, get-contexts, set-cluster and check: no crash, no hang,
// every refusal one line naming the file (issue 9 §6). The CLI runs a sample of the same cases (kubeconfig-hostile.test.ts).
import { describe, expect, it } from "vitest";
import { DkError, InputError } from "@dk-bootstrap/pki";
import { checkKubeconfig, contextsTable, parseKubeconfig, setCluster, toYaml, viewConfig } from "../src/index.js";
import { BOMB, mutatedKubeconfigs } from "./fuzz-cases.js";

describe("fuzzed kubeconfigs", () => {
  it("600 mutations (seed 9): 0 crashes, 0 hangs, every error one line naming the file", async () => {
    const cases = mutatedKubeconfigs(600, 9);
    const crashes: string[] = [];
    let refused = 0;
    const bombs: string[] = [];
    let aliasing = 0;
    let slowest = 0;
    for (const [i, text] of cases.entries()) {
      const file = `fuzz-${i}.conf`;
      const t0 = performance.now();
      try {
        const cfg = parseKubeconfig(text, file);
        contextsTable(cfg);
        toYaml(viewConfig(cfg));
        const edited = structuredClone(cfg);
        setCluster(edited, "added", { server: "https://added" });
        // What we write must read back the same, as kubectl would load it.
        const written = toYaml(edited);
        expect(toYaml(parseKubeconfig(written, file)), `case ${i}`).toBe(written);
        await checkKubeconfig(cfg);
      } catch (e) {
        if (!(e instanceof DkError)) crashes.push(`case ${i}: ${(e as Error).stack?.split("\n").slice(0, 3).join(" | ")}\n${text}`);
        else {
          refused++;
          if (text.includes(BOMB)) bombs.push(`case ${i}`);
          if (/excessive aliasing/.test((e as Error).message)) aliasing++;
          expect((e as Error).message, `case ${i}`).not.toContain("\n");
          expect(e, `case ${i}`).toBeInstanceOf(InputError);
          expect((e as Error).message.startsWith(`${file}: `), `case ${i}: ${(e as Error).message}`).toBe(true);
        }
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    expect(crashes).toEqual([]);
    // No hang: every case holding the alias bomb whole is refused, never expanded, and the alias budget is what refuses
    // some of them (others hold another mutation that is refused first). How long a case takes is printed, not asserted.
    const withBomb = cases.flatMap((text, i) => (text.includes(BOMB) ? [`case ${i}`] : []));
    expect(withBomb.length).toBeGreaterThan(5);
    expect(bombs).toEqual(withBomb);
    expect(aliasing).toBeGreaterThan(5);
    console.log(
      `600 fuzzed kubeconfigs: ${refused} refused, ${withBomb.length} alias bombs refused, ${aliasing} for excessive aliasing; slowest case ${Math.round(slowest)} ms`,
    );
    // The mutations reach both sides: many files are refused, many still load.
    expect(refused).toBeGreaterThan(100);
    expect(refused).toBeLessThan(550);
  }, 120_000);
});
