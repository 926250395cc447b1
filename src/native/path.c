/* The per-packet rules of RTPproxy64, the same as src/daemon/datapath-js.ts (SPEC 6, 11):
 * symmetric latching, foreign sources dropped, media only to proven addresses, no loops. */
#include "path.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mono_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* The RTP clocks there are; a measured rate snaps to the nearest. */
static const double RATES[] = {8000, 16000, 32000, 44100, 48000, 90000};

/* A packet of side `side` got `verdict`: count what the party sends (the latch accepted it),
 * or a foreign source. RTP (version 2, 12 bytes or more, not on the RTCP socket nor an RTCP
 * type on a muxed one, RFC 5761 4) feeds loss (RFC 3550 A.1) and jitter (A.8). */
void path_observe(struct pair *pr, int side, int rtcp, int verdict, const struct hostport *src, const uint8_t *data, size_t len, int64_t now_us) {
  struct quality *q = &pr->q[side];
  if (verdict == V_FOREIGN) {
    q->foreign++;
    q->foreign_src = *src;
    return;
  }
  if (verdict == V_NO_SESSION || verdict == V_NO_PARTY || verdict == V_SOCKET_ERROR) return;
  q->packets++;
  q->bytes += len;
  q->last_any_us = now_us;
  if (rtcp || len < 12 || (data[0] >> 6) != 2 || (data[1] >= 200 && data[1] <= 204)) return;
  uint32_t seq = (uint32_t)data[2] << 8 | data[3];
  uint32_t ts = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
  uint32_t ssrc = (uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 | (uint32_t)data[10] << 8 | data[11];
  uint32_t delta = (seq - q->max_seq) & 0xffff;
  /* RFC 3550 A.1: the first packet, a new SSRC or a jump past MAX_DROPOUT restarts the count. */
  if (q->rtp++ == 0 || ssrc != q->ssrc || (delta >= 3000 && delta <= 65536 - 100)) {
    q->ssrc = ssrc;
    q->rtp_base = q->rtp - 1;
    q->base_seq = q->max_seq = seq;
    q->cycles = 0;
    q->first_us = q->last_us = now_us;
    q->first_ts = q->last_ts = ts;
    if (q->rtp == 1) q->rate = 8000;
    return;
  }
  if (delta > 0 && delta < 3000) {
    if (seq < q->max_seq) q->cycles += 65536; /* wrapped */
    q->max_seq = seq;
  }
  double span = (double)(now_us - q->first_us) / 1e6;
  if (span >= 1.0) {
    double r = (double)(uint32_t)(ts - q->first_ts) / span, best = RATES[0];
    for (unsigned i = 1; i < sizeof RATES / sizeof RATES[0]; i++)
      if (fabs(RATES[i] - r) < fabs(best - r)) best = RATES[i];
    q->rate = best;
  }
  double d = (double)(now_us - q->last_us) / 1e6 * q->rate - (double)(int32_t)(ts - q->last_ts);
  q->jitter += (fabs(d) - q->jitter) / 16;
  q->last_us = now_us;
  q->last_ts = ts;
}

int ip_eq(const struct ip *a, const struct ip *b) {
  if (a->family == 0 || a->family != b->family) return 0;
  return memcmp(a->a, b->a, a->family == 4 ? 4 : 16) == 0;
}

static int hp_eq(const struct hostport *a, const struct hostport *b) {
  return a->port == b->port && ip_eq(&a->ip, &b->ip);
}

int path_init(struct path *p, uint16_t lo, uint16_t hi, enum latch latch) {
  memset(p, 0, sizeof *p);
  p->lo = lo;
  p->hi = hi;
  p->latch = latch;
  p->npairs = hi >= lo ? (uint32_t)(hi - lo) / 2 + 1 : 0;
  p->pairs = calloc(p->npairs ? p->npairs : 1, sizeof *p->pairs);
  if (!p->pairs) return -1;
  for (uint32_t i = 0; i < p->npairs; i++) {
    pthread_mutex_init(&p->pairs[i].lock, NULL);
    for (int s = 0; s < 2; s++) p->pairs[i].fd[s][0] = p->pairs[i].fd[s][1] = -1;
  }
  return 0;
}

void path_free(struct path *p) {
  for (uint32_t i = 0; i < p->npairs; i++) pthread_mutex_destroy(&p->pairs[i].lock);
  free(p->pairs);
  p->pairs = NULL;
  p->npairs = 0;
}

/* The pair whose RTP port is `port` (even, in range), or NULL. */
struct pair *path_pair(struct path *p, unsigned port) {
  if (port < p->lo || port > p->hi || (port - p->lo) % 2) return NULL;
  return &p->pairs[(port - p->lo) / 2];
}

void path_own(struct path *p, const struct ip *a) {
  uint32_t n = __atomic_load_n(&p->nown, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++)
    if (ip_eq(&p->own[i], a)) return;
  if (n == MAX_OWN) return;
  p->own[n] = *a;
  __atomic_store_n(&p->nown, n + 1, __ATOMIC_RELEASE);
}

/* A new stream (fresh) starts unlatched with zero counters; a re-offer that moves a party
 * forgets what was latched on its side (src/daemon/relay.ts update). Caller holds the lock. */
void path_set_parties(struct pair *pr, const struct party party[2], int fresh) {
  for (int s = 0; s < 2; s++) {
    const struct party *np = &party[s];
    if (fresh || (np->present && np->addr.family && pr->latched[s][0].ip.family && !ip_eq(&np->addr, &pr->latched[s][0].ip))) {
      memset(&pr->latched[s], 0, sizeof pr->latched[s]);
    }
    pr->party[s] = *np;
  }
  if (fresh) {
    memset(pr->q, 0, sizeof pr->q);
    pr->sent[0] = pr->sent[1] = 0;
    __atomic_store_n(&pr->rx, 0, __ATOMIC_RELAXED);
    pr->active = 1;
  }
}

/* SPEC 11: is addr:port one of the relay's own sockets (an address it binds, a pair it holds)? */
static int is_relay(struct path *p, const struct ip *a, unsigned port) {
  struct pair *pr = path_pair(p, port - port % 2);
  if (!pr || !__atomic_load_n(&pr->bound, __ATOMIC_RELAXED)) return 0;
  uint32_t n = __atomic_load_n(&p->nown, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++)
    if (ip_eq(&p->own[i], a)) return 1;
  return 0;
}

/* rtp-latch: strict, the party's advertised or signalling address; prefix, the same /64
 * (IPv6) as one of those; any, every first source. */
static int latches(enum latch mode, const struct ip *src, const struct party *party) {
  if (mode == LATCH_ANY || ip_eq(src, &party->addr) || ip_eq(src, &party->signal)) return 1;
  if (mode == LATCH_STRICT || src->family != 6) return 0;
  const struct ip *c[2] = {&party->addr, &party->signal};
  for (int i = 0; i < 2; i++)
    if (c[i]->family == 6 && memcmp(c[i]->a, src->a, 8) == 0) return 1;
  return 0;
}

/* One packet from `src` into side `side` of the pair: V_SEND with `dst`, or why not.
 * Caller holds pr->lock. */
int rtp64_decide(struct path *p, struct pair *pr, int side, int rtcp, const struct hostport *src, struct hostport *dst) {
  if (!pr->active) return V_NO_SESSION;
  const struct party *party = &pr->party[side];
  struct hostport *latched = &pr->latched[side][rtcp];
  /* Symmetric RTP: the first packet from the party's side latches its real source. */
  if (latched->ip.family) {
    if (!hp_eq(latched, src)) return V_FOREIGN;
  } else if (p->latch != LATCH_OFF) {
    if (!party->present) return V_NO_PARTY;
    if (!latches(p->latch, &src->ip, party)) return V_FOREIGN;
    *latched = *src;
  } else if (!party->present || (party->addr.family && !ip_eq(&party->addr, &src->ip))) {
    return V_FOREIGN;
  }
  __atomic_store_n(&pr->rx, pr->rx + 1, __ATOMIC_RELAXED); /* read without the lock by rx_of */
  const int to = !side;
  const struct party *other = &pr->party[to];
  if (pr->latched[to][rtcp].ip.family) {
    *dst = pr->latched[to][rtcp];
  } else {
    if (!other->present || !other->addr.family) return V_NO_PEER_YET;
    /* SPEC 11: only to an address that proved itself, a configured party's, or our own. */
    if (!ip_eq(&other->addr, &other->signal) && !other->trusted && !is_relay(p, &other->addr, other->rtp)) return V_UNPROVEN;
    dst->ip = other->addr;
    dst->port = rtcp && !other->mux ? other->rtcp : other->rtp;
  }
  /* SPEC 11: relay socket to relay socket would loop a packet for ever. */
  if (is_relay(p, &src->ip, src->port) && is_relay(p, &dst->ip, dst->port)) return V_LOOP;
  return V_SEND;
}
