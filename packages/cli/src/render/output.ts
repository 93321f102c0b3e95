import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { RunEvent } from "@dk-bootstrap/orchestrator";

/**
 * Where every run's full log goes: `$XDG_CACHE_HOME/dk-bootstrap/runs` (else `~/.cache/...`), one JSON line per event.
 * The PID keeps two runs to the same host in the same millisecond out of each other's file.
 */
export function runLogPath(host: string, now = new Date()): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "dk-bootstrap", "runs", `${now.toISOString().replace(/[:.]/g, "-")}-${process.pid}-${host.replace(/[^\w.@-]/g, "_")}.log`);
}

/** How a run is shown: plain lines (a host prefix, remote output only with `verbose`), or JSON lines with `json`. */
export interface OutputOptions {
  host: string;
  json?: boolean;
  verbose?: boolean;
}

const FRAMES = ["|", "/", "-", "\\"];

/** A spinner only on a terminal, and never with NO_COLOR or --no-color (they promise output without escape codes). */
function spinnerAllowed(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR && !process.argv.includes("--no-color");
}

/** An event sink that prints and also logs every event to the run's log file. */
export class RunOutput {
  readonly logFile: string;
  private readonly log: WriteStream;
  readonly started = Date.now();
  private spinner: { timer: NodeJS.Timeout; text: string } | undefined;

  constructor(private readonly o: OutputOptions) {
    this.logFile = runLogPath(o.host);
    mkdirSync(join(this.logFile, ".."), { recursive: true, mode: 0o700 });
    this.log = createWriteStream(this.logFile, { flags: "a", mode: 0o600 });
  }

  /** The sink to hand to the orchestrator. */
  readonly sink = (e: RunEvent): void => {
    const line = JSON.stringify({ time: new Date().toISOString(), host: this.o.host, ...e });
    this.log.write(`${line}\n`);
    if (this.o.json) {
      process.stdout.write(`${line}\n`);
      return;
    }
    const p = `[${this.o.host}]`;
    this.stopSpinner();
    if (e.type === "step-start") {
      process.stdout.write(`${p} ==> ${e.step}: ${e.title}\n`);
      this.startSpinner(`${p}     waiting for ${e.step}: its commands, then its check`);
    } else if (e.type === "step-done")
      process.stdout.write(e.status === "skipped" ? `${p} --- ${e.step}: already done, skipped\n` : `${p} ok  ${e.step} (${(e.ms / 1000).toFixed(1)}s)\n`);
    else if (e.type === "check" && !e.ok) process.stdout.write(`${p} !!  ${e.step}: ${e.detail ?? "check failed"}\n`);
    else if (e.type === "output" && (this.o.verbose || e.stream === "stderr")) process.stdout.write(`${p}     ${e.line}\n`);
    else if (e.type === "observe") process.stdout.write(`${p}   | ${e.text}\n`);
  };

  private startSpinner(text: string): void {
    if (this.o.json || !spinnerAllowed()) return;
    let i = 0;
    const timer = setInterval(() => process.stdout.write(`\r${FRAMES[i++ % FRAMES.length]} ${text}\x1b[K`), 120);
    this.spinner = { timer, text };
  }

  private stopSpinner(): void {
    if (!this.spinner) return;
    clearInterval(this.spinner.timer);
    process.stdout.write("\r\x1b[K");
    this.spinner = undefined;
  }

  /** A line for people (not shown with --json, where the events say it all). */
  say(text: string): void {
    this.log.write(`${JSON.stringify({ time: new Date().toISOString(), host: this.o.host, type: "message", text })}\n`);
    if (!this.o.json) process.stdout.write(`${text}\n`);
  }

  async close(): Promise<void> {
    this.stopSpinner();
    await new Promise<void>((r) => this.log.end(r));
  }
}
