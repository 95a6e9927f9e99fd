import { writeFileSync } from 'fs';
import { join } from 'path';
import { Readable } from 'stream';
import { TextDecoder } from 'util';
import { InputFileError, readAllLines, readLines, type InputLine } from '../../src/input';
import { firstInvalidUtf8Offset } from '../../src/input/utf8';
import { tempDir } from '../helpers/testModels';

const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

/** A stream that delivers `data` in chunks of `size` bytes, so chunk boundaries fall everywhere. */
function chunked(data: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks);
}

const texts = (lines: InputLine[]) => lines.map((l) => (l.kind === 'text' ? [l.line, l.index, l.text] : [l.line, l.index, l.kind]));

describe('readLines', () => {
  const BOM = [0xef, 0xbb, 0xbf];
  const sample = bytes(BOM, '{"a":1}\r\n', '\r\n', '  \t\n', '{"b":"中文🙂"}\n', '\n', '{"c":3}');

  test('strips BOM and CR, skips blank lines, numbers physical lines and non-blank indices', async () => {
    const { lines, physicalLineCount } = await readAllLines(sample);
    expect(texts(lines)).toEqual([
      [1, 0, '{"a":1}'],
      [4, 1, '{"b":"中文🙂"}'],
      [6, 2, '{"c":3}'],
    ]);
    expect(physicalLineCount).toBe(6);
  });

  test.each([1, 2, 3, 5, 7])('gives the same lines when the stream is cut every %i bytes (split BOM, CRLF, UTF-8)', async (size) => {
    const { lines, physicalLineCount } = await readAllLines(chunked(sample, size));
    expect(texts(lines)).toEqual(texts((await readAllLines(sample)).lines));
    expect(physicalLineCount).toBe(6);
  });

  test('accepts string chunks (a stream with an encoding set)', async () => {
    const { lines } = await readAllLines(Readable.from(['{"x":', '1}\n{"y":2}\n']));
    expect(texts(lines)).toEqual([
      [1, 0, '{"x":1}'],
      [2, 1, '{"y":2}'],
    ]);
  });

  test('a trailing newline does not add a line; a lone final line without newline is kept', async () => {
    expect((await readAllLines(bytes('a\n'))).physicalLineCount).toBe(1);
    expect((await readAllLines(bytes('a\nb'))).physicalLineCount).toBe(2);
    expect((await readAllLines(bytes(''))).physicalLineCount).toBe(0);
    expect((await readAllLines(bytes('\n'))).physicalLineCount).toBe(1);
    expect(texts((await readAllLines(bytes('a\nb'))).lines)).toEqual([
      [1, 0, 'a'],
      [2, 1, 'b'],
    ]);
  });

  test('only one trailing CR is removed, and a CR inside a line stays', async () => {
    const { lines } = await readAllLines(bytes('a\rb\r\r\n'));
    expect(texts(lines)).toEqual([[1, 0, 'a\rb\r']]);
  });

  test('a BOM at the start of a later line (concatenated files) is stripped too, but not one inside a line', async () => {
    const { lines } = await readAllLines(bytes('a\n', BOM, 'b\n', 'c', BOM, '\n'));
    expect(texts(lines)).toEqual([
      [1, 0, 'a'],
      [2, 1, 'b'],
      [3, 2, 'c\uFEFF'],
    ]);
  });

  test('invalid UTF-8 is reported with the offset of the first bad byte, and reading goes on', async () => {
    const { lines } = await readAllLines(bytes('ok\n', 'ab', [0xff], 'c\n', [0xe4, 0xb8], '\n', '好\n'));
    expect(lines).toEqual([
      { kind: 'text', line: 1, index: 0, text: 'ok' },
      { kind: 'invalid_utf8', line: 2, index: 1, byteOffset: 2 },
      { kind: 'invalid_utf8', line: 3, index: 2, byteOffset: 0 },
      { kind: 'text', line: 4, index: 3, text: '好' },
    ]);
  });

  test('a line over maxLineBytes becomes too_long without stopping the reader', async () => {
    const long = 'x'.repeat(100);
    const { lines } = await readAllLines(chunked(bytes('short\n', long, '\n', 'after\n'), 7), { maxLineBytes: 50 });
    expect(lines).toEqual([
      { kind: 'text', line: 1, index: 0, text: 'short' },
      { kind: 'too_long', line: 2, index: 1, byteLength: 100 },
      { kind: 'text', line: 3, index: 2, text: 'after' },
    ]);
  });

  test('streams lazily: the first lines of an endless source arrive without reading it all', async () => {
    async function* endless() {
      for (let i = 1; ; i++) yield Buffer.from(`{"n":${i}}\n`);
    }
    const seen: string[] = [];
    for await (const line of readLines(endless())) {
      if (line.kind === 'text') seen.push(line.text);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  test('a LineStream refuses a second iteration', async () => {
    const stream = readLines(bytes('a\n'));
    for await (const _ of stream) void _;
    await expect(async () => {
      for await (const _ of stream) void _;
    }).rejects.toThrow(/only once/);
  });

  describe('file paths', () => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir('lines');
    });

    test('reads a file from disk', async () => {
      const file = join(dir, 'in.jsonl');
      writeFileSync(file, '{"a":1}\n\n{"b":2}\n');
      const { lines, physicalLineCount } = await readAllLines(file);
      expect(texts(lines)).toEqual([
        [1, 0, '{"a":1}'],
        [3, 1, '{"b":2}'],
      ]);
      expect(physicalLineCount).toBe(3);
    });

    test('a missing file or a directory is an InputFileError naming the path', async () => {
      const missing = join(dir, 'nope.jsonl');
      await expect(readAllLines(missing)).rejects.toThrow(InputFileError);
      await expect(readAllLines(missing)).rejects.toThrow(`cannot read input "${missing}": no such file`);
      await expect(readAllLines(dir)).rejects.toThrow(/it is a directory/);
    });
  });
});

describe('firstInvalidUtf8Offset', () => {
  test.each([
    [[0x61, 0x62], -1],
    [[0xe4, 0xbd, 0xa0], -1], // 你
    [[0xf0, 0x9f, 0x99, 0x82], -1], // 🙂
    [[0x61, 0xff], 1],
    [[0xc0, 0xaf], 0], // overlong "/"
    [[0xe0, 0x80, 0xaf], 0], // overlong 3-byte
    [[0xed, 0xa0, 0x80], 0], // UTF-16 surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0x61, 0xe4, 0xbd], 1], // truncated at end
    [[0x80], 0], // lone continuation byte
  ])('%j → %i', (input, expected) => {
    expect(firstInvalidUtf8Offset(Uint8Array.from(input))).toBe(expected);
  });

  test('agrees with the fatal TextDecoder on random byte strings', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    let state = 12345;
    const nextByte = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const r = state >>> 24;
      // Bias toward bytes that form (or almost form) multi-byte sequences.
      return r < 96 ? 0x80 + (r % 64) : r < 160 ? 0xc0 + (r % 64) : r % 128;
    };
    const disagreements: number[][] = [];
    let validCount = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const data = Uint8Array.from({ length: 1 + (trial % 9) }, nextByte);
      let valid = true;
      try {
        decoder.decode(data);
      } catch {
        valid = false;
      }
      if (valid) validCount++;
      const offset = firstInvalidUtf8Offset(data);
      // Invalid iff an offset is reported, and everything before that offset is itself well-formed.
      let prefixValid = true;
      if (offset >= 0) {
        try {
          decoder.decode(data.subarray(0, offset));
        } catch {
          prefixValid = false;
        }
      }
      if ((offset === -1) !== valid || !prefixValid) disagreements.push([...data]);
    }
    expect(disagreements).toEqual([]);
    // The generator must exercise both outcomes for the comparison to mean anything.
    expect(validCount).toBeGreaterThan(100);
    expect(validCount).toBeLessThan(2700);
  });
});
