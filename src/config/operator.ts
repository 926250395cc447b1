// The directives of running it beside others and watching it (sipproxy64(8) MEDIA ENGINE,
// TROUBLESHOOTING): media-engine, secret, hep, call-log.
import { parseHostPort } from '../net/addr.js';
import type { Config } from './config.js';
import { ConfigError, int } from './values.js';

/** Apply one of these directives; false when `name` is none of them. */
export function applyOperatorDirective(cfg: Config, where: string, name: string, args: string[], one: () => string): boolean {
  switch (name) {
    case 'secret': cfg.secret = one(); return true;
    case 'call-log': cfg.callLog = one(); return true;
    case 'hep': {
      // hep ADDR:PORT [ID]: HEPv3 copies of every SIP message to a collector (Homer, sngrep -L)
      const hp = parseHostPort(args[0] ?? '');
      if (!hp || args.length > 2 || !/:\d+$/.test(args[0])) throw new ConfigError(where, 'hep takes ADDR:PORT [CAPTURE-ID] (a Homer collector, 127.0.0.1:9060)');
      cfg.hep = { to: hp, id: args[1] === undefined ? 64 : int(where, args[1], 0, 4294967295) };
      return true;
    }
    case 'media-engine': {
      // media-engine embedded | rtpengine ADDR:PORT [ADDR:PORT...] (its ng protocol, UDP)
      if (args.length === 1 && args[0] === 'embedded') cfg.rtpengines = [];
      else if (args[0] === 'rtpengine' && args.length >= 2 && args.length <= 9) {
        cfg.rtpengines = args.slice(1).map((x) => {
          const hp = parseHostPort(x);
          if (!hp || !/:\d+$/.test(x)) throw new ConfigError(where, `an rtpengine is ADDR:PORT (its listen-ng), got "${x}"`);
          return hp;
        });
      } else throw new ConfigError(where, 'media-engine takes embedded, or rtpengine ADDR:PORT [ADDR:PORT...] (up to 8)');
      return true;
    }
    default:
      return false;
  }
}
