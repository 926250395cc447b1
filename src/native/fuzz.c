/* Fuzzing the packet entry of the native datapath (issue 15): random pair states, sources
 * and re-offers into rtp64_decide, built with AddressSanitizer and UBSan by
 * t/unit/daemon/native.ts. Checks the rules of SPEC 11 on every packet:
 *   - a packet is relayed only to the other side's latched source or its party's address;
 *   - under rtp-latch strict, only the party's own addresses latch;
 *   - nothing is relayed from a pair without a stream.
 * Usage: fuzz ITERATIONS SEED; prints the count of each verdict; exit 1 on a broken rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

static uint64_t state;

static uint32_t rnd(uint32_t n) { /* xorshift64*, deterministic for a seed */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (uint32_t)((state * 2685821657736338717ULL) >> 33) % n;
}

/* A few addresses, so that sources, parties and our own addresses collide often. */
static void pick_ip(struct ip *ip, int family) {
  memset(ip, 0, sizeof *ip);
  ip->family = (uint8_t)family;
  if (family == 4) {
    ip->a[0] = 192, ip->a[1] = 0, ip->a[2] = 2, ip->a[3] = (uint8_t)(1 + rnd(4));
  } else {
    ip->a[0] = 0x20, ip->a[1] = 0x01, ip->a[2] = 0x0d, ip->a[3] = 0xb8;
    ip->a[7] = (uint8_t)rnd(2);  /* two /64s */
    ip->a[15] = (uint8_t)(1 + rnd(4));
  }
}

static void pick_party(struct party *p, int family, uint16_t lo) {
  memset(p, 0, sizeof *p);
  if (rnd(5) == 0) return; /* no party yet */
  p->present = 1;
  if (rnd(6)) pick_ip(&p->addr, family);
  if (rnd(4)) pick_ip(&p->signal, family);
  p->rtp = (uint16_t)(rnd(3) ? 4000 + 2 * rnd(3) : lo + 2 * rnd(4)); /* sometimes a relay port */
  p->rtcp = (uint16_t)(p->rtp + 1);
  p->mux = (uint8_t)rnd(2);
  p->trusted = (uint8_t)(rnd(4) == 0);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  state = argc > 2 ? strtoull(argv[2], NULL, 10) | 1 : 88172645463325252ULL;
  unsigned long verdicts[V_COUNT] = {0};
  for (int mode = LATCH_STRICT; mode <= LATCH_OFF; mode++) {
    struct path p;
    if (path_init(&p, 30000, 30006, (enum latch)mode) < 0) return 2;
    struct ip own4, own6;
    pick_ip(&own4, 4);
    pick_ip(&own6, 6);
    path_own(&p, &own4);
    path_own(&p, &own6);
    for (long i = 0; i < n / 4; i++) {
      struct pair *pr = &p.pairs[rnd(p.npairs)];
      pr->bound = (uint8_t)(rnd(8) != 0);
      if (rnd(50) == 0 || !pr->active) {
        struct party np[2];
        pick_party(&np[0], 4, p.lo);
        pick_party(&np[1], 6, p.lo);
        if (rnd(3)) path_set_parties(pr, np, rnd(4) == 0 || !pr->active);
        if (rnd(20) == 0) pr->active = 0;
      }
      int side = (int)rnd(2), rtcp = (int)rnd(2);
      struct hostport src = {.port = (uint16_t)(rnd(4) ? 4000 + rnd(6) : p.lo + rnd(8))};
      pick_ip(&src.ip, side ? 6 : 4);
      struct hostport before = pr->latched[side][rtcp], other = pr->latched[!side][rtcp], dst;
      int active = pr->active;
      memset(&dst, 0, sizeof dst);
      int v = rtp64_decide(&p, pr, side, rtcp, &src, &dst);
      if (v < 0 || v >= V_COUNT) return fprintf(stderr, "verdict %d out of range\n", v), 1;
      /* The quality count (issue 19) on a random packet of random length, at a random time. */
      uint8_t pkt[40];
      for (unsigned b = 0; b < sizeof pkt; b++) pkt[b] = (uint8_t)rnd(256);
      if (rnd(2)) pkt[0] = 0x80;
      path_observe(pr, side, rtcp, v, &src, pkt, rnd(sizeof pkt + 1), (int64_t)(i * 20000 + (long)rnd(40000)));
      if (pr->q[side].jitter < 0 || pr->q[side].jitter != pr->q[side].jitter) return fprintf(stderr, "jitter %f\n", pr->q[side].jitter), 1;
      verdicts[v]++;
      if (v != V_SEND) continue;
      const struct party *to = &pr->party[!side];
      int to_latched = other.ip.family && ip_eq(&dst.ip, &other.ip) && dst.port == other.port;
      int to_party = !other.ip.family && ip_eq(&dst.ip, &to->addr) && (dst.port == to->rtp || dst.port == to->rtcp);
      if (!active) return fprintf(stderr, "relayed from a pair without a stream\n"), 1;
      if (!to_latched && !to_party) return fprintf(stderr, "relayed to an address that is neither latched nor the party's\n"), 1;
      const struct party *from = &pr->party[side];
      if (mode == LATCH_STRICT && !before.ip.family && !ip_eq(&src.ip, &from->addr) && !ip_eq(&src.ip, &from->signal))
        return fprintf(stderr, "a stranger latched under strict\n"), 1;
    }
    path_free(&p);
  }
  static const char *names[V_COUNT] = {"sent", "no-session", "no-party", "foreign-source", "no-peer-yet", "peer-unproven", "loop", "socket-error"};
  for (int v = 0; v < V_COUNT; v++) printf("%s %lu\n", names[v], verdicts[v]);
  return 0;
}
