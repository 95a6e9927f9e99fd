import { Option } from 'commander';
import { RUNTIME_CHOICES } from '../runtime/createRunner';

/** `--runtime`: which onnxruntime binding runs the graph (README, Performance). */
export function runtimeOption(): Option {
  return new Option(
    '--runtime <runtime>',
    'what runs the graph: auto = the direct C-API runtime (KV cache in place) where it loads, else onnxruntime-node',
  )
    .choices([...RUNTIME_CHOICES])
    .default('auto')
    .env('QWEN_GEN_RUNTIME');
}
