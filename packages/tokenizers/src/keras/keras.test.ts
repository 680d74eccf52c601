import { describe, expect, it } from 'vitest';
import { CharLevel } from './char-level.js';
import { padSequences, WordLevel } from './word-level.js';

// Expectations follow the Keras Tokenizer algorithm (keras_preprocessing/text.py), worked by hand.
describe('WordLevel (Keras Tokenizer semantics)', () => {
  const texts = ['The cat sat on the mat.', 'The dog ate my homework!', 'Cat, dog; CAT?'];

  it('numbers words by frequency from 1, ties in first-seen order', () => {
    const t = new WordLevel().fitOnTexts(texts);
    // counts: the 3, cat 3, dog 2, then sat on mat ate my homework (1 each, first-seen order)
    expect([...t.wordIndex]).toEqual([
      ['the', 1],
      ['cat', 2],
      ['dog', 3],
      ['sat', 4],
      ['on', 5],
      ['mat', 6],
      ['ate', 7],
      ['my', 8],
      ['homework', 9],
    ]);
    expect(t.wordDocs.get('cat')).toBe(2);
    expect(t.documentCount).toBe(3);
  });

  it('filters punctuation, lowercases, and drops unknown words without an OOV token', () => {
    const t = new WordLevel().fitOnTexts(texts);
    expect(t.textsToSequences(['The bird sat-on THE mat!!'])).toEqual([[1, 4, 5, 1, 6]]);
  });

  it('maps unknown and rare words to the OOV token (index 1) and honours numWords', () => {
    const t = new WordLevel({ oovToken: '<OOV>', numWords: 4 }).fitOnTexts(texts);
    expect(t.wordIndex.get('<OOV>')).toBe(1);
    expect(t.wordIndex.get('the')).toBe(2);
    // numWords 4 keeps indices 1..3 (<OOV>, the, cat); dog (4) becomes OOV.
    expect(t.textsToSequences(['the dog and the cat'])).toEqual([[2, 1, 1, 2, 3]]);
    expect(t.sequencesToTexts([[2, 1, 3, 0]])).toEqual(['the <OOV> cat <OOV>']);
  });

  it('custom filters, no lowercasing, another split character', () => {
    const t = new WordLevel({ filters: '', lower: false, split: '|' }).fitOnTexts(['A|b|A', 'b|c']);
    expect([...t.wordIndex.keys()]).toEqual(['A', 'b', 'c']);
  });

  it('padSequences pads and truncates at the front by default, like Keras', () => {
    const { data, shape } = padSequences(
      [
        [1, 2],
        [3, 4, 5, 6],
      ],
      { maxLength: 3 },
    );
    expect(shape).toEqual([2, 3]);
    expect(Array.from(data)).toEqual([0, 1, 2, 4, 5, 6]);
    const post = padSequences(
      [
        [1, 2],
        [3, 4, 5, 6],
      ],
      { maxLength: 3, padding: 'post', truncating: 'post', value: -1 },
    );
    expect(Array.from(post.data)).toEqual([1, 2, -1, 3, 4, 5]);
  });
});

describe('CharLevel', () => {
  it('numbers code points by frequency, round-trips, and keeps emoji whole', () => {
    const c = new CharLevel({ oovToken: '\u0000' }).fitOnTexts(['abba 😀', 'b']);
    expect(c.charIndex.get('\u0000')).toBe(1);
    expect(c.charIndex.get('b')).toBe(2);
    expect(c.decode(c.encode('ab 😀'))).toBe('ab 😀');
    expect(c.encode('z')).toEqual([1]);
    expect(c.vocabSize).toBe(1 + 1 + 4);
  });
});
