// cidr-matcher ships no types; this is the part the benchmarks call.
declare module 'cidr-matcher' {
  export default class CidrMatcher {
    constructor(rules?: string[]);
    contains(addr: string): boolean;
  }
}
