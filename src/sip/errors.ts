// Coded failures: every bad input ends as a SIP status (requests) or a counted drop.

export class SipError extends Error {
  constructor(
    readonly status: number, // SIP status to answer with; 0 = drop silently (counted)
    readonly reason: string, // short code for counters and logs, e.g. "bad-via"
    readonly phrase: string = defaultPhrase(status),
    readonly extraHeaders: string = '', // complete header lines added to the answer
  ) {
    super(reason);
  }
}

export function defaultPhrase(status: number): string {
  switch (status) {
    case 400: return 'Bad Request';
    case 403: return 'Forbidden';
    case 416: return 'Unsupported URI Scheme';
    case 420: return 'Bad Extension';
    case 483: return 'Too Many Hops';
    case 500: return 'Server Internal Error';
    case 503: return 'Service Unavailable';
    case 505: return 'Version Not Supported';
    case 513: return 'Message Too Large';
    default: return 'Error';
  }
}

export const bad = (reason: string, phrase?: string): SipError => new SipError(400, reason, phrase ?? 'Bad Request');
