/** The input side: JSONL request files in, validated requests and per-line errors out. */
export { InputFileError } from './errors';
export { readLines, readAllLines, DEFAULT_MAX_LINE_BYTES } from './lineReader';
export type { InputLine, InputSource, LineReaderOptions, LineStream } from './lineReader';
export { parseRequestLine, parseInputLine } from './parseRequest';
export type { ParsedLine } from './parseRequest';
export { RequestSequenceChecker } from './requestSequence';
export { readRequests, streamRequests } from './readRequests';
export type { ReadRequestsOptions, ReadRequestsResult, RequestStream } from './readRequests';
export { CHAT_ROLES, idKey } from './request';
export type {
  ChatMessage, ChatRole, GenerationRequest, InputError, InputErrorCode, InputFormat, InputWarning, RequestParams,
} from './request';
export { FORBIDDEN_KEYS } from './safeJson';
