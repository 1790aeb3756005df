/**
 * Progress of a long scan on stderr, only on a terminal and only once it has taken a second:
 * quick scans and redirected output stay clean. One line redrawn in place, cleared at the end.
 */
import type { Progress } from './collect';

export interface ProgressOptions {
  write(text: string): void;
  isTTY: boolean;
  now(): number;
  delayMs?: number;
}

export interface ProgressReporter {
  update(p: Progress): void;
  /** Redraws the line if due; called by the timer, and by tests. */
  tick(): void;
  done(): void;
}

const CLEAR_LINE = '\r\x1b[2K';
const REDRAW_MS = 250;

export function progressText(p: Progress): string {
  const of = p.namespacesTotal > 1 ? ` (${p.namespacesDone + 1}/${p.namespacesTotal})` : '';
  return `scanning namespace ${p.namespace}${of}: ${p.pods} pod${p.pods === 1 ? '' : 's'} listed`;
}

export function progressReporter(o: ProgressOptions): ProgressReporter {
  const start = o.now();
  const delay = o.delayMs ?? 1000;
  let latest: Progress | undefined;
  let drawn = '';
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (!latest || o.now() - start < delay) return;
    const text = progressText(latest);
    if (text === drawn) return;
    drawn = text;
    o.write(`${CLEAR_LINE}${text}`);
  };
  if (o.isTTY) {
    timer = setInterval(tick, REDRAW_MS);
    timer.unref();
  }
  return {
    update(p) {
      if (!o.isTTY) return;
      latest = p;
      tick();
    },
    tick,
    done() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (drawn !== '') o.write(CLEAR_LINE);
      drawn = '';
    },
  };
}
