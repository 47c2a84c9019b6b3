/** Shared context: signed context frames and the batches they travel in. */
export * from './batch.ts'
export * from './batch-proof.ts'
export * from './constants.ts'
export * from './frame.ts'
export { acceptBatchedFrameFast } from './frame-fast-path.ts'
