/* A SIP socket over UDP that knows each datagram's destination (issue 16: nat64, large prefix
 * map lines): bound to the wildcard address, IPV6_RECVPKTINFO / IP_PKTINFO say which local
 * address a datagram arrived on, and IPV6_PKTINFO / IP_PKTINFO choose the address an answer
 * leaves from (RFC 3261 18.2.2: a response leaves from where the request arrived). A NAT64
 * prefix is 2^32 addresses: one socket serves them all, where Node's dgram would need one
 * socket per address. SIP rates need no thread: the socket is watched on Node's own loop
 * (uv_poll), and each read's datagrams are handed to JavaScript in one call. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "napi-util.h"
#include "sipsock.h"
#include "watched.h"

#define BATCH 64      /* datagrams read per wake-up, so one flood cannot hold the loop */
#define RECV_VLEN 8   /* datagrams per recvmmsg: a short count says the queue is empty (no EAGAIN call) */
#define MAX_DGRAM 65535

#define SIPSOCK 0x53495031u /* "SIP1": watched.kind of these handles */

struct sipsock {
  struct watched w; /* first: the descriptor, its callback and handle (watched.h) */
  int family;       /* AF_INET or AF_INET6 */
  int bound;        /* bound to one address: it is where every datagram arrived, so none is reported */
  int last_ok;                            /* last_text is the text of last */
  unsigned char last[16];                 /* the last source address (4 or 16 bytes) */
  char last_text[INET6_ADDRSTRLEN];
};

/* Where datagrams are read: one set for every socket, as all are read on the JavaScript
 * thread and each datagram is copied into a string before the next read. */
static unsigned char bufs[RECV_VLEN][MAX_DGRAM];

static napi_value string(napi_env env, const char *s) {
  napi_value out;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out) == napi_ok ? out : NULL;
}

/* A source address as text, from the socket's one-entry cache: a socket mostly hears the
 * same peers (a trunk, a registrar), and inet_ntop's sprintf was a third of a datagram's
 * delivery (callgrind). src: in_addr or in6_addr. NULL when it cannot be written. */
static const char *src_text(struct sipsock *s, const void *src) {
  size_t n = s->family == AF_INET6 ? 16 : 4;
  if (s->last_ok && memcmp(s->last, src, n) == 0) return s->last_text;
  s->last_ok = inet_ntop(s->family, src, s->last_text, sizeof s->last_text) != NULL;
  memcpy(s->last, src, n);
  return s->last_ok ? s->last_text : NULL;
}

/* One datagram's arguments into v: text, srcAddr, srcPort[, dstAddr] (text one char per
 * byte, latin1, as the engine reads it; dst NULL on a bound socket, which reports none).
 * Returns how many were written: 0 when one could not be made (the datagram is skipped). */
static size_t put(struct sipsock *s, napi_value *v, const unsigned char *data, size_t len, const void *src, uint16_t sport, const void *dst) {
  char da[INET6_ADDRSTRLEN];
  const char *sa = src_text(s, src);
  if (!sa || (dst && !inet_ntop(s->family, dst, da, sizeof da))) return 0;
  if (napi_create_string_latin1(s->w.env, (const char *)data, len, &v[0]) != napi_ok || !(v[1] = string(s->w.env, sa)) || !(v[2] = number(s->w.env, sport)) ||
      (dst && !(v[3] = string(s->w.env, da))))
    return 0;
  return dst ? 4 : 3;
}

/* Sends made while a read's datagrams are handled (or, sipHold, a TCP read's messages) go out
 * together after it, one sendmmsg a socket: a system call a datagram was half of a send's CPU
 * on this VM (an 800-byte datagram to loopback: 3.4 us through sendmsg, 1.4-1.9 us through
 * sendmmsg of 8). Only the JavaScript thread queues and flushes; a socket's datagrams keep
 * their order. */
#define SENDQ 32                 /* datagrams a flush sends at most */
#define ARENA (4 * MAX_DGRAM)    /* their bytes; a send that does not fit flushes first */
#define FAILS 16                 /* kinds of failure a callback's sends report: socket and errno */

union dst {
  struct sockaddr_in6 v6;
  struct sockaddr_in v4;
};
union ctlbuf { /* a datagram's pktinfo, in or out */
  char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))]; /* the larger of the two */
  struct cmsghdr align;
};
struct queued {
  struct sipsock *s;
  size_t off, len;
  union dst dst;
  socklen_t dlen;
  union ctlbuf ctl;
  size_t clen;
};
static struct queued q[SENDQ];
static unsigned char arena[ARENA];
static int qn, queuing; /* queuing: how many holds are open (a read, sipHold) */
static size_t used;
static struct { struct sipsock *s; int err; unsigned n; } fails[FAILS];
static int nfails;

/* A failed datagram, counted with those of the same socket and errno. Past FAILS kinds (more
 * sockets and errnos than a gateway has) it is counted with the last: never lost. */
static void note_failure(struct sipsock *s, int err) {
  for (int i = 0; i < nfails; i++)
    if (fails[i].s == s && fails[i].err == err) {
      fails[i].n++;
      return;
    }
  if (nfails < FAILS) fails[nfails++] = (typeof(fails[0])){s, err, 1};
  else fails[FAILS - 1].n++;
}

/* Every queued datagram out: each socket's in one sendmmsg, in their order. A datagram the
 * kernel refuses is noted and the rest are tried, as separate sends would be. A socket the
 * callback closed sends nothing: its datagrams go as a closed socket's buffer would. */
static void flush(void) {
  struct mmsghdr mm[SENDQ];
  struct iovec iov[SENDQ];
  for (int i = 0; i < qn; i++) {
    struct sipsock *s = q[i].s;
    if (!s) continue; /* sent with an earlier socket's */
    int k = 0;
    for (int j = i; j < qn; j++) {
      if (q[j].s != s) continue;
      iov[k] = (struct iovec){arena + q[j].off, q[j].len};
      mm[k].msg_hdr = (struct msghdr){&q[j].dst, q[j].dlen, &iov[k], 1, q[j].ctl.buf, q[j].clen, 0};
      q[j].s = NULL;
      k++;
    }
    for (int done = 0; done < k && !s->w.closed;) {
      int n = sendmmsg(s->w.fd, mm + done, (unsigned)(k - done), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) done += n;
      else note_failure(s, errno), done++;
    }
  }
  qn = 0;
  used = 0;
}

/* Flush, then tell each socket's callback what failed: cb(-errno, count), a number first where a read's datagrams start with their text. */
static void flush_and_report(napi_env env) {
  flush();
  for (int i = 0; i < nfails; i++) {
    if (fails[i].s->w.closed) continue;
    napi_value argv[2] = {number(env, -fails[i].err), number(env, fails[i].n)};
    if (argv[0] && argv[1]) watched_call(&fails[i].s->w, 2, argv);
  }
  nfails = 0;
}

/* One control message (the source address) into c; returns the control length. */
static size_t put_cmsg(struct cmsghdr *c, int level, int type, const void *data, size_t size) {
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(size);
  memcpy(CMSG_DATA(c), data, size);
  return CMSG_SPACE(size);
}

/* The addresses of a send into e: 0, or -1 when they are not of the socket's family. */
static int address(struct queued *e, int family, const char *from, const char *to, uint32_t port) {
  struct cmsghdr *c = (struct cmsghdr *)(void *)e->ctl.buf;
  memset(&e->dst, 0, sizeof e->dst);
  memset(&e->ctl, 0, sizeof e->ctl);
  if (family == AF_INET6) {
    struct in6_pktinfo pi = {0}; /* the source address; interface 0: the route decides */
    if (inet_pton(AF_INET6, from, &pi.ipi6_addr) != 1 || inet_pton(AF_INET6, to, &e->dst.v6.sin6_addr) != 1) return -1;
    e->dst.v6.sin6_family = AF_INET6;
    e->dst.v6.sin6_port = htons((uint16_t)port);
    e->dlen = sizeof e->dst.v6;
    e->clen = put_cmsg(c, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi);
  } else {
    struct in_pktinfo pi = {0}; /* ipi_spec_dst: the source address */
    if (inet_pton(AF_INET, from, &pi.ipi_spec_dst) != 1 || inet_pton(AF_INET, to, &e->dst.v4.sin_addr) != 1) return -1;
    e->dst.v4.sin_family = AF_INET;
    e->dst.v4.sin_port = htons((uint16_t)port);
    e->dlen = sizeof e->dst.v4;
    e->clen = put_cmsg(c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
  }
  return 0;
}

/* A read's datagrams go to JavaScript in one call, cb(...argv) (watched_call): one entry into
 * JavaScript (and one microtask checkpoint) a recvmmsg, not one a datagram (callgrind: 1,950
 * instructions a datagram in reads of eight). Arguments, not an array: napi_set_element
 * costs 1,100 instructions an element. */

static void on_readable(uv_poll_t *h, int status, int events) {
  struct sipsock *s = h->data;
  (void)events;
  if (status < 0 || s->w.closed) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->w.env, &scope) != napi_ok) return;
  struct sockaddr_storage src[RECV_VLEN];
  union ctlbuf ctl[RECV_VLEN];
  struct iovec iov[RECV_VLEN];
  struct mmsghdr mm[RECV_VLEN];
  for (int done = 0; done < BATCH && !s->w.closed;) {
    for (int k = 0; k < RECV_VLEN; k++) {
      iov[k] = (struct iovec){bufs[k], MAX_DGRAM};
      mm[k].msg_hdr = (struct msghdr){&src[k], sizeof src[k], &iov[k], 1, ctl[k].buf, sizeof ctl[k].buf, 0};
    }
    int got = recvmmsg(s->w.fd, mm, RECV_VLEN, MSG_DONTWAIT, NULL);
    if (got <= 0) break; /* EAGAIN: drained; anything else: the next wake-up tries again */
    napi_value argv[RECV_VLEN * 4];
    size_t n = 0;
    for (int k = 0; k < got; k++) {
      struct msghdr *mh = &mm[k].msg_hdr;
      const void *dst = NULL;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) dst = &((const struct in6_pktinfo *)(const void *)CMSG_DATA(c))->ipi6_addr;
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) dst = &((const struct in_pktinfo *)(const void *)CMSG_DATA(c))->ipi_addr;
      }
      /* on the wildcard address, a datagram that cannot say where it went is not ours to answer */
      if ((!dst && !s->bound) || (mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || src[k].ss_family != s->family) continue;
      if (s->family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)&src[k];
        n += put(s, argv + n, bufs[k], mm[k].msg_len, &a->sin6_addr, ntohs(a->sin6_port), dst);
      } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)&src[k];
        n += put(s, argv + n, bufs[k], mm[k].msg_len, &a->sin_addr, ntohs(a->sin_port), dst);
      }
    }
    if (n > 0) {
      queuing++; /* its sends go out together after it */
      watched_call(&s->w, n, argv); /* the callback may close the socket: the loop's test sees it */
      if (--queuing == 0) flush_and_report(s->w.env);
    }
    done += got;
    if (got < RECV_VLEN) break; /* fewer than asked: the queue is empty */
  }
  napi_close_handle_scope(s->w.env, scope);
}

static struct sipsock *handle(napi_env env, napi_value v) {
  return (struct sipsock *)watched_of(env, v, SIPSOCK);
}

/* A bound socket of the family: on addr (text), or on the wildcard address, with destination
 * reports and free source choice, when addr is NULL; -errno on failure. */
static int open_sock(int family, uint16_t port, const char *addr) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, big = 1 << 21, rc;
  if (family == AF_INET6) {
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
    if (addr && inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) rc = (errno = EINVAL);
    /* IPv6 only (IPv4 has its own sockets); wildcard: pktinfo in, FREEBIND (a source in a local route, the prefix) */
    else rc = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 || (!addr && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0) ||
              (!addr && setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one) < 0) || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0;
  } else {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_ANY)}};
    if (addr && inet_pton(AF_INET, addr, &sa.sin_addr) != 1) rc = (errno = EINVAL);
    else rc = (!addr && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) || (!addr && setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0) ||
              bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0;
  }
  if (rc) {
    int e = errno;
    close(fd);
    return -e;
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big); /* best effort, as Node's recvBufferSize */
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  return fd;
}

/* Connect fd to peer:port (text), so that the kernel hands it only the peer's datagrams: 0 or -errno. */
static int connect_to(int fd, int family, const char *peer, uint32_t port) {
  union dst d;
  memset(&d, 0, sizeof d);
  socklen_t len;
  if (family == AF_INET6) {
    d.v6.sin6_family = AF_INET6;
    d.v6.sin6_port = htons((uint16_t)port);
    len = sizeof d.v6;
    if (inet_pton(AF_INET6, peer, &d.v6.sin6_addr) != 1) return -EINVAL;
  } else {
    d.v4.sin_family = AF_INET;
    d.v4.sin_port = htons((uint16_t)port);
    len = sizeof d.v4;
    if (inet_pton(AF_INET, peer, &d.v4.sin_addr) != 1) return -EINVAL;
  }
  return connect(fd, (struct sockaddr *)&d, len) < 0 ? -errno : 0;
}

/* sipOpen(family, port, cb[, addr[, peer, peerPort]]) -> handle, or -errno when the socket
 * cannot be made or bound. Without addr: the wildcard address, any source. With addr, port
 * 0: a port the kernel chooses; with a peer, connected to it, so that the kernel drops what
 * anyone else sends it (a sender only: the HEP mirror, hep.ts; SPEC 11). */
napi_value js_sip_open(napi_env env, napi_callback_info info) {
  size_t argc = 6, al = 0, pl = 0;
  napi_value argv[6];
  uint32_t family, port, peer_port = 0;
  napi_valuetype t;
  char addr[64], peer[64];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || argc == 5 || napi_get_value_uint32(env, argv[0], &family) != napi_ok ||
      (family != 4 && family != 6) || napi_get_value_uint32(env, argv[1], &port) != napi_ok || (port < 1 && argc < 4) || port > 65535 ||
      napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function ||
      (argc > 3 && napi_get_value_string_utf8(env, argv[3], addr, sizeof addr, &al) != napi_ok) ||
      (argc > 5 && (napi_get_value_string_utf8(env, argv[4], peer, sizeof peer, &pl) != napi_ok || napi_get_value_uint32(env, argv[5], &peer_port) != napi_ok ||
                    peer_port < 1 || peer_port > 65535)))
    return fail(env, "rtp64.sipOpen(family, port, callback[, addr[, peer, peerPort]])");
  int fd = open_sock(family == 6 ? AF_INET6 : AF_INET, (uint16_t)port, argc > 3 ? addr : NULL);
  if (fd < 0) return number(env, fd);
  int rc = argc > 5 ? connect_to(fd, family == 6 ? AF_INET6 : AF_INET, peer, peer_port) : 0;
  if (rc < 0) {
    close(fd);
    return number(env, rc);
  }
  struct sipsock *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return number(env, -ENOMEM);
  }
  s->family = family == 6 ? AF_INET6 : AF_INET;
  s->bound = argc > 3;
  return watched_start(&s->w, SIPSOCK, env, argv[2], "sipproxy64:sip", fd, on_readable);
}

/* sipSend(handle, data, fromAddr, toAddr, toPort) -> bytes sent, or -errno. data: a Buffer,
 * or a string of one char per byte (latin1), as the engine writes it. Called from a read's
 * callback or under sipHold it queues the datagram and returns its length; a failure is
 * reported to the socket's callback after the flush (flush_and_report). */
napi_value js_sip_send(napi_env env, napi_callback_info info) {
  size_t argc = 5, len = 0, fl, tl;
  napi_value argv[5];
  napi_valuetype dt;
  void *data = NULL;
  char from[64], to[64];
  uint32_t port;
  struct sipsock *s;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !(s = handle(env, argv[0])) ||
      napi_typeof(env, argv[1], &dt) != napi_ok ||
      (dt == napi_string ? napi_get_value_string_latin1(env, argv[1], NULL, 0, &len) != napi_ok || len > MAX_DGRAM
                         : napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || len > MAX_DGRAM) ||
      napi_get_value_string_utf8(env, argv[2], from, sizeof from, &fl) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], to, sizeof to, &tl) != napi_ok || napi_get_value_uint32(env, argv[4], &port) != napi_ok || port < 1 || port > 65535)
    return fail(env, "rtp64.sipSend(handle, data, fromAddr, toAddr, toPort)");
  if (qn == SENDQ || used + len + 1 > ARENA) flush(); /* its failures are reported with the rest */
  struct queued *e = &q[qn];
  if (address(e, s->family, from, to, port) < 0)
    return fail(env, s->family == AF_INET6 ? "rtp64.sipSend: IPv6 addresses on an IPv6 socket" : "rtp64.sipSend: IPv4 addresses on an IPv4 socket");
  /* the bytes into the arena (a string's copy ends in a NUL, counted in bufsize) */
  if (dt == napi_string) {
    if (napi_get_value_string_latin1(env, argv[1], (char *)arena + used, len + 1, &len) != napi_ok) return fail(env, "rtp64.sipSend: the text");
  } else if (len > 0) memcpy(arena + used, data, len);
  e->s = s;
  e->off = used;
  e->len = len;
  if (queuing) {
    qn++;
    used += len + 1;
    return number(env, (double)len);
  }
  struct iovec iov = {arena + used, len};
  struct msghdr mh = {&e->dst, e->dlen, &iov, 1, e->ctl.buf, e->clen, 0};
  ssize_t n = sendmsg(s->w.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  return number(env, n < 0 ? -errno : (double)n);
}

/* sipHold(on) -> the holds open: true opens one (sipSend queues), false closes one, and the
 * last to close sends what was queued and reports its failures (flush_and_report). A close
 * with none open does nothing. */
napi_value js_sip_hold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) return fail(env, "rtp64.sipHold(on)");
  if (on) queuing++;
  else if (queuing > 0 && --queuing == 0) flush_and_report(env);
  return number(env, queuing);
}

/* sipClose(handle): the socket closes now; its memory goes when the loop and the handle have let go of it. */
napi_value js_sip_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sipsock *s;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 && (s = handle(env, argv[0]))) watched_close(&s->w);
  return NULL;
}
