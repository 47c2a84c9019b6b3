/** The RPC method table, split per domain under `methods/`; this path stays for existing imports. */
export * from './methods/index.ts'
