import { FinishedSequence, TokenChoice } from '../engine/sequence';
import { SampleResult } from './completionRecord';
import { TokenDecoder } from './incrementalDetokenizer';
import { splitReasoning } from './reasoningSplit';
import { SequenceOutput } from './sequenceOutput';
import { tokenLogprobs } from './tokenLogprobs';

/** One finished sequence as output/ sees it: its text cut where it stopped, why it stopped, its tokens and their choices. */
export interface FinishedSample {
  text: string;
  stopString: string | null;
  finishReason: FinishedSequence['finishReason'];
  stopTokenId?: number;
  tokenIds: number[];
  choices: TokenChoice[];
}

/** The engine reports tokens and the verdict; the sequence's own output processor holds the text it cut. */
export function finishedSample(sequence: FinishedSequence<unknown>, output: SequenceOutput): FinishedSample {
  return {
    text: output.textOf(sequence),
    stopString: output.stopString,
    finishReason: sequence.finishReason,
    stopTokenId: sequence.stopTokenId,
    tokenIds: sequence.tokenIds,
    choices: sequence.choices,
  };
}

export interface SampleResultOptions {
  /** Chat requests: split `<think>…</think>` off into `reasoning`. */
  splitReasoning: boolean;
  /** Format per-token logprobs (the request asked for logprobs). */
  logprobs: boolean;
  tokenizer: TokenDecoder;
}

/** A finished sample turned into the fields of an output record. */
export function sampleResult(sample: FinishedSample, options: SampleResultOptions): SampleResult {
  const split = options.splitReasoning ? splitReasoning(sample.text, { thinkingOpen: false }) : null;
  return {
    text: split ? split.text : sample.text,
    reasoning: split ? split.reasoning : null,
    reasoningUnfinished: split ? split.reasoningUnfinished : false,
    finishReason: sample.finishReason,
    tokenIds: sample.tokenIds,
    stopString: sample.stopString,
    stopTokenId: sample.stopTokenId,
    logprobs: options.logprobs ? tokenLogprobs(options.tokenizer, sample.choices) : undefined,
  };
}
