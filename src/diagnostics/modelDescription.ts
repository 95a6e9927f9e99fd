import * as path from 'node:path';
import { AttentionKind } from '../attentionKind';
import { KvDtype } from '../kvDtype';
import { TensorInfo } from '../model/graphInfo';
import { ModelPlan } from '../engine/loadModel';
import { tokenIdOf } from '../model/modelFiles';
import { TokenSource } from '../model/specialTokens';
import { tokenizerPaddingSide } from './graphFindings';
import { tokenText } from './modelFacts';

export type ModelDescriptionSource = Pick<ModelPlan, 'spec' | 'folder' | 'graph' | 'tokens' | 'protocol' | 'fillTokenId' | 'tokenizer' | 'contextLength' | 'vocabSize' | 'runtime'> &
  Partial<Pick<ModelPlan, 'derived'>>;

/** onnxruntime session settings (report `model.runtime.session_options`). */
export interface SessionOptionsDescription {
  threads: number;
  prepacking: boolean;
  intra_op_spinning: boolean | null;
  config_entries: Record<string, string>;
}

/** The derived graph that runs instead of the user's file (report `model.derived_graph`). */
export interface DerivedGraphDescription {
  /** Relative to the model folder; null when the user's file runs as it is. */
  file: string | null;
  rewrites: { name: string; nodes: number; detail: string }[];
  /** Why the user's file runs as it is, when it does. */
  reason: string | null;
}

export interface TokenDescription {
  id: number;
  text: string | null;
}

/** The model section of the report and of `inspect --json`. */
export interface ModelDescription {
  spec: string;
  dir: string;
  onnx_file: string;
  model_type: string | null;
  attention: AttentionKind;
  rotary: string;
  kv_dtype: KvDtype;
  protocol: { side: 'left' | 'right'; cache_layout: string; description: string };
  /** What runs the graph: the direct runtime (onnxruntime's C API, KV cache in place) or onnxruntime-node. */
  runtime: {
    name: 'direct' | 'onnxruntime-node';
    onnxruntime_version: string;
    kv_handling: string;
    fallback_reason: string | null;
    session_options?: SessionOptionsDescription;
  };
  /** null with --no-derived-graph. */
  derived_graph?: DerivedGraphDescription | null;
  context_length: number;
  vocab_size: number;
  /** From config.json (null when a key is missing). */
  dims: Record<'layers' | 'hidden_size' | 'heads' | 'kv_heads' | 'head_dim' | 'intermediate_size', number | null>;
  graph: {
    file_bytes: number;
    layers: number;
    has_attention_mask: boolean;
    has_position_ids: boolean;
    has_logits_to_keep: boolean;
    external_data_bytes: number;
    op_types?: Record<string, number>;
    inputs?: TensorInfo[];
    outputs?: TensorInfo[];
  };
  special_tokens: {
    eos: TokenDescription[];
    pad: TokenDescription | null;
    /** The id qwen-gen writes at padded positions (masked, never read). */
    fill: TokenDescription;
    chat_eos: TokenDescription | null;
    tokenizer_padding_side: 'left' | 'right' | null;
    eos_sources: TokenSource[];
    pad_sources: TokenSource[];
  };
}

/** `io` adds the graph's inputs, outputs and op counts (inspect shows them; the run report leaves them out). */
export function describeModel(model: ModelDescriptionSource, options: { io?: boolean } = {}): ModelDescription {
  const { folder, graph, tokens } = model;
  const configNumber = (key: string) => (typeof folder.config[key] === 'number' ? (folder.config[key] as number) : null);
  const token = (id: number): TokenDescription => ({ id, text: tokenText(model, id) ?? null });
  const chatEos = tokenIdOf(model.tokenizer, '<|im_end|>');
  const description: ModelDescription = {
    spec: model.spec,
    dir: folder.dir,
    onnx_file: path.relative(folder.dir, folder.onnxPath),
    model_type: typeof folder.config.model_type === 'string' ? folder.config.model_type : null,
    attention: graph.attention,
    rotary: graph.rotary,
    kv_dtype: graph.kvDtype,
    protocol: { side: model.protocol.side, cache_layout: model.protocol.layout.name, description: model.protocol.description },
    runtime: {
      name: model.runtime.name,
      onnxruntime_version: model.runtime.version,
      kv_handling: model.runtime.kvHandling,
      fallback_reason: model.runtime.fallbackReason ?? null,
      ...(model.runtime.session
        ? {
            session_options: {
              threads: model.runtime.session.threads,
              prepacking: model.runtime.session.prepacking,
              intra_op_spinning: model.runtime.session.intraOpSpinning,
              config_entries: model.runtime.session.configEntries,
            },
          }
        : {}),
    },
    ...(model.derived !== undefined
      ? {
          derived_graph: model.derived && {
            file: model.derived.path === null ? null : path.relative(folder.dir, model.derived.path),
            rewrites: model.derived.rewrites.map((r) => ({ name: r.name, nodes: r.nodes, detail: r.detail })),
            reason: model.derived.reason ?? null,
          },
        }
      : {}),
    context_length: model.contextLength,
    vocab_size: model.vocabSize,
    dims: {
      layers: configNumber('num_hidden_layers'),
      hidden_size: configNumber('hidden_size'),
      heads: configNumber('num_attention_heads'),
      kv_heads: configNumber('num_key_value_heads'),
      head_dim: configNumber('head_dim'),
      intermediate_size: configNumber('intermediate_size'),
    },
    graph: {
      file_bytes: graph.fileBytes,
      layers: graph.numLayers,
      has_attention_mask: graph.hasAttentionMask,
      has_position_ids: graph.hasPositionIds,
      has_logits_to_keep: graph.hasLogitsToKeep,
      external_data_bytes: graph.externalData.bytes,
    },
    special_tokens: {
      eos: tokens.eosTokenIds.map(token),
      pad: tokens.padTokenId === null ? null : token(tokens.padTokenId),
      fill: token(model.fillTokenId),
      chat_eos: chatEos === undefined ? null : token(chatEos),
      tokenizer_padding_side: tokenizerPaddingSide(model),
      eos_sources: tokens.eosSources,
      pad_sources: tokens.padSources,
    },
  };
  if (options.io) {
    // The user's file's op types (what runs differs by the derived graph's rewrites, listed in derived_graph).
    description.graph.op_types = model.derived?.sourceOpTypes ?? graph.opTypes;
    description.graph.inputs = graph.inputs;
    description.graph.outputs = graph.outputs;
  }
  return description;
}
