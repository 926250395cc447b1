/* RTPproxy64's native datapath threads and sockets (issue 15); the rules are in path.c. */
#ifndef RTP64_WORKER_H
#define RTP64_WORKER_H
#include <stddef.h>
#include <sys/socket.h>

#include "path.h"
#include "uring.h"

#define MAX_THREADS 64

struct counters {
  uint64_t packets[2], bytes[2]; /* relayed out on side 0 (IPv4) and side 1 (IPv6) */
  uint64_t verdicts[V_COUNT];
};

struct relay;

/* media-io: how a worker moves packets (epoll: a recvmmsg and a sendmmsg a socket; io_uring:
 * each round's receives in one io_uring_enter, then its sends in one; auto: io_uring where
 * the kernel allows it). */
enum io_mode { IO_AUTO, IO_EPOLL, IO_URING };

struct worker {
  struct relay *r;
  pthread_t thread;
  int ep;
  int uring_ok;  /* this worker's ring is set up and has not failed */
  int uring_err; /* the errno its ring failed with at run time (set before uring_ok is cleared) */
  struct uring ring;
  struct counters c; /* written by this thread only */
};

#define RELAY_KIND 0x52454c59u /* "RELY": every external of the addon starts with its kind (watched.h too) */

struct relay {
  uint32_t kind; /* RELAY_KIND: a handle of another kind is refused, not read as a relay */
  struct path path;
  int stop; /* eventfd: wakes every worker to end */
  unsigned nthreads;
  struct worker w[MAX_THREADS];
  struct counters js; /* packets injected from the JavaScript thread, bind failures */
  int stopped;
  int uring_errno; /* why io_uring was not used (auto), 0 when every worker has it */
};

/* One datagram of an io_uring round (uring-round.c): where it came from and goes, its pair. */
#define SLOTS 128
struct slot {
  struct msghdr mh;
  struct iovec iov;
  struct sockaddr_storage from, to;
  struct pair *pr;
  int side, rtcp, len;
  int grp;  /* its socket's run of datagrams read with recvmmsg, or -1 */
  int send; /* decided: goes out */
};
struct epoll_event;
/* The readable sockets of one epoll_wait, read, decided and sent through the worker's ring;
 * 0, or the negative errno the ring failed with (the worker goes on with epoll). */
int round_uring(struct worker *w, const struct epoll_event *ev, int n, struct slot *sl, char *buf);

/* NULL on failure; with IO_URING, *err is io_uring's errno when it is off here. */
struct relay *relay_new(unsigned lo, unsigned hi, unsigned threads, enum latch latch, enum io_mode io, int *err);
/* How many workers move packets with io_uring now. */
unsigned relay_uring(const struct relay *r);
/* Why io_uring is not used: the kernel refused it at start, or a worker's ring failed; 0. */
int relay_uring_errno(const struct relay *r);
/* Tests only: every worker's ring fd becomes /dev/null, so its next io_uring_enter fails as
 * a kernel failure would (EOPNOTSUPP). Returns how many rings it broke. */
int relay_break_rings(struct relay *r);
void relay_stop(struct relay *r);
int relay_bind(struct relay *r, unsigned port, const struct ip local[2]);
void relay_unbind(struct relay *r, unsigned port);
int relay_inject(struct relay *r, unsigned port, int side, int rtcp, const struct hostport *src, void *buf, size_t len);
void relay_counters(struct relay *r, struct counters *sum);
#endif
