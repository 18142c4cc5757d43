// Status codes returned across the boundary. The WebAssembly side never
// traps on input and never builds a message: it returns one of these and
// src/status.ts turns it into words.

// Rule parsing (add_rule) and building (build, attach).
export const OK: i32 = 0;
export const ERR_EMPTY: i32 = 1;
export const ERR_ADDRESS: i32 = 2;
export const ERR_PREFIX_SYNTAX: i32 = 3;
export const ERR_PREFIX_RANGE: i32 = 4;
export const ERR_NETMASK: i32 = 5;
export const ERR_NETMASK_FAMILY: i32 = 6;
export const ERR_RANGE_ORDER: i32 = 7;
export const ERR_RANGE_FAMILY: i32 = 8;
export const ERR_NO_MEMORY: i32 = 9;
export const ERR_STATE: i32 = 10;
export const ERR_IMAGE: i32 = 11;

// Lookups: a non-negative result is a value (0: no rule matched).
export const NOT_ADDRESS: i32 = -1;
