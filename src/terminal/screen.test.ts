import { describe, expect, it } from 'vitest';
import { createLiveScreen, cursorUp } from './screen.js';

function recorder(): { writes: string[]; screen: ReturnType<typeof createLiveScreen> } {
  const writes: string[] = [];
  return { writes, screen: createLiveScreen((text) => writes.push(text)) };
}

describe('the live screen', () => {
  it('draws the first frame with the cursor hidden, then redraws in place over the last frame in one write', () => {
    const { writes, screen } = recorder();
    screen.draw(['a', 'b']);
    expect(writes).toEqual(['\x1b[?25l\ra\x1b[K\nb\x1b[K\n\x1b[J']);
    screen.draw(['a', 'c', 'd']);
    expect(writes[1]).toBe(`${cursorUp(2)}a\x1b[K\nc\x1b[K\nd\x1b[K\n\x1b[J`);
    expect(cursorUp(2)).toBe('\x1b[2A\r');
  });

  it('does not write a frame equal to the last one', () => {
    const { writes, screen } = recorder();
    screen.draw(['x']);
    screen.draw(['x']);
    expect(writes).toHaveLength(1);
  });

  it('prints text above the block and draws the block again below it', () => {
    const { writes, screen } = recorder();
    screen.draw(['view']);
    screen.print('WARN something');
    expect(writes[1]).toBe(`${cursorUp(1)}\x1b[JWARN something\nview\x1b[K\n`);
  });

  it('shows the cursor again on close, once, and draws nothing after', () => {
    const { writes, screen } = recorder();
    screen.draw(['view']);
    screen.close();
    screen.close();
    screen.draw(['later']);
    expect(writes.slice(1)).toEqual(['\x1b[?25h']);
  });
});
