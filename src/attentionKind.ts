/** The two attention styles an exported Qwen3 graph can use (NOTES.md "Two attention styles"). */
export type AttentionKind = 'plain' | 'gqa';

/** The one wording of why the padding side matters, shared by inspect, the findings, the Markdown report and --help. */
export const GQA_NEEDS_RIGHT_PADDING = 'GroupQueryAttention (com.microsoft contrib op) needs right padding';
