// What the pure core returns: datagrams to send, or a counted drop.
import { Family, HostPort } from '../net/addr.js';
import type { Transport } from './transport.js';

export type Action =
  | { readonly type: 'send'; readonly from: HostPort; readonly to: HostPort; readonly data: string /* latin1 */; readonly transport: Transport }
  | { readonly type: 'drop'; readonly reason: string }
  // A host name to resolve first (masquerading); the daemon resolves it, then calls retry().
  | { readonly type: 'resolve'; readonly name: string; readonly family: Family; readonly retry: () => Action[] };

export const drop = (reason: string): Action => ({ type: 'drop', reason });
