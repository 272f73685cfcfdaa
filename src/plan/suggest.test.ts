import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearest } from './suggest.js';

describe('suggestions', () => {
  it('measures edits, counting a swap of neighbours as one', () => {
    expect(editDistance('replicas', 'replicas')).toBe(0);
    expect(editDistance('rplicas', 'replicas')).toBe(1);
    expect(editDistance('repilcas', 'replicas')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the nearest plausible word, ignoring case, and nothing for unrelated words', () => {
    const fields = ['replicas', 'readiness', 'name', 'command'];
    expect(nearest('rplicas', fields)).toBe('replicas');
    expect(nearest('Replicas', fields)).toBe('replicas');
    expect(nearest('nmae', fields)).toBe('name');
    expect(nearest('zzz', fields)).toBeUndefined();
    expect(nearest('timeout', fields)).toBeUndefined();
    expect(didYouMean('comand', fields)).toBe('; did you mean "command"?');
    expect(didYouMean('xyz', fields)).toBe('');
  });
});
