export interface ResolvedIssuersOptions {
  readonly allowHttpLoopback: boolean;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export const DEFAULT_ISSUERS_OPTIONS: ResolvedIssuersOptions = {
  allowHttpLoopback: false,
  timeoutMs: 5000,
  maxResponseBytes: 256 * 1024,
};
