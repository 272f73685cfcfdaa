/**
 * A linear pre-scan that refuses absurd text before the YAML parser sees it. The parser is
 * recursive and not fast: a megabyte of `[[[[` or `- - - -` exhausts its stack after seconds, and
 * half a million list items take seconds to parse. Both estimates are upper bounds (indentation
 * columns, compact `- `/`? ` indicators and open flow brackets outside comments; lines and flow
 * commas outside comments), far above anything a real plan needs.
 */

export const MAX_SCAN_DEPTH = 256;
/** Lines with content plus commas in flow collections; real plans have a few hundred. */
export const MAX_SCAN_ENTRIES = 5_000;

export interface ScanResult {
  problem?: { offset: number; message: string };
  entries: number;
}

export function scanDepth(text: string, maxDepth = MAX_SCAN_DEPTH, maxEntries = MAX_SCAN_ENTRIES): ScanResult {
  let flow = 0;
  let entries = 0;
  let i = 0;
  const length = text.length;
  const tooDeep = (offset: number): ScanResult => ({
    problem: { offset, message: `the document is nested more than ${maxDepth} levels deep; this is not a plan` },
    entries,
  });
  const tooMany = (offset: number): ScanResult => ({
    problem: {
      offset,
      message: `the document has more than ${maxEntries} entries (lines and list items); a plan has a few hundred (is this the right file?)`,
    },
    entries,
  });
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
    if (indent + compact + flow > maxDepth) return tooDeep(i);
    if (i < length && text[i] !== '\n' && text[i] !== '#' && text[i] !== '\r') {
      entries++;
      if (entries > maxEntries) return tooMany(i);
    }
    // The rest of the line: flow brackets and commas outside comments.
    let previous = ' ';
    while (i < length && text[i] !== '\n') {
      const c = text[i] as string;
      if (c === '#' && (previous === ' ' || previous === '\t')) {
        while (i < length && text[i] !== '\n') i++;
        break;
      }
      if (c === '[' || c === '{') {
        flow++;
        if (indent + compact + flow > maxDepth) return tooDeep(i);
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      } else if (c === ',' && flow > 0) {
        entries++;
        if (entries > maxEntries) return tooMany(i);
      }
      previous = c;
      i++;
    }
    i++;
  }
  return { entries };
}
