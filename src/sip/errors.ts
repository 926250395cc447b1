// Coded failures: every bad input ends as a SIP status (requests) or a counted drop, with a
// reason from the one list (src/sip/reasons.ts).
import { Reason } from './reasons.js';

export class SipError extends Error {
  readonly phrase: string;
  constructor(
    readonly reason: Reason,
    phrase?: string, //                 reason phrase when not the reason's own
    readonly extraHeaders: string = '', // complete header lines added to the answer
    readonly status: number = reason.status, // 0 = drop silently (counted)
  ) {
    super(reason.code);
    this.phrase = phrase ?? reason.phrase ?? defaultPhrase(this.status);
  }
}

/** RFC 3261 21.4.13: a 415 lists what is accepted; the proxy reads bodies in no coding. */
const ACCEPT_415 = 'Accept-Encoding: identity\r\n';

/** Refuse a request with the reason's status (or drop it when the reason is a drop). */
export const refuse = (r: Reason, phrase?: string, extraHeaders?: string): SipError =>
  new SipError(r, phrase, extraHeaders ?? (r.status === 415 ? ACCEPT_415 : ''));

/** Drop a message, counted under the reason, whatever status a request would get. */
export const dropWith = (r: Reason): SipError => new SipError(r, undefined, '', 0);

export function defaultPhrase(status: number): string {
  switch (status) {
    case 200: return 'OK';
    case 400: return 'Bad Request';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'Not Found';
    case 416: return 'Unsupported URI Scheme';
    case 420: return 'Bad Extension';
    case 480: return 'Temporarily Unavailable';
    case 483: return 'Too Many Hops';
    case 500: return 'Server Internal Error';
    case 503: return 'Service Unavailable';
    case 505: return 'Version Not Supported';
    case 513: return 'Message Too Large';
    default: return 'Error';
  }
}
