/* RTPproxy64's native datapath threads and sockets (issue 15); the rules are in path.c. */
#ifndef RTP64_WORKER_H
#define RTP64_WORKER_H
#include <stddef.h>
#include <sys/socket.h>

#include "path.h"

#define MAX_THREADS 64

struct counters {
  uint64_t packets[2], bytes[2]; /* relayed out on side 0 (IPv4) and side 1 (IPv6) */
  uint64_t verdicts[V_COUNT];
};

struct relay;

struct worker {
  struct relay *r;
  pthread_t thread;
  int ep;
  struct counters c; /* written by this thread only */
};

struct relay {
  struct path path;
  int stop; /* eventfd: wakes every worker to end */
  unsigned nthreads;
  struct worker w[MAX_THREADS];
  struct counters js; /* packets injected from the JavaScript thread, bind failures */
  int stopped;
};

struct relay *relay_new(unsigned lo, unsigned hi, unsigned threads, enum latch latch);
void relay_stop(struct relay *r);
int relay_bind(struct relay *r, unsigned port, const struct ip local[2]);
void relay_unbind(struct relay *r, unsigned port);
int relay_inject(struct relay *r, unsigned port, int side, int rtcp, const struct hostport *src, void *buf, size_t len);
void relay_counters(struct relay *r, struct counters *sum);
#endif
