// Message bodies: application/sdp, also inside multipart/* (RFC 5621, RFC 2046 5.1).
import { unfold } from '../sip/message.js';
import { sdpEdits, SdpTarget } from '../sdp/rewrite.js';
import { Edits } from '../sip/edits.js';

function mediaType(ctype: string): string {
  const semi = ctype.indexOf(';');
  return (semi < 0 ? ctype : ctype.slice(0, semi)).trim().toLowerCase();
}

function boundaryOf(ctype: string): string | null {
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(ctype);
  return m ? m[1] ?? m[2] : null;
}

/**
 * Rewrite every SDP in text[s, e) whose content type is `ctype`. Records edits and returns
 * the change in body length (0 when nothing changed), or null when a stream got no relay port.
 */
export function rewriteBody(text: string, s: number, e: number, ctype: string, t: SdpTarget, edits: Edits, depth = 0): number | null {
  const type = mediaType(unfold(ctype));
  if (type === 'application/sdp') return sdpEdits(text, s, e, t, edits);
  if (!type.startsWith('multipart/') || depth > 3) return 0;
  const b = boundaryOf(ctype);
  if (!b) return 0;
  const delim = '--' + b;
  let delta = 0;
  let p = text.indexOf(delim, s);
  while (p >= 0 && p < e) {
    const after = p + delim.length;
    if (text.startsWith('--', after)) break; // close-delimiter
    const lineEnd = text.indexOf('\n', after);
    if (lineEnd < 0 || lineEnd >= e) break;
    const partStart = lineEnd + 1;
    let next = text.indexOf('\n' + delim, partStart - 1);
    if (next < 0 || next >= e) break;
    const partEnd = text.charCodeAt(next - 1) === 13 ? next - 1 : next; // the CRLF before a delimiter belongs to it
    // part headers end at the first empty line
    const hdrEnd = /\r?\n\r?\n/.exec(text.slice(partStart - 1, partEnd));
    let partType = 'text/plain';
    let bodyStart = partStart;
    if (hdrEnd && text.charCodeAt(partStart) !== 13 && text.charCodeAt(partStart) !== 10) {
      const headers = text.slice(partStart, partStart - 1 + hdrEnd.index);
      const ct = /(?:^|\n)(?:content-type|c)[ \t]*:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)/i.exec(headers);
      if (ct) partType = ct[1];
      // RFC 2045 6: a part in base64 or quoted-printable hides its SDP from us, not from the receiver.
      const te = /(?:^|\n)content-transfer-encoding[ \t]*:[ \t]*([^\r\n]*)/i.exec(headers);
      if (te && !/^(7bit|8bit|binary)\s*$/i.test(te[1]) && mediaType(unfold(partType)) === 'application/sdp') {
        t.malformed?.('encoding');
        return null;
      }
      bodyStart = partStart - 1 + hdrEnd.index + hdrEnd[0].length;
    } else {
      bodyStart = partStart + (text.charCodeAt(partStart) === 13 ? 2 : 1); // no part headers: text/plain
    }
    if (bodyStart <= partEnd) {
      const d = rewriteBody(text, bodyStart, partEnd, partType, t, edits, depth + 1);
      if (d === null) return null;
      delta += d;
    }
    p = next + 1;
  }
  return delta;
}
