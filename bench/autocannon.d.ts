// autocannon ships no types; this is the part bench/load.ts calls.
declare module 'autocannon' {
  /** Request is one entry of `requests`. */
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
  }
  /** Client is one connection, as `setupClient` receives it. */
  interface Client {
    setRequests(requests: Request[]): void;
  }
  interface Options {
    url: string;
    connections?: number;
    pipelining?: number;
    duration?: number;
    headers?: Record<string, string>;
    requests?: Request[];
    setupClient?: ((client: Client) => void) | undefined;
  }
  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    p50: number;
    p99: number;
    total: number;
  }
  interface Result {
    requests: Histogram;
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
  }
  function autocannon(options: Options): Promise<Result>;
  namespace autocannon {
    export type { Client, Request };
  }
  export default autocannon;
}
