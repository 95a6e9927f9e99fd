import { StopStringMatcher, findFirstStop, partialStopSuffixLength } from '../../src/output/stopStrings';

/** Feeds the pieces; returns what was emitted (including flush when no stop matched) and the stop. */
function run(stops: string[], pieces: string[], include = false): { text: string; stop: string | null; steps: string[] } {
  const matcher = new StopStringMatcher(stops, { includeStopStrInOutput: include });
  const steps: string[] = [];
  let stop: string | null = null;
  for (const piece of pieces) {
    const update = matcher.push(piece);
    steps.push(update.text);
    if (update.stop !== null) {
      stop = update.stop;
      break;
    }
  }
  const text = steps.join('') + matcher.flush();
  expect(matcher.emittedText).toBe(text);
  expect(matcher.stop).toBe(stop);
  return { text, stop, steps };
}

describe('StopStringMatcher', () => {
  it('finds a stop string spanning two tokens, holds back the partial match, and cuts exactly at it', () => {
    const { text, stop, steps } = run(['STOP'], ['Hello wor', 'ld! STO', 'P here', 'never fed']);
    expect(steps).toEqual(['Hello wor', 'ld! ', '']);
    expect(text).toBe('Hello world! ');
    expect(stop).toBe('STOP');
  });
  it('includes the stop string when asked', () => {
    expect(run(['STOP'], ['Hello wor', 'ld! STO', 'P here'], true).text).toBe('Hello world! STOP');
  });
  it('spans three tokens and stops even inside a token', () => {
    expect(run(['<END>'], ['a<', 'E', 'ND>b'])).toMatchObject({ text: 'a', stop: '<END>' });
    expect(run(['\n\n'], ['x\n', '\ny'])).toMatchObject({ text: 'x', stop: '\n\n' });
  });
  it('releases a held prefix once it stops matching', () => {
    const { text, stop, steps } = run(['STOP'], ['ST', 'ATE', ' ok']);
    expect(steps).toEqual(['', 'STATE', ' ok']);
    expect(text).toBe('STATE ok');
    expect(stop).toBeNull();
  });
  it('flush releases the held tail at the end of generation', () => {
    expect(run(['STOP'], ['the end ST'])).toMatchObject({ text: 'the end ST', stop: null });
  });
  it('handles self-overlapping stops (aab in aaab)', () => {
    expect(run(['aab'], ['a', 'a', 'a', 'b', 'c'])).toMatchObject({ text: 'a', stop: 'aab' });
  });
  it('reports which stop matched: the first to complete, whatever the list order', () => {
    expect(run(['world', 'lo w'], ['hello world'])).toMatchObject({ text: 'hel', stop: 'lo w' });
    expect(run(['lo w', 'world'], ['hello world'])).toMatchObject({ text: 'hel', stop: 'lo w' });
    // same end: the longer one (earlier start) wins
    expect(run(['b', 'ab'], ['xab'])).toMatchObject({ text: 'x', stop: 'ab' });
  });
  it('matches at the very start and with non-ASCII stops', () => {
    expect(run(['###'], ['##', '#x'])).toMatchObject({ text: '', stop: '###' });
    expect(run(['停止', '🛑'], ['你好', '停', '止了'])).toMatchObject({ text: '你好', stop: '停止' });
    expect(run(['🛑'], ['ok ', '🛑'], true)).toMatchObject({ text: 'ok 🛑', stop: '🛑' });
  });
  it('emits nothing after a match, and everything at once without stops (empty stops ignored)', () => {
    const matcher = new StopStringMatcher(['x']);
    expect(matcher.push('axb')).toEqual({ text: 'a', stop: 'x' });
    expect(matcher.push('more')).toEqual({ text: '', stop: 'x' });
    expect(matcher.flush()).toBe('');
    expect(new StopStringMatcher(['']).push('abc')).toEqual({ text: 'abc', stop: null });
  });
  it('gives the same result however the text is split (random splits vs an independent scan)', () => {
    let state = 12345;
    const rand = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const alphabet = 'ab c';
    const stops = ['aba', 'b c', 'cc', 'a  '];
    for (let trial = 0; trial < 300; trial++) {
      const full = Array.from({ length: 30 }, () => alphabet[rand(alphabet.length)]).join('');
      // independent reference: scan end positions, first end where some stop ends there; the longest such stop
      let expected: { text: string; stop: string | null } = { text: full, stop: null };
      outer: for (let end = 1; end <= full.length; end++) {
        const endingHere = stops.filter((s) => full.slice(0, end).endsWith(s)).sort((a, b) => b.length - a.length);
        if (endingHere.length > 0) {
          expected = { text: full.slice(0, end - endingHere[0].length), stop: endingHere[0] };
          break outer;
        }
      }
      const pieces: string[] = [];
      for (let i = 0; i < full.length; ) {
        const size = 1 + rand(5);
        pieces.push(full.slice(i, i + size));
        i += size;
      }
      const { text, stop } = run(stops, pieces);
      expect({ text, stop }).toEqual(expected);
    }
  });
});

describe('stop string helpers', () => {
  it('findFirstStop ignores matches that end before minEnd', () => {
    expect(findFirstStop('abcabc', ['bc'])).toEqual({ stop: 'bc', start: 1, end: 3 });
    expect(findFirstStop('abcabc', ['bc'], 4)).toEqual({ stop: 'bc', start: 4, end: 6 });
    expect(findFirstStop('abc', ['x'])).toBeNull();
  });
  it('partialStopSuffixLength finds the longest tail that could still become a stop', () => {
    expect(partialStopSuffixLength('hello ST', ['STOP', 'TOP'])).toBe(2);
    expect(partialStopSuffixLength('xaa', ['aab'])).toBe(2);
    expect(partialStopSuffixLength('STOP', ['STOP'])).toBe(0); // a whole match is not "partial"
  });
});
