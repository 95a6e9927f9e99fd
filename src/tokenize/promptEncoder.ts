import { randomBytes } from 'node:crypto';
import { encodePieces, TextPiece } from './literalText';
import { Tokenizer } from './tokenizer';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface PromptSource {
  prompt?: string;
  messages?: ChatMessage[];
}

export interface EncodeOptions {
  /** Qwen3's `enable_thinking` chat-template switch (false appends an empty think block). */
  enableThinking: boolean;
  /**
   * Tokenize special-token text typed inside message content (and the whole of a raw prompt) as plain text, so that
   * `<|im_end|>` in content becomes several ordinary tokens; the chat template's own control tokens stay special.
   * Assistant messages are left to the template: their `<think>` blocks are the model's own markup, which the template
   * parses (it strips reasoning from earlier turns).
   */
  escapeSpecialTokens?: boolean;
}

/** Roles whose content is escaped by `escapeSpecialTokens`. */
export const ESCAPED_ROLES: ReadonlySet<string> = new Set(['system', 'user', 'tool']);

/**
 * Turns a request into prompt token ids: chat `messages` through the model's chat template with the assistant generation
 * prompt; a raw `prompt` as is (Qwen3 adds no BOS).
 */
export function encodePrompt(tokenizer: Tokenizer, source: PromptSource, options: EncodeOptions): number[] {
  if (options.escapeSpecialTokens) return encodePieces(tokenizer, escapedPieces(tokenizer, source, options));
  const text = source.messages ? renderChat(tokenizer, source.messages, options) : (source.prompt ?? '');
  return tokenizer.encode(text, { add_special_tokens: false });
}

function renderChat(tokenizer: Tokenizer, messages: ChatMessage[], options: EncodeOptions): string {
  return tokenizer.apply_chat_template(messages as unknown as Parameters<Tokenizer['apply_chat_template']>[0], {
    tokenize: false,
    add_generation_prompt: true,
    enable_thinking: options.enableThinking,
  } as Parameters<Tokenizer['apply_chat_template']>[1]) as string;
}

/**
 * The template is rendered with a unique placeholder in place of each escaped message's content; the rendered text is then
 * cut at the placeholders, so template text and content text reach the encoder as separate pieces.
 */
function escapedPieces(tokenizer: Tokenizer, source: PromptSource, options: EncodeOptions): TextPiece[] {
  if (!source.messages) return [{ text: source.prompt ?? '', literal: true }];
  const nonce = randomBytes(6).toString('hex');
  const marker = (i: number) => `\u27e6qwen-gen-${nonce}-${i}\u27e7`;
  const markerPattern = new RegExp(`\u27e6qwen-gen-${nonce}-(\\d+)\u27e7`, 'g');
  const withMarkers = source.messages.map((message, i) =>
    ESCAPED_ROLES.has(message.role) ? { ...message, content: marker(i) } : message,
  );
  const rendered = renderChat(tokenizer, withMarkers, options);
  const pieces: TextPiece[] = [];
  let last = 0;
  for (const match of rendered.matchAll(markerPattern)) {
    pieces.push({ text: rendered.slice(last, match.index), literal: false });
    pieces.push({ text: source.messages[Number(match[1])].content, literal: true });
    last = match.index + match[0].length;
  }
  pieces.push({ text: rendered.slice(last), literal: false });
  return pieces;
}
