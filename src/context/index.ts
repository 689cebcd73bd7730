/** Trace context: the AsyncLocalStorage-backed trace store, trace headers, and the cls-style namespace facade. */
export * from './namespace.ts';
export * from './trace-header.ts';
export * from './trace-store.ts';
