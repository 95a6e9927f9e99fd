/** The element type of a KV cache: the graph declares it, the runtime allocates it, the tiny-model builder writes it. */
export type KvDtype = 'float32' | 'float16';
