/* RTPproxy64's native datapath (issue 15): worker threads, each with its own epoll, move
 * packets between the sockets of each port pair, under the rules of path.c: with
 * recvmmsg/sendmmsg (media-io epoll), or a round at a time through io_uring (uring-round.c).
 * Pair i belongs to thread i % threads. JavaScript keeps the policy (src/daemon/relay.ts)
 * and reaches this file through addon.c. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "worker.h"
#include "io.h"

#define BATCH 32          /* datagrams per recvmmsg: one epoll round per socket, so a flood on one port cannot starve another */
#define STOP UINT32_MAX

/* One readable socket: up to BATCH datagrams in, the allowed ones out of the other side. */
static void on_readable(struct worker *w, struct pair *pr, int side, int rtcp, struct mmsghdr *in, struct sockaddr_storage *from, struct mmsghdr *out, struct sockaddr_storage *to_addr) {
  pthread_mutex_lock(&pr->lock);
  int fd = pr->fd[side][rtcp];
  int n = fd < 0 ? 0 : recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) w->c.verdicts[V_SOCKET_ERROR]++;
  int k = 0;
  int64_t now = n > 0 ? mono_us() : 0; /* one clock read a batch: the jitter's arrival time */
  for (int i = 0; i < n; i++) {
    if (pass(w, pr, side, rtcp, &from[i], in[i].msg_hdr.msg_iov->iov_base, in[i].msg_len, now, &to_addr[k], &out[k].msg_hdr.msg_namelen) != V_SEND) continue;
    out[k].msg_hdr.msg_iov = in[i].msg_hdr.msg_iov;
    out[k].msg_hdr.msg_iov->iov_len = in[i].msg_len;
    k++;
  }
  if (k > 0) send_batch(&w->c, pr, !side, pr->fd[!side][rtcp], out, k);
  pthread_mutex_unlock(&pr->lock);
  for (int i = 0; i < n; i++) {
    in[i].msg_hdr.msg_iov->iov_len = MAX_DGRAM;
    in[i].msg_hdr.msg_namelen = sizeof from[i];
  }
}

static void *work(void *arg) {
  struct worker *w = arg;
  struct mmsghdr in[BATCH], out[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage from[BATCH], to_addr[BATCH];
  char *buf = malloc((size_t)BATCH * MAX_DGRAM);
  if (!buf) return NULL;
  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = buf + (size_t)i * MAX_DGRAM;
    iov[i].iov_len = MAX_DGRAM;
    in[i].msg_hdr.msg_iov = &iov[i];
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &from[i];
    in[i].msg_hdr.msg_namelen = sizeof from[i];
    out[i].msg_hdr.msg_name = &to_addr[i];
    out[i].msg_hdr.msg_iovlen = 1;
  }
  struct epoll_event ev[64];
  struct slot *sl = NULL;
  char *ubuf = NULL;
  if (w->uring_ok) {
    sl = calloc(SLOTS, sizeof *sl);
    ubuf = malloc((size_t)SLOTS * MAX_DGRAM);
    if (!sl || !ubuf) w->uring_ok = 0;
  }
  for (;;) {
    int n = epoll_wait(w->ep, ev, 64, -1);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++)
      if (ev[i].data.u32 == STOP) goto end;
    if (w->uring_ok && n > 0) {
      int e = round_uring(w, ev, n, sl, ubuf);
      if (e == 0) continue;
      /* The ring failed: on with epoll. What the round had read is lost (counted); a socket
       * it had not read yet is still readable, and epoll reports it again at once. */
      __atomic_store_n(&w->uring_err, -e, __ATOMIC_RELAXED);
      __atomic_store_n(&w->uring_ok, 0, __ATOMIC_RELEASE);
      continue;
    }
    for (int i = 0; i < n; i++) {
      uint32_t d = ev[i].data.u32;
      on_readable(w, &w->r->path.pairs[d >> 2], (d >> 1) & 1, d & 1, in, from, out, to_addr);
    }
  }
end:
  free(ubuf);
  free(sl);
  free(buf);
  return NULL;
}


struct relay *relay_new(unsigned lo, unsigned hi, unsigned threads, enum latch latch, enum io_mode io, int *err) {
  *err = 0;
  struct relay *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->kind = RELAY_KIND;
  if (path_init(&r->path, (uint16_t)lo, (uint16_t)hi, latch) < 0) {
    free(r);
    return NULL;
  }
  for (unsigned i = 0; i < MAX_THREADS; i++) r->w[i].ring.fd = -1;
  for (unsigned i = 0; i < threads && io != IO_EPOLL; i++) {
    int e = uring_init(&r->w[i].ring, 2 * SLOTS);
    r->w[i].uring_ok = e == 0;
    if (e < 0 && !r->uring_errno) r->uring_errno = -e;
  }
  if (io == IO_URING && r->uring_errno) { /* asked for, and the kernel refuses it */
    *err = r->uring_errno;
    for (unsigned i = 0; i < threads; i++) uring_free(&r->w[i].ring);
    path_free(&r->path);
    free(r);
    return NULL;
  }
  r->stop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  for (unsigned i = 0; i < threads; i++) {
    struct worker *w = &r->w[i];
    w->r = r;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = STOP};
    if (r->stop < 0 || w->ep < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, r->stop, &ev) < 0 || pthread_create(&w->thread, NULL, work, w) != 0) {
      if (w->ep >= 0) close(w->ep);
      r->nthreads = i;
      relay_stop(r);
      free(r);
      return NULL;
    }
    r->nthreads = i + 1;
  }
  return r;
}

unsigned relay_uring(const struct relay *r) {
  unsigned n = 0;
  for (unsigned i = 0; i < r->nthreads; i++) n += __atomic_load_n(&r->w[i].uring_ok, __ATOMIC_RELAXED) != 0;
  return n;
}

int relay_uring_errno(const struct relay *r) {
  if (r->uring_errno) return r->uring_errno;
  for (unsigned i = 0; i < r->nthreads; i++) {
    int e = __atomic_load_n(&r->w[i].uring_ok, __ATOMIC_ACQUIRE) ? 0 : __atomic_load_n(&r->w[i].uring_err, __ATOMIC_RELAXED);
    if (e) return e;
  }
  return 0;
}

int relay_break_rings(struct relay *r) {
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC), n = 0;
  if (null < 0) return 0;
  for (unsigned i = 0; i < r->nthreads; i++) /* dup2 swaps the fd at once: a call in flight keeps the ring */
    if (__atomic_load_n(&r->w[i].uring_ok, __ATOMIC_RELAXED) && r->w[i].ring.fd >= 0 && dup2(null, r->w[i].ring.fd) >= 0) n++;
  close(null);
  return n;
}

/* End the threads and close every socket; the relay answers nothing after this. */
void relay_stop(struct relay *r) {
  if (r->stopped) return;
  r->stopped = 1;
  uint64_t one = 1;
  if (r->stop >= 0 && write(r->stop, &one, sizeof one) < 0) { /* nothing to wake */ }
  for (unsigned i = 0; i < r->nthreads; i++) {
    pthread_join(r->w[i].thread, NULL);
    close(r->w[i].ep);
  }
  for (unsigned i = 0; i < MAX_THREADS; i++)
    if (r->w[i].ring.fd >= 0) uring_free(&r->w[i].ring);
  if (r->stop >= 0) close(r->stop);
  for (uint32_t i = 0; i < r->path.npairs; i++)
    for (int s = 0; s < 2; s++)
      for (int c = 0; c < 2; c++)
        if (r->path.pairs[i].fd[s][c] >= 0) close(r->path.pairs[i].fd[s][c]);
  path_free(&r->path);
}

/* A bound, non-blocking UDP socket on a:port, or the errno why not. */
static int open_socket(const struct ip *a, unsigned port, int *out) {
  int fam = a->family == 4 ? AF_INET : AF_INET6;
  int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1, size = 1 << 20;
  if (fam == AF_INET6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* kernel limits may keep the default */
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct hostport hp = {.ip = *a, .port = (uint16_t)port};
  struct sockaddr_storage ss;
  socklen_t len;
  to_sockaddr(&hp, &ss, &len);
  if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  *out = fd;
  return 0;
}

static void close_pair(struct relay *r, struct pair *pr) {
  struct worker *w = &r->w[(uint32_t)(pr - r->path.pairs) % r->nthreads];
  for (int s = 0; s < 2; s++)
    for (int c = 0; c < 2; c++)
      if (pr->fd[s][c] >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, pr->fd[s][c], NULL);
        close(pr->fd[s][c]);
        pr->fd[s][c] = -1;
      }
  __atomic_store_n(&pr->bound, 0, __ATOMIC_RELAXED);
  pr->active = 0;
}

/* Bind the four sockets of a pair (RTP on port, RTCP on port + 1, on each side's address)
 * and hand them to the pair's thread. Returns 0 or an errno; nothing stays bound on failure. */
int relay_bind(struct relay *r, unsigned port, const struct ip local[2]) {
  struct pair *pr = path_pair(&r->path, port);
  if (!pr || !local[0].family || !local[1].family) return EINVAL;
  uint32_t idx = (uint32_t)(pr - r->path.pairs);
  struct worker *w = &r->w[idx % r->nthreads];
  int e = 0;
  pthread_mutex_lock(&pr->lock);
  close_pair(r, pr);
  for (int s = 0; s < 2 && !e; s++)
    for (int c = 0; c < 2 && !e; c++) e = open_socket(&local[s], port + (unsigned)c, &pr->fd[s][c]);
  for (int s = 0; s < 2 && !e; s++)
    for (int c = 0; c < 2 && !e; c++) {
      struct epoll_event ev = {.events = EPOLLIN, .data.u32 = idx << 2 | (uint32_t)s << 1 | (uint32_t)c};
      if (epoll_ctl(w->ep, EPOLL_CTL_ADD, pr->fd[s][c], &ev) < 0) e = errno;
    }
  if (e) {
    close_pair(r, pr);
  } else {
    path_own(&r->path, &local[0]);
    path_own(&r->path, &local[1]);
    __atomic_store_n(&pr->bound, 1, __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&pr->lock);
  return e;
}

void relay_unbind(struct relay *r, unsigned port) {
  struct pair *pr = path_pair(&r->path, port);
  if (!pr) return;
  pthread_mutex_lock(&pr->lock);
  close_pair(r, pr);
  pthread_mutex_unlock(&pr->lock);
}

/* The packet entry without a socket (tests): decide for `src`, send if allowed; the verdict. */
int relay_inject(struct relay *r, unsigned port, int side, int rtcp, const struct hostport *src, void *buf, size_t len) {
  struct pair *pr = path_pair(&r->path, port);
  if (!pr) return V_NO_SESSION;
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct sockaddr_storage ss;
  struct mmsghdr m = {.msg_hdr = {.msg_name = &ss, .msg_iov = &iov, .msg_iovlen = 1}};
  struct hostport dst;
  pthread_mutex_lock(&pr->lock);
  int v = pr->bound ? rtp64_decide(&r->path, pr, side, rtcp, src, &dst) : V_NO_SESSION;
  path_observe(pr, side, rtcp, v, src, buf, len, mono_us());
  if (v == V_SEND) {
    to_sockaddr(&dst, &ss, &m.msg_hdr.msg_namelen);
    send_batch(&r->js, pr, !side, pr->fd[!side][rtcp], &m, 1);
  } else {
    r->js.verdicts[v]++;
  }
  pthread_mutex_unlock(&pr->lock);
  return v;
}

/* Every thread's counters, summed (each written by one thread; read relaxed). */
void relay_counters(struct relay *r, struct counters *sum) {
  memset(sum, 0, sizeof *sum);
  for (unsigned i = 0; i <= r->nthreads; i++) {
    const struct counters *c = i < r->nthreads ? &r->w[i].c : &r->js;
    for (int s = 0; s < 2; s++) {
      sum->packets[s] += __atomic_load_n(&c->packets[s], __ATOMIC_RELAXED);
      sum->bytes[s] += __atomic_load_n(&c->bytes[s], __ATOMIC_RELAXED);
    }
    for (int v = 0; v < V_COUNT; v++) sum->verdicts[v] += __atomic_load_n(&c->verdicts[v], __ATOMIC_RELAXED);
  }
}
