// Outbound-proxy operation: a registrar outside accepted a LAN phone's REGISTER. Its 2xx lists
// the contacts we wrote (our public address, the phone in ;sp64n=); remember each phone by
// the contact's user part, for requests that come back without the parameter.
import { SipMessage } from '../sip/message.js';
import { parseUri, userOf } from '../sip/uri.js';
import type { Engine } from '../core/engine.js';
import { contactsOf } from '../registrar/registrar.js';
import { Nat } from './nat.js';

export function learnRegistration(eng: Engine, m: SipMessage, callId: string, cseq: number): void {
  const nat = eng.nat as Nat;
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
  if (found.length) eng.registrar?.learn(m, found, callId, cseq);
}
