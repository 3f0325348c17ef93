/** How the server talks to third-party issuers: `appKeys({ issuers })` once checked and defaulted. */
export interface ResolvedIssuersOptions {
  /**
   * Lets an issuer and its endpoints use plain http when the host is a loopback literal (127.0.0.0/8,
   * ::1, localhost): for development and tests. Everything else is https only, whatever this says.
   */
  readonly allowHttpLoopback: boolean;
  /** Bounds each remote call, from the connection to the last byte of the body. */
  readonly timeoutMs: number;
  /** A body larger than this is cut off and the call fails: metadata, tokens and key sets are small. */
  readonly maxResponseBytes: number;
}

export const DEFAULT_ISSUERS_OPTIONS: ResolvedIssuersOptions = Object.freeze({
  allowHttpLoopback: false,
  timeoutMs: 5000,
  maxResponseBytes: 256 * 1024,
});
