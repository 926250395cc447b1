/* A SIP socket over UDP/IPv6 that knows each datagram's destination (issue 16, nat64): bound
 * to [::]:port, IPV6_RECVPKTINFO says which local address a datagram arrived on, and
 * IPV6_PKTINFO chooses the address an answer leaves from (RFC 3261 18.2.2: a response leaves
 * from where the request arrived). A NAT64 prefix is 2^32 addresses: one socket serves them
 * all, where Node's dgram would need one socket per address. SIP rates need no thread: the
 * socket is watched on Node's own loop (uv_poll), and each datagram is handed to JavaScript. */
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

#define BATCH 64      /* datagrams read per wake-up, so one flood cannot hold the loop */
#define MAX_DGRAM 65535

struct sipsock {
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  uv_poll_t poll;
  int fd;
  int closed;
  unsigned char buf[MAX_DGRAM];
};

static napi_value string(napi_env env, const char *s) {
  napi_value out;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out) == napi_ok ? out : NULL;
}

/* One datagram to JavaScript: cb(buffer, srcAddr, srcPort, dstAddr). */
static void deliver(struct sipsock *s, size_t len, const struct sockaddr_in6 *src, const struct in6_addr *dst) {
  char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
  napi_value argv[4], cb, recv, result; /* recv: the global object (it must be an object) */
  void *copy;
  if (!inet_ntop(AF_INET6, &src->sin6_addr, sa, sizeof sa) || !inet_ntop(AF_INET6, dst, da, sizeof da)) return;
  if (napi_create_buffer_copy(s->env, len, s->buf, &copy, &argv[0]) != napi_ok) return;
  argv[1] = string(s->env, sa);
  argv[2] = number(s->env, ntohs(src->sin6_port));
  argv[3] = string(s->env, da);
  if (napi_get_reference_value(s->env, s->cb, &cb) != napi_ok || napi_get_global(s->env, &recv) != napi_ok) return;
  /* napi_make_callback: microtasks and nextTicks run after it, as after any Node callback. */
  if (napi_make_callback(s->env, s->ctx, recv, cb, 4, argv, &result) != napi_ok) {
    napi_value ex;
    napi_get_and_clear_last_exception(s->env, &ex); /* the JavaScript side catches its own; never let one escape here */
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  struct sipsock *s = h->data;
  (void)events;
  if (status < 0 || s->closed) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  for (int i = 0; i < BATCH && !s->closed; i++) {
    struct sockaddr_in6 src;
    union {
      char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
      struct cmsghdr align;
    } ctl;
    struct iovec iov = {s->buf, sizeof s->buf};
    struct msghdr mh = {&src, sizeof src, &iov, 1, ctl.buf, sizeof ctl.buf, 0};
    ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
    if (n < 0) break; /* EAGAIN: drained; anything else: the next wake-up tries again */
    const struct in6_addr *dst = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) dst = &((const struct in6_pktinfo *)(const void *)CMSG_DATA(c))->ipi6_addr;
    if (!dst || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || src.sin6_family != AF_INET6) continue; /* cannot say where it went: not ours to answer */
    deliver(s, (size_t)n, &src, dst);
  }
  napi_close_handle_scope(s->env, scope);
}

static void on_closed(uv_handle_t *h) {
  free(h->data);
}

static void sip_close(struct sipsock *s) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  napi_delete_reference(s->env, s->cb);
  napi_async_destroy(s->env, s->ctx);
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

static struct sipsock *handle(napi_env env, napi_value v) {
  struct sipsock *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok || !s || s->closed) return NULL;
  return s;
}

/* sipOpen(port, cb) -> handle, or -errno when the socket cannot be made or bound. */
napi_value js_sip_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out, name;
  uint32_t port;
  napi_valuetype t;
  uv_loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || napi_get_value_uint32(env, argv[0], &port) != napi_ok || port < 1 ||
      port > 65535 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function || napi_get_uv_event_loop(env, &loop) != napi_ok)
    return fail(env, "rtp64.sipOpen(port, callback)");
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return number(env, -errno);
  int one = 1, big = 1 << 21;
  struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT};
  /* IPv6 only (IPv4 has its own sockets); pktinfo in; FREEBIND: a source in a local route (the prefix) */
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one) < 0 || bind(fd, (struct sockaddr *)&any, sizeof any) < 0) {
    int e = errno;
    close(fd);
    return number(env, -e);
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big); /* best effort, as Node's recvBufferSize */
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct sipsock *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return number(env, -ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->poll.data = s;
  if (napi_create_reference(env, argv[1], 1, &s->cb) != napi_ok || napi_create_string_utf8(env, "sipproxy64:sip6", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &s->ctx) != napi_ok || uv_poll_init(loop, &s->poll, fd) != 0) {
    close(fd);
    free(s);
    return fail(env, "rtp64.sipOpen: cannot watch the socket");
  }
  if (uv_poll_start(&s->poll, UV_READABLE, on_readable) != 0) {
    s->closed = 0;
    sip_close(s);
    return fail(env, "rtp64.sipOpen: cannot watch the socket");
  }
  if (napi_create_external(env, s, NULL, NULL, &out) != napi_ok) return NULL;
  return out;
}

/* sipSend(handle, buffer, fromAddr, toAddr, toPort) -> bytes sent, or -errno. */
napi_value js_sip_send(napi_env env, napi_callback_info info) {
  size_t argc = 5, len;
  napi_value argv[5];
  void *data;
  char from[64], to[64];
  size_t fl, tl;
  uint32_t port;
  struct in6_pktinfo pi = {0};
  struct sockaddr_in6 dst = {.sin6_family = AF_INET6};
  struct sipsock *s;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !(s = handle(env, argv[0])) ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || napi_get_value_string_utf8(env, argv[2], from, sizeof from, &fl) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], to, sizeof to, &tl) != napi_ok || napi_get_value_uint32(env, argv[4], &port) != napi_ok || port < 1 ||
      port > 65535 || inet_pton(AF_INET6, from, &pi.ipi6_addr) != 1 || inet_pton(AF_INET6, to, &dst.sin6_addr) != 1)
    return fail(env, "rtp64.sipSend(handle, buffer, fromAddr, toAddr, toPort)");
  dst.sin6_port = htons((uint16_t)port);
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {data, len};
  struct msghdr mh = {&dst, sizeof dst, &iov, 1, ctl.buf, sizeof ctl.buf, 0};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO; /* the source address; interface 0: the route decides */
  c->cmsg_len = CMSG_LEN(sizeof pi);
  memcpy(CMSG_DATA(c), &pi, sizeof pi);
  ssize_t n = sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  return number(env, n < 0 ? -errno : (double)n);
}

/* sipClose(handle): the socket closes now; its memory goes when the loop has let go of it. */
napi_value js_sip_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sipsock *s;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 && (s = handle(env, argv[0]))) sip_close(s);
  return NULL;
}
