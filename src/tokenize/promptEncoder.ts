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
}

/**
 * Turns a request into prompt token ids: chat `messages` through the model's chat template with the assistant generation
 * prompt; a raw `prompt` as is (Qwen3 adds no BOS).
 */
export function encodePrompt(tokenizer: Tokenizer, source: PromptSource, options: EncodeOptions): number[] {
  const text = source.messages
    ? (tokenizer.apply_chat_template(source.messages as unknown as Parameters<Tokenizer['apply_chat_template']>[0], {
        tokenize: false,
        add_generation_prompt: true,
        enable_thinking: options.enableThinking,
      } as Parameters<Tokenizer['apply_chat_template']>[1]) as string)
    : (source.prompt ?? '');
  return tokenizer.encode(text, { add_special_tokens: false });
}
