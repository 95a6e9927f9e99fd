import { Command } from 'commander';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerMerge } from '../../src/cli/commands/merge';
import { UserError } from '../../src/errors';
import { naturalCompare } from '../../src/merge/expandFileArguments';
import { writeShards } from '../helpers/shardFiles';
import { tempDir } from '../helpers/testModels';

let dir: string;
let stderr: string;
beforeEach(() => {
  dir = tempDir('merge-cli');
  stderr = '';
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
  process.exitCode = undefined;
});

async function runMerge(...args: string[]): Promise<number | string | undefined> {
  const program = new Command().exitOverride();
  registerMerge(program);
  process.exitCode = undefined;
  await program.parseAsync(['merge', ...args], { from: 'user' });
  return process.exitCode;
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const line = (id: string, index: number, settings = 'fp-A'): string =>
  `${JSON.stringify({ id, index, text: id.toUpperCase(), finish_reason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1 }, settings })}\n`;
const INPUT = ['a', 'b', 'c', 'd'].map((id) => JSON.stringify({ id, prompt: id })).join('\n');

function writeShardFiles(): void {
  writeShards(dir, { 'shard-0.jsonl': [line('c', 2), line('a', 0)], 'shard-1.jsonl': [line('d', 3)], 'shard-10.jsonl': [line('b', 1)] });
}

describe('qwen-gen merge', () => {
  it('merges shards named by a glob, in input order, atomically, and exits 0 when complete', async () => {
    writeShardFiles();
    const out = join(dir, 'merged.jsonl');
    expect(await runMerge(out, join(dir, 'shard-*.jsonl'), '--input', write('prompts.jsonl', INPUT))).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(line('a', 0) + line('b', 1) + line('c', 2) + line('d', 3));
    expect(stderr).toMatch(/merged 4 lines from 3 shard file\(s\)/);
    expect(stderr).toMatch(/missing 0, duplicates 0, errors 0, mismatched settings 0/);
    expect(stderr).toMatch(/complete/);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('exits 1 and names the missing ids when a shard is absent; --allow-incomplete exits 0 but still reports', async () => {
    writeShardFiles();
    const input = write('prompts.jsonl', INPUT);
    const out = join(dir, 'merged.jsonl');
    expect(await runMerge(out, join(dir, 'shard-0.jsonl'), join(dir, 'shard-1.jsonl'), '--input', input)).toBe(1);
    expect(stderr).toMatch(/missing 1/);
    expect(stderr).toContain('missing: "b" (input line 2)');
    expect(stderr).toMatch(/INCOMPLETE/);
    expect(readFileSync(out, 'utf8')).toBe(line('a', 0) + line('c', 2) + line('d', 3));

    stderr = '';
    expect(await runMerge(out, join(dir, 'shard-0.jsonl'), '--input', input, '--allow-incomplete', '--overwrite')).toBe(0);
    expect(stderr).toMatch(/missing 2/);
    expect(stderr).toMatch(/INCOMPLETE \(allowed by --allow-incomplete\)/);
  });

  it('exits 1 on a duplicated id and on mismatched settings', async () => {
    write('s0.jsonl', line('a', 0) + line('b', 1));
    write('s1.jsonl', line('b', 1).replace('"B"', '"B, another result"'));
    expect(await runMerge(join(dir, 'm.jsonl'), join(dir, 's?.jsonl'))).toBe(1);
    expect(stderr).toMatch(/duplicates 1/);
    expect(stderr).toContain(`"b" in ${join(dir, 's0.jsonl')}:2 (kept), ${join(dir, 's1.jsonl')}:1`);

    stderr = '';
    write('s1.jsonl', line('c', 2, 'fp-B'));
    expect(await runMerge(join(dir, 'm.jsonl'), join(dir, 's?.jsonl'), '--overwrite')).toBe(1);
    expect(stderr).toMatch(/mismatched settings 1/);
    expect(stderr).toMatch(/fp-B: 1 line\(s\)/);
  });

  it('an identical repeated record (the same result twice) is dropped with a note, not a duplicate: complete, exit 0', async () => {
    write('s0.jsonl', line('a', 0) + line('b', 1));
    write('s1.jsonl', line('b', 1));
    expect(await runMerge(join(dir, 'm.jsonl'), join(dir, 's?.jsonl'), '--input', write('p.jsonl', INPUT.split('\n').slice(0, 2).join('\n')))).toBe(0);
    expect(stderr).toMatch(/duplicates 0/);
    expect(stderr).toMatch(/1 repeated line\(s\) identical to a kept one, byte for byte, were dropped/);
    expect(stderr).toMatch(/complete/);
    expect(readFileSync(join(dir, 'm.jsonl'), 'utf8')).toBe(line('a', 0) + line('b', 1));
  });

  it('skips the output file when a pattern matches it, and refuses it when named literally', async () => {
    writeShardFiles();
    const out = write('merged.jsonl', 'old content that is not JSON\n');
    expect(await runMerge(out, join(dir, '*.jsonl'), '--overwrite')).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(line('a', 0) + line('b', 1) + line('c', 2) + line('d', 3));
    await expect(runMerge(out, out, '--overwrite')).rejects.toThrow(/merged.jsonl is a shard being merged; writing it would destroy what this command reads \(refused even with --overwrite\)/);
  });

  it('never replaces a file it reads or an existing file without --overwrite: the unquoted-glob case keeps shard-0', async () => {
    writeShardFiles();
    const input = write('prompts.jsonl', INPUT);
    const shard0 = readFileSync(join(dir, 'shard-0.jsonl'), 'utf8');
    const refused = async (...args: string[]) => {
      const failure = await runMerge(...args).then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as UserError).exitCode).toBe(2);
      return (failure as UserError).message;
    };
    // `qwen-gen merge shard-*.jsonl --input prompts.jsonl`: the shell makes shard-0.jsonl the output.
    const glob = [join(dir, 'shard-0.jsonl'), join(dir, 'shard-1.jsonl'), join(dir, 'shard-10.jsonl'), '--input', input];
    expect(await refused(...glob)).toMatch(/file .*shard-0\.jsonl already exists; add --overwrite to replace it\. If the shell expanded an unquoted pattern/);
    expect(await refused(...glob)).toContain(`qwen-gen merge merged.jsonl '${dir}/shard-*.jsonl'`);
    // Even with --overwrite: shard-0 holds other requests than the shards named, so it is one more shard.
    expect(await refused(...glob, '--overwrite')).toMatch(/looks like one more shard.*refused even with --overwrite/);
    expect(readFileSync(join(dir, 'shard-0.jsonl'), 'utf8')).toBe(shard0);
    // `qwen-gen merge prompts.jsonl shard-0.jsonl`: the input is not replaced.
    expect(await refused(input, join(dir, 'shard-0.jsonl'))).toMatch(/prompts\.jsonl already exists/);
    // The --input file, by identity (a hard link is the same file), refused even with --overwrite.
    const alias = join(dir, 'alias.jsonl');
    linkSync(input, alias);
    expect(await refused(alias, join(dir, 'shard-0.jsonl'), '--input', input, '--overwrite')).toMatch(/alias\.jsonl is the --input file/);
    expect(readFileSync(input, 'utf8')).toBe(INPUT);
    // The merged report and the merged output cannot be one file.
    expect(await refused(join(dir, 'm.jsonl'), join(dir, 'shard-0.jsonl'), '--reports', join(dir, 'shard-1.jsonl'), '--report-out', join(dir, 'm.jsonl'))).toMatch(
      /same file as merge output/,
    );
    // Negative control: an earlier merged output (the same requests) is replaced with --overwrite.
    const merged = join(dir, 'merged.jsonl');
    expect(await runMerge(merged, join(dir, 'shard-*.jsonl'), '--input', input)).toBe(0);
    expect(await runMerge(merged, join(dir, 'shard-*.jsonl'), '--input', input, '--overwrite')).toBe(0);
  });

  it('--report-out x.md is refused: merged reports are JSON', async () => {
    writeShardFiles();
    write('r0.json', '{"version":1}');
    await expect(runMerge(join(dir, 'm.jsonl'), join(dir, 'shard-*.jsonl'), '--reports', join(dir, 'r0.json'), '--report-out', join(dir, 'r.md'))).rejects.toThrow(
      /--report-out .*r\.md: merged reports are written as JSON only/,
    );
  });

  it('writes to stdout with "-"', async () => {
    writeShardFiles();
    const chunks: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: Uint8Array, callback?: (error?: Error | null) => void) => {
      chunks.push(Buffer.from(chunk).toString('utf8'));
      callback?.();
      return true;
    }) as typeof process.stdout.write);
    expect(await runMerge('-', join(dir, 'shard-1*.jsonl'))).toBe(0);
    expect(chunks.join('')).toBe(line('b', 1) + line('d', 3));
    expect(stderr).toMatch(/into stdout/);
    expect(stderr).toMatch(/completeness not checked/);
  });

  it('merges shard reports with --reports and --report-out', async () => {
    writeShardFiles();
    const report = (n: number) => JSON.stringify({ version: 1, figures: { requests: n }, findings: [{ code: 'pad_is_eos', evidence: { pad: 1 } }] });
    write('r0.json', report(2));
    write('r1.json', report(1));
    const reportOut = join(dir, 'report.json');
    expect(await runMerge(join(dir, 'm.jsonl'), join(dir, 'shard-*.jsonl'), '--reports', join(dir, 'r*.json'), '--report-out', reportOut)).toBe(0);
    expect(JSON.parse(readFileSync(reportOut, 'utf8'))).toEqual({
      version: 1,
      figures: { requests: 3 },
      findings: [{ code: 'pad_is_eos', evidence: { pad: 1 } }],
      shards: 2,
    });
  });

  it('usage errors are UserErrors with exit code 2', async () => {
    writeShardFiles();
    const out = join(dir, 'm.jsonl');
    const usage = async (...args: string[]): Promise<string> => {
      const failure = await runMerge(...args).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as UserError).exitCode).toBe(2);
      return (failure as UserError).message;
    };
    expect(await usage(out, join(dir, 'nothing-*.jsonl'))).toMatch(/no files match/);
    expect(await usage(out, join(dir, 'absent.jsonl'))).toMatch(/no such file/);
    expect(await usage(out, join(dir, 'shard-0.jsonl'), '--input', join(dir, 'absent.jsonl'))).toMatch(/input file not found/);
    expect(await usage(out, join(dir, 'shard-0.jsonl'), '--reports', join(dir, 'shard-0.jsonl'))).toMatch(/--report-out/);
    expect(await usage(out, join(dir, 'shard-0.jsonl'), '--reports', join(dir, 'shard-0.jsonl'), '--report-out', join(dir, 'r.json'))).toMatch(
      /cannot read report/,
    );
    expect(await usage(join(dir, 'no-dir', 'm.jsonl'), join(dir, 'shard-0.jsonl'))).toMatch(/merge output .*m.jsonl: directory .*no-dir does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  it('expands patterns in directory segments, relative to the working directory', async () => {
    for (const k of [0, 1]) {
      mkdirSync(join(dir, `run-${k}`));
      write(join(`run-${k}`, 'out.jsonl'), line(['a', 'b'][k], k));
    }
    write(join('run-1', '.hidden.jsonl'), line('z', 9));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await runMerge('merged.jsonl', 'run-*/*.jsonl')).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(readFileSync(join(dir, 'merged.jsonl'), 'utf8')).toBe(line('a', 0) + line('b', 1));
    expect(stderr).toMatch(/from 2 shard file/);
  });

  it('sorts pattern matches naturally', () => {
    expect(['shard-10', 'shard-2', 'shard-1'].sort(naturalCompare)).toEqual(['shard-1', 'shard-2', 'shard-10']);
  });
});
