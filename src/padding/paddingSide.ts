export type PaddingSide = 'left' | 'right';
