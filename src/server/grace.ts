// The graces of the drain, in one small module: the supervisor budgets its deadlines with them
// without loading the HTTP server code (http2, tls) it never runs.

/** How long a keep-alive connection must stay idle during a drain before we close it. */
export const IDLE_GRACE_MS = 1000;
/**
 * A connection that has not sent a single byte yet was opened to send a request: its client is
 * about to, so it gets longer than a used keep-alive connection (still bounded by the deadline).
 */
export const FIRST_REQUEST_GRACE_MS = 5000;
