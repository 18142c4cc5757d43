/**
 * IpSet and IpMap: rules compiled once into a trie in WebAssembly memory,
 * then queried with one call per address.
 */
import { invalid, isList } from './errors.js';
import type { Matcher } from './matcher.js';
import { compileRules } from './rules.js';

function toList(where: string, items: unknown): unknown[] {
  if (typeof items === 'string') {
    throw invalid(
      'ERR_INVALID_RULE',
      `${where}: expected an iterable of rules, not a string; split it first`,
    );
  }
  if (!isList(items)) {
    throw invalid('ERR_INVALID_RULE', `${where}: expected an iterable of rules`);
  }
  return [...items];
}

// The matcher behind each set, for ProxyTrust to walk with; not public.
const matchers = new WeakMap<IpSet, Matcher>();

/** matcherOf returns the compiled matcher of `set`. */
export function matcherOf(set: IpSet): Matcher {
  return matchers.get(set)!;
}

/**
 * IpSet is an immutable set of IPv4 and IPv6 rules.
 *
 * A rule is an address (`192.0.2.1`, `2001:db8::1`), a prefix whose host bits
 * are cleared rather than refused (`10.1.2.3/8`, `/08` allowed), an IPv4
 * netmask or hostmask (`10.0.0.0/255.0.0.0`, `10.0.0.0/0.255.255.255`), or an
 * inclusive range of one family (`10.0.0.5-10.0.0.9`). IPv4-mapped rules of
 * length 96 or more (`::ffff:10.0.0.0/104`) are the IPv4 rules they spell;
 * shorter IPv6 rules, `::/0` included, never match IPv4.
 *
 * Memory: one WebAssembly instance per set, 64 KiB at least plus 9 to 130
 * bytes a prefix (measured by bench/match.bench.ts), reclaimed by the
 * garbage collector with the set.
 *
 * Limit: V8 reserves about 10 GiB of address space for every WebAssembly
 * memory, so a process can hold only some thousands of sets alive at once
 * (6,700 on a 2-core Linux machine); the next `from` throws a RangeError
 * from WebAssembly.Instance. Building and dropping sets has no such limit.
 * For thousands of lists, use one IpMap whose values name the list.
 */
export class IpSet {
  readonly #matcher: Matcher;
  readonly #rules: readonly string[];

  private constructor(matcher: Matcher, rules: readonly string[]) {
    this.#matcher = matcher;
    this.#rules = rules;
    matchers.set(this, matcher);
  }

  /**
   * from compiles `rules`. An empty iterable gives a set that holds nothing.
   * Throws a TypeError with code `ERR_INVALID_RULE` that quotes the first bad
   * rule and says what is wrong with it, e.g.
   * `IpSet.from("10.0.0.0/33"): prefix length 33 exceeds 32`.
   */
  static from(rules: Iterable<string>): IpSet {
    const list = toList('IpSet.from', rules);
    const matcher = compileRules('IpSet.from', list);
    return new IpSet(matcher, Object.freeze(list as string[]));
  }

  /** size is the number of rules the set was built from. */
  get size(): number {
    return this.#rules.length;
  }

  /** rules returns the rules as given, in order. */
  get rules(): readonly string[] {
    return this.#rules;
  }

  /**
   * has reports whether `addr` is an address inside one of the rules. It
   * never throws: anything that is not a strict address string is not in
   * the set. An IPv4-mapped address is looked up as IPv4; a zone is ignored.
   */
  has(addr: unknown): boolean {
    return this.#matcher.find(addr) > 0;
  }

  /**
   * match returns the rule with the longest prefix that holds `addr` (the
   * later one when two rules name the same prefix), or undefined.
   */
  match(addr: unknown): string | undefined {
    const value = this.#matcher.find(addr);
    return value > 0 ? this.#rules[value - 1] : undefined;
  }
}

/**
 * IpMap maps rules to values; `get` returns the value of the longest matching
 * prefix, as a router picks a route. When two entries name the same prefix
 * the later one wins, as in a Map. Rules are as for IpSet.
 */
export class IpMap<V> {
  readonly #matcher: Matcher;
  readonly #values: readonly V[];

  private constructor(matcher: Matcher, values: readonly V[]) {
    this.#matcher = matcher;
    this.#values = values;
  }

  /**
   * from compiles `entries` of `[rule, value]`. Throws as `IpSet.from` does,
   * naming `IpMap.from`.
   */
  static from<V>(entries: Iterable<readonly [string, V]>): IpMap<V> {
    const list = toList('IpMap.from', entries);
    const rules: unknown[] = [];
    const values: V[] = [];
    for (const entry of list) {
      if (!Array.isArray(entry)) {
        throw invalid('ERR_INVALID_RULE', 'IpMap.from: each entry must be a [rule, value] pair');
      }
      rules.push(entry[0]);
      values.push(entry[1] as V);
    }
    return new IpMap(compileRules('IpMap.from', rules), values);
  }

  /** size is the number of entries the map was built from. */
  get size(): number {
    return this.#values.length;
  }

  /** get returns the value for `addr`, or undefined; it never throws. */
  get(addr: unknown): V | undefined {
    const value = this.#matcher.find(addr);
    return value > 0 ? this.#values[value - 1] : undefined;
  }
}
