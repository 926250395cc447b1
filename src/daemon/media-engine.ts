// media-engine rtpengine in the daemon: the core's 'media' actions go to the engine of their
// call, what comes back is delivered; the engines' statistics are read every 10 s for
// `status` and the metrics. Nothing here throws past the action: a failure is a 503 or a
// counted drop decided by the core's then().
import { Config } from '../config/config.js';
import { Engine } from '../core/engine.js';
import { Action } from '../core/types.js';
import { Logger } from './log.js';
import { NgClient } from './ng.js';
import { R } from '../sip/reasons.js';

export class MediaEngine {
  readonly client: NgClient;
  private readonly timer: NodeJS.Timeout;

  constructor(cfg: Config, private readonly engine: Engine, private readonly log: Logger) {
    this.client = new NgClient(cfg.rtpengines, { onIgnored: () => engine.countDrop(R.mediaEngineStranger) });
    const poll = (): void => {
      void this.client.poll().catch(() => {});
      for (const a of engine.ngSweep()) this.handle(a, () => {}); // a delete or query sends nothing on
    };
    poll();
    this.timer = setInterval(poll, 10_000);
    this.timer.unref();
  }

  /** Offers and answers being asked, by what they ask: a retransmission waits for the first. */
  private readonly inflight = new Set<string>();

  handle(a: Extract<Action, { type: 'media' }>, deliver: (x: Action[]) => void): void {
    // The phone retransmits while the engine is asked (a failover takes a second): the first
    // copy goes on once answered; a second one would arrive after it, out of order, so it is
    // dropped here and the phone's next retransmission, if any, finds the call set up.
    const id = a.then ? `${a.key}\n${String(a.ng.command)}\n${String(a.ng['from-tag'])}\n${String(a.ng['to-tag'] ?? '')}\n${String(a.ng.sdp)}` : null;
    if (id !== null && this.inflight.has(id)) {
      this.engine.countDrop(R.mediaEngineBusy);
      return;
    }
    if (id !== null) this.inflight.add(id);
    void this.client.request(a.key, a.ng).finally(() => id !== null && this.inflight.delete(id)).then((r) => {
      const sdp = r && r.result === 'ok' && typeof r.sdp === 'string' ? r.sdp : null;
      if (r === null) {
        this.engine.count(`media-engine-timeout:${a.ng.command}`);
        this.log.warn('no rtpengine answered', { command: String(a.ng.command), callId: a.key });
      }
      // A call the engine ended by its own timeout is unknown to it (rtpengine: "Unknown call-id").
      const gone = r !== null && r.result !== 'ok' && /unknown call/i.test(String(r['error-reason'] ?? ''));
      if (r !== null && r.result !== 'ok' && a.ng.command !== 'delete' && !(gone && a.ng.command === 'query')) this.log.warn('rtpengine refused', { command: String(a.ng.command), callId: a.key, reason: String(r['error-reason'] ?? r.result) });
      if (a.held) a.held(r === null ? null : r.result === 'ok' ? true : gone ? false : null);
      if (a.then) deliver(a.then(sdp));
    }).catch((err: Error) => {
      this.engine.count('internal-error');
      this.log.error('media engine step failed (a bug: please report it with this line)', { error: err.stack });
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.client.close();
  }
}
