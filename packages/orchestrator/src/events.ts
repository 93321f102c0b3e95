/** What a run reports, for any UI (task list, JSON lines, guided run) to show. */
export type RunEvent =
  | { type: "connected"; host: string }
  | { type: "step-start"; step: string; title: string; why: string }
  | { type: "output"; step: string; stream: "stdout" | "stderr"; line: string }
  | { type: "file"; step: string; path: string; action: "written" | "unchanged" }
  | { type: "check"; step: string; ok: boolean; detail?: string }
  | { type: "step-done"; step: string; status: "done" | "skipped"; ms: number }
  | { type: "observe"; step: string; text: string };

/** Receives events; the default drops them. */
export type EventSink = (event: RunEvent) => void;
