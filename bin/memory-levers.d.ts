// Types of bin/memory-levers.js (a launcher file, plain JavaScript so it runs before anything is
// compiled), for the tests and benches that read its values (node/ may not import bin/: the service command
// reads them at run time, test/architecture.test.ts).
export declare const SEMI_SPACE_FLAG: string
export declare const MALLOC_ARENA_MAX: string
export declare const MEMORY_LEVER_ENVIRONMENT: Readonly<{ NODE_OPTIONS: string; MALLOC_ARENA_MAX: string }>
export declare function relaunchWithMemoryLevers(): void
export declare function startsNode(argv: readonly string[]): boolean
