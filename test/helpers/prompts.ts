/**
 * Chat prompts of very different token lengths (from a few tokens to well over 200), with CJK, emoji and an empty
 * user message among them: the batch-invariance corpus.
 */
export const VARIED_MESSAGES: { role: string; content: string }[][] = [
  [{ role: 'user', content: '' }],
  [{ role: 'user', content: 'Hi' }],
  [{ role: 'user', content: '你好，请介绍一下你自己。' }],
  [{ role: 'user', content: 'Emoji test 🙂🙃🚀🇫🇷 — what do these mean?' }],
  [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Name three prime numbers.' }],
  [{ role: 'user', content: 'Write a haiku about onnxruntime and batching.' }],
  [{ role: 'user', content: '東京の天気はどうですか？日本語で答えてください。' }],
  [{ role: 'user', content: 'Explain KV caches. '.repeat(12) }],
  [{ role: 'user', content: 'Summarise: ' + 'The quick brown fox jumps over the lazy dog. '.repeat(25) }],
  [{ role: 'user', content: 'x' }],
  [{ role: 'user', content: 'List the steps of a transformer forward pass, one per line, with details about attention masks.' }],
  [{ role: 'assistant', content: 'Previously I said hello.' }, { role: 'user', content: 'And now?' }],
  [{ role: 'user', content: '数学: 1+1=? 2+2=? 3+3=? ' + '计算 '.repeat(30) }],
];

/** Raw (non-chat) prompts, including a single token. */
export const RAW_PROMPTS: string[] = ['a', 'Once upon a time', 'def fibonacci(n):\n    '];
