/**
 * Draws a block of lines in place at the bottom of a terminal, with ANSI cursor moves: each frame
 * is one write (cursor up over the last frame, each line then "erase to end of line", then "erase
 * below"), so nothing flickers; a frame equal to the last one is not written. Text printed while
 * the block is shown (warnings, errors) goes above it. The cursor is hidden while the block is
 * live and shown again by close(), which leaves the last frame on the screen.
 */

export interface LiveScreen {
  /** Replaces the block with these lines (each already cut to the terminal's width). */
  draw(lines: readonly string[]): void;
  /** Prints text above the block (it scrolls up with the terminal). */
  print(text: string): void;
  /** Leaves the last frame, moves below it and shows the cursor. Idempotent. */
  close(): void;
}

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const ERASE_LINE_END = '\x1b[K';
const ERASE_BELOW = '\x1b[J';

/** Up `n` lines, to their first column. */
export function cursorUp(n: number): string {
  return n > 0 ? `\x1b[${n}A\r` : '\r';
}

export function createLiveScreen(write: (text: string) => void): LiveScreen {
  let height = 0;
  let last: readonly string[] = [];
  let closed = false;
  let started = false;
  const frame = (lines: readonly string[]): string => lines.map((line) => `${line}${ERASE_LINE_END}\n`).join('');
  return {
    draw(lines) {
      if (closed) return;
      if (started && lines.length === last.length && lines.every((line, i) => line === last[i])) return;
      write(`${started ? '' : HIDE_CURSOR}${cursorUp(height)}${frame(lines)}${ERASE_BELOW}`);
      started = true;
      height = lines.length;
      last = [...lines];
    },
    print(text) {
      if (closed || !started) {
        write(text);
        return;
      }
      const body = text.endsWith('\n') ? text : `${text}\n`;
      write(`${cursorUp(height)}${ERASE_BELOW}${body}${frame(last)}`);
    },
    close() {
      if (closed) return;
      closed = true;
      if (started) write(SHOW_CURSOR);
    },
  };
}
