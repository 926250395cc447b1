/* The kernel's address notifications (rtnetlink: RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR), so
 * that `outbound if:IFACE` follows a renumbered line when the kernel says so, not at the next
 * outbound-check, and a former public address gone from the host is let go at once. The
 * socket is watched on Node's loop (watched.h). A wake-up drains what is queued and calls
 * JavaScript once, with no argument: JavaScript then reads the interfaces as a timed look
 * does. Nothing in the messages is read, so none can mislead it: a message only causes a
 * look, and JavaScript spaces looks out (src/daemon/public.ts, NUDGE_MS). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <node_api.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrwatch.h"
#include "napi-util.h"
#include "watched.h"

#define ADDRWATCH 0x41444452u /* "ADDR": watched.kind of these handles */
#define DRAIN 64              /* reads per wake-up; the poll wakes again while more are queued */

/* Drain the socket; call JavaScript when the kernel said something (or said that it had to
 * drop notifications, ENOBUFS: something changed all the same). */
static void on_readable(uv_poll_t *h, int status, int events) {
  struct watched *w = h->data;
  char buf[8192];
  int changed = 0;
  (void)events;
  if (status < 0 || w->closed) return;
  for (int k = 0; k < DRAIN; k++) {
    struct sockaddr_nl from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(w->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n < 0 && errno == ENOBUFS) changed = 1;
    else if (n < 0) break; /* EAGAIN: drained */
    else if (fl >= sizeof from && from.nl_family == AF_NETLINK && from.nl_pid == 0) changed = 1; /* from the kernel only */
  }
  if (!changed) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  watched_call(w, 0, NULL);
  napi_close_handle_scope(w->env, scope);
}

/* addrWatch(cb) -> handle, or -errno when the socket cannot be made (no rtnetlink here). */
napi_value js_addr_watch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function)
    return fail(env, "rtp64.addrWatch(callback)");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return number(env, -errno);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return number(env, -e);
  }
  struct watched *w = calloc(1, sizeof *w);
  if (!w) {
    close(fd);
    return number(env, -ENOMEM);
  }
  return watched_start(w, ADDRWATCH, env, argv[0], "sipproxy64:addrwatch", fd, on_readable);
}

/* addrWatchClose(handle): no more calls; the memory goes when the loop and the handle have let go of it. */
napi_value js_addr_watch_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct watched *w;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 && (w = watched_of(env, argv[0], ADDRWATCH))) watched_close(w);
  return NULL;
}
