// Outbound-proxy operation: a registrar outside accepted a LAN phone's REGISTER. Its 2xx lists
// the contacts we wrote (our public address, the phone in ;sp64n=); remember each phone by
// the contact's user part, for requests that come back without the parameter.
import { contactsOf } from '../sip/fields.js';
import { SipMessage } from '../sip/message.js';
import { parseUri, userOf } from '../sip/uri.js';
import { Nat } from './nat.js';
import { Registrar } from './registrar.js';

export function learnRegistration(nat: Nat, reg: Registrar, m: SipMessage, callId: string, cseq: number): void {
  const found = [];
  let list;
  try {
    list = contactsOf(m);
  } catch {
    return; // a malformed Contact in a response teaches nothing
  }
  for (const c of list) {
    const u = c.uri === '*' ? null : parseUri(c.uri, 0, c.uri.length);
    const phone = u ? nat.tokenOf(c.uri, u) : null;
    const user = u ? userOf(c.uri, u) : null;
    if (u && phone && user) found.push({ user, phone, expires: c.expires });
  }
  if (found.length) reg.learn(m, found, callId, cseq);
}
