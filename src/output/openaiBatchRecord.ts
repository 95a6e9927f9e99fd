import { createHash } from 'node:crypto';
import { CompletedRequest, FailedRequest, withExtra } from './completionRecord';

/**
 * OpenAI Batch API output lines: `{"id", "custom_id", "response": {"status_code", "request_id", "body": chat.completion},
 * "error"}`. Ids are derived from the settings fingerprint and custom_id, and `created` is 0, so a rerun writes the same
 * bytes (OpenAI's own ids and timestamps are random; nothing downstream should depend on them).
 */
function stableId(prefix: string, ...parts: (string | number)[]): string {
  return prefix + createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);
}

export function openaiBatchRecord(done: CompletedRequest, model: string): Record<string, unknown> {
  const customId = done.customId ?? String(done.id);
  const completionTokens = done.samples.reduce((sum, s) => sum + s.tokenIds.length, 0);
  const body: Record<string, unknown> = {
    id: stableId('chatcmpl-', done.settings, customId),
    object: 'chat.completion',
    created: 0,
    model,
    choices: done.samples.map((sample, index) => {
      const message: Record<string, unknown> = { role: 'assistant', content: sample.text };
      if (sample.reasoning !== null) message.reasoning_content = sample.reasoning;
      return {
        index,
        message,
        logprobs: sample.logprobs
          ? {
              content: sample.logprobs.map((entry) => ({
                token: entry.token,
                logprob: entry.logprob,
                bytes: [...Buffer.from(entry.token, 'utf8')],
                top_logprobs: entry.top_logprobs.map((alt) => ({ token: alt.token, logprob: alt.logprob, bytes: [...Buffer.from(alt.token, 'utf8')] })),
              })),
            }
          : null,
        finish_reason: sample.finishReason,
      };
    }),
    usage: { prompt_tokens: done.promptTokens, completion_tokens: completionTokens, total_tokens: done.promptTokens + completionTokens },
    system_fingerprint: `qwen-gen-${done.settings}`,
  };
  return withExtra(
    {
      id: stableId('batch_req_', done.settings, customId),
      custom_id: customId,
      response: { status_code: 200, request_id: stableId('req_', done.settings, customId), body },
      error: null,
    },
    done.extra,
  );
}

export function openaiBatchErrorRecord(failed: FailedRequest): Record<string, unknown> {
  const customId = failed.customId ?? (failed.id === undefined ? null : String(failed.id));
  return {
    id: stableId('batch_req_', failed.settings ?? '', customId ?? `index:${failed.index}`),
    custom_id: customId,
    response: null,
    error: { code: failed.code, message: failed.message },
  };
}
