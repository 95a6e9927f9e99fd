/** qwen-gen's commands, for "did you mean" on a mistyped one. */
export const COMMAND_NAMES = ['generate', 'inspect', 'merge', 'tiny-model', 'help'];
