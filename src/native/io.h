/* What both ways of moving packets (worker.c, uring-round.c) share: socket addresses to and
 * from the rules' form, and the per-thread counts. */
#ifndef RTP64_IO_H
#define RTP64_IO_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "worker.h"

#define MAX_DGRAM 65536

static inline void to_sockaddr(const struct hostport *hp, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (hp->ip.family == 4) {
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(hp->port);
    memcpy(&s->sin_addr, hp->ip.a, 4);
    *len = sizeof *s;
  } else {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(hp->port);
    memcpy(&s->sin6_addr, hp->ip.a, 16);
    *len = sizeof *s;
  }
}

static inline void from_sockaddr(const struct sockaddr_storage *ss, struct hostport *hp) {
  memset(hp, 0, sizeof *hp);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    hp->ip.family = 4;
    memcpy(hp->ip.a, &s->sin_addr, 4);
    hp->port = ntohs(s->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
    hp->ip.family = 6;
    memcpy(hp->ip.a, &s->sin6_addr, 16);
    hp->port = ntohs(s->sin6_port);
  }
}

static inline void count(struct counters *c, int verdict, int to, size_t len) {
  c->verdicts[verdict]++;
  if (verdict == V_SEND) {
    c->packets[to]++;
    c->bytes[to] += len;
  }
}

/* One datagram received on `side` of pair `pr` from `from`, under the rules of path.c: its
 * verdict, counted here unless it is V_SEND, and for V_SEND where it goes (`to`, `tolen`).
 * Both ways of moving packets decide through this, so they cannot drift apart. */
static inline int pass(struct worker *w, struct pair *pr, int side, int rtcp, const struct sockaddr_storage *from, const void *buf, size_t len, int64_t now,
                       struct sockaddr_storage *to, socklen_t *tolen) {
  struct hostport src, dst;
  from_sockaddr(from, &src);
  int v = src.ip.family ? rtp64_decide(&w->r->path, pr, side, rtcp, &src, &dst) : V_FOREIGN;
  path_observe(pr, side, rtcp, v, &src, buf, len, now);
  if (v != V_SEND) w->c.verdicts[v]++;
  else to_sockaddr(&dst, to, tolen);
  return v;
}

/* Send the batch out of `fd`; a datagram the kernel refuses is counted and skipped. */
static inline void send_batch(struct counters *c, struct pair *pr, int to, int fd, struct mmsghdr *out, int k) {
  int done = 0;
  while (done < k) {
    int m = sendmmsg(fd, out + done, (unsigned)(k - done), MSG_DONTWAIT);
    if (m > 0) {
      for (int i = done; i < done + m; i++) count(c, V_SEND, to, out[i].msg_hdr.msg_iov->iov_len);
      pr->sent[to] += (uint64_t)m;
      done += m;
    } else if (m < 0 && errno == EINTR) {
      continue;
    } else {
      c->verdicts[V_SOCKET_ERROR]++;
      done++;
    }
  }
}

#endif
