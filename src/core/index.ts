/** The event model: types, enumerations, ids, time, numbers, policy, validation, building. */
export * from './builder.ts';
export * from './clock.ts';
export * from './decimal.ts';
export * from './enums.ts';
export * from './errors.ts';
export * from './event-types.ts';
export * from './policy.ts';
export * from './timestamp.ts';
export type * from './types.ts';
export * from './uuidv7.ts';
export * from './validate.ts';
