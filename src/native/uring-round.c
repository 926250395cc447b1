/* media-io io_uring: the sockets epoll found readable are read in one io_uring_enter (one
 * datagram each; the rest of a socket the kernel says holds more with one recvmmsg), their
 * packets decided as on_readable does, and the allowed ones sent in one more io_uring_enter
 * (a busy socket's run with one sendmmsg).
 * Every pair of the round stays locked until its sends are done, as on_readable holds its
 * one pair: the JavaScript thread cannot close a socket the kernel is using. A ring that
 * fails makes round_uring return its negative errno, and the worker goes on with epoll. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "io.h"
#include "uring.h"
#include "worker.h"

#define MORE 31 /* datagrams read from one socket beyond the first in a round */

/* Slot k's buffer and header, ready to receive. */
static void ready(struct slot *s, char *buf, unsigned k) {
  s->iov = (struct iovec){buf + (size_t)k * MAX_DGRAM, MAX_DGRAM};
  s->mh = (struct msghdr){.msg_name = &s->from, .msg_namelen = sizeof s->from, .msg_iov = &s->iov, .msg_iovlen = 1};
}

/* One SQE: a recvmsg or sendmsg of one datagram, never waiting (the socket is ready, or it
 * answers EAGAIN). */
static int uring_prep(struct worker *w, uint8_t op, int fd, struct msghdr *mh, uint64_t data) {
  struct io_uring_sqe *q = uring_sqe(&w->ring);
  if (!q) return -1; /* cannot happen: the ring holds more than SLOTS */
  q->opcode = op;
  q->fd = fd;
  q->addr = (uint64_t)(uintptr_t)mh;
  q->len = 1;
  q->msg_flags = MSG_DONTWAIT;
  q->user_data = data;
  return 0;
}

/* The round's next completion; NULL, with *failed = EPROTO, for one it did not ask for (cannot
 * happen: uring_submit_wait waited for all of them). */
static struct io_uring_cqe *next_cqe(struct worker *w, int *failed) {
  struct io_uring_cqe *cqe = uring_cqe(&w->ring);
  if (cqe && cqe->user_data < SLOTS) return cqe;
  *failed = EPROTO;
  return NULL;
}

int round_uring(struct worker *w, const struct epoll_event *ev, int n, struct slot *sl, char *buf) {
  struct pair *held[64];
  int nheld = 0, want[64], nwant = 0, failed = 0 /* the ring's errno */, ngroups = 0;
  struct run {
    unsigned first, lo, hi;
  } group[64];
  for (int i = 0; i < n; i++) {
    struct pair *pr = &w->r->path.pairs[ev[i].data.u32 >> 2];
    int j = 0;
    while (j < nheld && held[j] != pr) j++;
    if (j == nheld) {
      pthread_mutex_lock(&pr->lock);
      held[nheld++] = pr;
    }
  }
  /* One receive a readable socket, all in one io_uring_enter. */
  unsigned k = 0;
  for (int i = 0; i < n && k < SLOTS; i++) {
    uint32_t d = ev[i].data.u32;
    struct slot *s = &sl[k];
    *s = (struct slot){.pr = &w->r->path.pairs[d >> 2], .side = (d >> 1) & 1, .rtcp = d & 1, .len = -1, .grp = -1};
    int fd = s->pr->fd[s->side][s->rtcp];
    if (fd < 0) continue;
    ready(s, buf, k);
    if (uring_prep(w, IORING_OP_RECVMSG, fd, &s->mh, k) < 0) break;
    k++;
  }
  if (k > 0) failed = -uring_submit_wait(&w->ring, k);
  for (unsigned c = 0; c < k && !failed; c++) {
    struct io_uring_cqe *cqe = next_cqe(w, &failed);
    if (!cqe) break;
    struct slot *s = &sl[cqe->user_data];
    s->len = cqe->res;
    if (cqe->res < 0 && cqe->res != -EAGAIN && cqe->res != -EINTR) w->c.verdicts[V_SOCKET_ERROR]++;
    if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_SOCK_NONEMPTY)) want[nwant++] = (int)cqe->user_data;
    uring_seen(&w->ring);
  }
  /* A socket the kernel says holds more (a busy stream): the rest in one recvmmsg, as
   * media-io epoll reads it, up to MORE datagrams, so that one flood cannot fill the round. */
  for (int i = 0; i < nwant && k < SLOTS && !failed; i++) {
    const struct slot *first = &sl[want[i]];
    int fd = first->pr->fd[first->side][first->rtcp];
    unsigned m = SLOTS - k < MORE ? SLOTS - k : MORE;
    struct mmsghdr mm[MORE];
    for (unsigned j = 0; j < m; j++) {
      struct slot *s = &sl[k + j];
      *s = (struct slot){.pr = first->pr, .side = first->side, .rtcp = first->rtcp, .len = -1, .grp = -1};
      ready(s, buf, k + j);
      mm[j] = (struct mmsghdr){.msg_hdr = s->mh};
    }
    int r = recvmmsg(fd, mm, m, MSG_DONTWAIT, NULL);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) w->c.verdicts[V_SOCKET_ERROR]++;
    for (int j = 0; j < r; j++) sl[k + (unsigned)j].len = (int)mm[j].msg_len;
    if (r <= 0) continue;
    group[ngroups] = (struct run){.first = (unsigned)want[i], .lo = k, .hi = k + (unsigned)r};
    sl[want[i]].grp = ngroups;
    for (unsigned j = k; j < k + (unsigned)r; j++) sl[j].grp = ngroups;
    ngroups++;
    k += (unsigned)r;
  }
  unsigned nsend = 0;
  int64_t now = mono_us(); /* one clock read a round: the jitter's arrival time */
  for (unsigned i = 0; i < k && !failed; i++) { /* in slot order: each socket's packets in turn */
    struct slot *s = &sl[i];
    socklen_t tl;
    if (s->len < 0 || pass(w, s->pr, s->side, s->rtcp, &s->from, s->iov.iov_base, (size_t)s->len, now, &s->to, &tl) != V_SEND) continue;
    int fd = s->pr->fd[!s->side][s->rtcp];
    if (fd < 0) { /* as sendmmsg on a closed socket counts it in media-io epoll */
      w->c.verdicts[V_SOCKET_ERROR]++;
      continue;
    }
    s->iov.iov_len = (size_t)s->len;
    s->mh = (struct msghdr){.msg_name = &s->to, .msg_namelen = tl, .msg_iov = &s->iov, .msg_iovlen = 1};
    s->send = 1;
    if (s->grp < 0 && uring_prep(w, IORING_OP_SENDMSG, fd, &s->mh, i) == 0) nsend++;
  }
  /* A busy socket's run goes out in one sendmmsg, as media-io epoll sends it: cheaper a
   * packet than an SQE each once there are several. */
  for (int g = 0; g < ngroups && !failed; g++) {
    struct mmsghdr mm[MORE + 1];
    int m = 0;
    const struct slot *f = &sl[group[g].first];
    if (f->send) mm[m++] = (struct mmsghdr){.msg_hdr = f->mh};
    for (unsigned j = group[g].lo; j < group[g].hi; j++)
      if (sl[j].send) mm[m++] = (struct mmsghdr){.msg_hdr = sl[j].mh};
    if (m > 0) send_batch(&w->c, f->pr, !f->side, f->pr->fd[!f->side][f->rtcp], mm, m);
  }
  if (nsend > 0 && !failed) failed = -uring_submit_wait(&w->ring, nsend);
  for (unsigned c = 0; c < nsend && !failed; c++) {
    struct io_uring_cqe *cqe = next_cqe(w, &failed);
    if (!cqe) break;
    struct slot *s = &sl[cqe->user_data];
    if (cqe->res >= 0) {
      count(&w->c, V_SEND, !s->side, (size_t)cqe->res);
      s->pr->sent[!s->side]++;
    } else {
      w->c.verdicts[V_SOCKET_ERROR]++;
    }
    uring_seen(&w->ring);
  }
  for (int j = 0; j < nheld; j++) pthread_mutex_unlock(&held[j]->lock);
  if (failed) w->c.verdicts[V_SOCKET_ERROR]++;
  return -failed;
}

