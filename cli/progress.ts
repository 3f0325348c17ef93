import type { Output } from './spec.js';

export interface Progress {
  /** One more item done. */
  tick(): void;
  /** Clears the bar, leaving the line for what follows. */
  done(): void;
}

const NONE: Progress = { tick() {}, done() {} };
const REDRAW_MS = 50;

/**
 * A one-line progress bar on `stream`, only when it is a terminal: piped or redirected output (a log,
 * a test) gets nothing, so it never mixes with what a script reads.
 */
export function progressBar(stream: Output, label: string, total: number): Progress {
  if (!stream.isTTY || total <= 0) return NONE;
  let done = 0;
  let drawnAt = 0;
  const draw = () => {
    const columns = stream.columns || 80;
    const counter = ` ${done}/${total}`;
    const width = Math.max(10, Math.min(40, columns - label.length - counter.length - 4));
    const filled = Math.round((done / total) * width);
    stream.write(`\r\x1b[2K${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${counter}`);
    drawnAt = Date.now();
  };
  draw();
  return {
    tick() {
      done += 1;
      if (done === total || Date.now() - drawnAt >= REDRAW_MS) draw();
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
