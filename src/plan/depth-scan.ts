/**
 * A linear pre-scan that refuses absurdly nested text before the YAML parser sees it. The parser is
 * recursive: a megabyte of `[[[[` or `- - - -` would exhaust its stack after seconds of work. The
 * estimate is an upper bound (indentation columns, compact `- `/`? ` indicators and open flow
 * brackets outside comments), far above anything a real plan needs.
 */

export const MAX_SCAN_DEPTH = 256;

export interface DepthProblem {
  /** Offset of the character where the bound was passed. */
  offset: number;
  depth: number;
}

export function scanDepth(text: string, max = MAX_SCAN_DEPTH): DepthProblem | undefined {
  let flow = 0;
  let i = 0;
  const length = text.length;
  while (i < length) {
    // Start of a line: indentation and compact block indicators.
    let indent = 0;
    while (i < length && text[i] === ' ') {
      indent++;
      i++;
    }
    let compact = 0;
    while (i + 1 < length && (text[i] === '-' || text[i] === '?') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
      compact++;
      i += 2;
      while (i < length && text[i] === ' ') i++;
    }
    if (indent + compact + flow > max) return { offset: i, depth: indent + compact + flow };
    // The rest of the line: flow brackets outside comments.
    let previous = ' ';
    while (i < length && text[i] !== '\n') {
      const c = text[i] as string;
      if (c === '#' && (previous === ' ' || previous === '\t')) {
        while (i < length && text[i] !== '\n') i++;
        break;
      }
      if (c === '[' || c === '{') {
        flow++;
        if (indent + compact + flow > max) return { offset: i, depth: indent + compact + flow };
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      }
      previous = c;
      i++;
    }
    i++;
  }
  return undefined;
}
