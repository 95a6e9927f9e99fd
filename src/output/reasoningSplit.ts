export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';

export interface ReasoningSplit {
  /** Text inside the think block, or null when the output has none. */
  reasoning: string | null;
  /** The answer: the text after `</think>` (or all of it when there is no think block). */
  text: string;
  /** A think block was opened but `</think>` never came (e.g. max_tokens hit while thinking). */
  reasoningUnfinished: boolean;
}

export interface ReasoningSplitOptions {
  /**
   * The prompt already opened the think block (the chat template put `<think>` at its end, as Qwen3 thinking
   * templates may), so the generated text starts inside it and carries only `</think>`.
   * See promptOpensThinking.
   */
  thinkingOpen?: boolean;
}

/**
 * Splits Qwen3 output into reasoning and answer. Whitespace follows Qwen3's own chat template (which strips
 * the same way when it re-renders an assistant turn): the reasoning loses its leading and trailing newlines,
 * the answer its leading newlines. The block ends at the first `</think>`. Without `thinkingOpen`, only a
 * `<think>` at the start of the output (after whitespace) opens a block; a stray tag elsewhere is answer text.
 */
export function splitReasoning(output: string, options: ReasoningSplitOptions = {}): ReasoningSplit {
  let body: string;
  const leading = output.trimStart();
  if (leading.startsWith(THINK_OPEN)) body = leading.slice(THINK_OPEN.length);
  else if (options.thinkingOpen) body = output;
  else return { reasoning: null, text: output, reasoningUnfinished: false };

  const close = body.indexOf(THINK_CLOSE);
  if (close < 0) return { reasoning: trimNewlines(body), text: '', reasoningUnfinished: true };
  return {
    reasoning: trimNewlines(body.slice(0, close)),
    text: body.slice(close + THINK_CLOSE.length).replace(/^\n+/, ''),
    reasoningUnfinished: false,
  };
}

/**
 * True when a rendered prompt ends with an opening `<think>` (trailing whitespace aside), so generation starts
 * inside the think block. Only the end counts: `<think>` typed in user content earlier must not.
 */
export function promptOpensThinking(promptText: string): boolean {
  return promptText.trimEnd().endsWith(THINK_OPEN);
}

function trimNewlines(text: string): string {
  return text.replace(/^\n+/, '').replace(/\n+$/, '');
}
