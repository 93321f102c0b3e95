import { expect, it } from "vitest";
import { beforeAll, describe, it as shimIt, runRegistered } from "../../../test-support/vitest-shim.js";

it("the portable runner's shim: a failed beforeAll fails every test of its scope, not only the first", async () => {
  describe("a scope whose hook throws", () => {
    beforeAll(() => {
      throw new Error("hook broke");
    });
    shimIt("first", () => {});
    shimIt("second", () => {});
  });
  describe("a scope without hooks", () => {
    shimIt("third", () => {});
  });
  const results = await runRegistered();
  expect(results.map((r) => `${r.name} ${r.ok}`)).toEqual([
    "a scope whose hook throws > first false",
    "a scope whose hook throws > second false",
    "a scope without hooks > third true",
  ]);
  expect(results[1]!.error).toMatch(/hook broke/);
});
