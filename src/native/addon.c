/* The N-API face of RTPproxy64's native datapath: what src/daemon/datapath-native.ts calls.
 * Every function checks its arguments and throws a TypeError rather than guess. */
#include <arpa/inet.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "napi-util.h"
#include "addrwatch.h"
#include "mac.h"
#include "sipsock.h"
#include "worker.h"

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

/* An address literal, or null (family 0). */
static int get_ip(napi_env env, napi_value v, struct ip *ip) {
  char s[64];
  size_t len;
  memset(ip, 0, sizeof *ip);
  if (is_nullish(env, v)) return 1;
  if (napi_get_value_string_utf8(env, v, s, sizeof s, &len) != napi_ok || len >= sizeof s - 1) return 0;
  if (inet_pton(AF_INET, s, ip->a) == 1) ip->family = 4;
  else if (inet_pton(AF_INET6, s, ip->a) == 1) ip->family = 6;
  return 1;
}

/* A party: null, or [addr|null, rtp, rtcp, mux, signal|null, trusted]. */
static int get_party(napi_env env, napi_value v, struct party *p) {
  memset(p, 0, sizeof *p);
  if (is_nullish(env, v)) return 1;
  napi_value e[6];
  for (uint32_t i = 0; i < 6; i++)
    if (napi_get_element(env, v, i, &e[i]) != napi_ok) return 0;
  uint32_t rtp, rtcp;
  bool mux, trusted;
  if (!get_ip(env, e[0], &p->addr) || !get_u32(env, e[1], &rtp) || !get_u32(env, e[2], &rtcp) || napi_get_value_bool(env, e[3], &mux) != napi_ok ||
      !get_ip(env, e[4], &p->signal) || napi_get_value_bool(env, e[5], &trusted) != napi_ok || rtp > 65535 || rtcp > 65535)
    return 0;
  p->present = 1;
  p->rtp = (uint16_t)rtp;
  p->rtcp = (uint16_t)rtcp;
  p->mux = mux;
  p->trusted = trusted;
  return 1;
}

/* The handle and port every per-pair call starts with; up to `want` arguments in argv. */
static struct relay *args(napi_env env, napi_callback_info info, napi_value *argv, size_t want, uint32_t *port) {
  size_t argc = want;
  struct relay *r = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return NULL;
  if (napi_get_value_external(env, argv[0], (void **)&r) != napi_ok || !r || r->kind != RELAY_KIND || r->stopped) return NULL;
  if (port && (!get_u32(env, argv[1], port) || !path_pair(&r->path, *port))) return NULL;
  return r;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  relay_stop(data);
  free(data);
}

/* create(lo, hi, threads, latch[, io]): lo even, hi the last even port with an odd partner;
 * io 0 auto, 1 epoll, 2 io_uring (media-io). */
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  uint32_t lo, hi, threads, latch, io = IO_AUTO;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || !get_u32(env, argv[0], &lo) || !get_u32(env, argv[1], &hi) ||
      !get_u32(env, argv[2], &threads) || !get_u32(env, argv[3], &latch) || hi > 65534 || lo > hi || lo % 2 || hi % 2 || latch > LATCH_OFF || threads < 1 ||
      threads > MAX_THREADS || (argc > 4 && (!get_u32(env, argv[4], &io) || io > IO_URING)))
    return fail(env, "rtp64.create(lo, hi, threads, latch[, io])");
  int err = 0;
  struct relay *r = relay_new(lo, hi, threads, (enum latch)latch, (enum io_mode)io, &err);
  if (!r && err) {
    char msg[128];
    snprintf(msg, sizeof msg, "rtp64: io_uring is not available here: %s", strerror(err));
    return fail(env, msg);
  }
  if (!r) return fail(env, "rtp64: cannot start the datapath threads");
  if (napi_create_external(env, r, finalize, NULL, &out) != napi_ok) {
    relay_stop(r);
    free(r);
    return fail(env, "rtp64: no external");
  }
  return out;
}

/* io(h) -> [threads moving packets by io_uring, io_uring's errno where it was refused or failed, threads] */
static napi_value js_io(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  struct relay *r = args(env, info, argv, 1, NULL);
  if (!r) return fail(env, "rtp64.io(h)");
  napi_create_array_with_length(env, 3, &out);
  napi_set_element(env, out, 0, number(env, relay_uring(r)));
  napi_set_element(env, out, 1, number(env, relay_uring_errno(r)));
  napi_set_element(env, out, 2, number(env, r->nthreads));
  return out;
}

/* bind(h, port, addr0, addr1) -> 0 or errno */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t port;
  struct ip local[2];
  struct relay *r = args(env, info, argv, 4, &port);
  if (!r || !get_ip(env, argv[2], &local[0]) || !get_ip(env, argv[3], &local[1])) return fail(env, "rtp64.bind(h, port, addr0, addr1)");
  return number(env, relay_bind(r, port, local));
}

static napi_value js_unbind(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t port;
  struct relay *r = args(env, info, argv, 2, &port);
  if (!r) return fail(env, "rtp64.unbind(h, port)");
  relay_unbind(r, port);
  return NULL;
}

/* parties(h, port, party0, party1, fresh): a new stream on the pair (fresh) or a re-offer. */
static napi_value js_parties(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  uint32_t port;
  bool fresh;
  struct party p[2];
  struct relay *r = args(env, info, argv, 5, &port);
  if (!r || !get_party(env, argv[2], &p[0]) || !get_party(env, argv[3], &p[1]) || napi_get_value_bool(env, argv[4], &fresh) != napi_ok)
    return fail(env, "rtp64.parties(h, port, party0, party1, fresh)");
  struct pair *pr = path_pair(&r->path, port);
  pthread_mutex_lock(&pr->lock);
  path_set_parties(pr, p, fresh);
  pthread_mutex_unlock(&pr->lock);
  return NULL;
}

/* detach(h, port): the stream ended; the pair stays bound (warm), its packets are dropped. */
static napi_value js_detach(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t port;
  struct relay *r = args(env, info, argv, 2, &port);
  if (!r) return fail(env, "rtp64.detach(h, port)");
  struct pair *pr = path_pair(&r->path, port);
  pthread_mutex_lock(&pr->lock);
  pr->active = 0;
  pthread_mutex_unlock(&pr->lock);
  return NULL;
}

/* Per environment: the function (...v) => v, through which js_pair makes its result in one
 * call. Counted with callgrind, a pair() took 23,900 instructions with an array filled by
 * napi_set_element (about 1,100 an element), 8,300 through Array.of, 3,600 through this;
 * the daemon asks once for each stream it ends. */
struct inst {
  napi_ref values;
};

static void inst_free(napi_env env, void *data, void *hint) {
  struct inst *in = data;
  (void)hint;
  if (in->values) napi_delete_reference(env, in->values);
  free(in);
}

/* A host and port as two values: its text and port, or null and 0 when there is none. */
static void hostport(napi_env env, const struct hostport *hp, napi_value *v) {
  char s[INET6_ADDRSTRLEN];
  if (!hp->ip.family || !inet_ntop(hp->ip.family == 4 ? AF_INET : AF_INET6, hp->ip.a, s, sizeof s) || napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v[0]) != napi_ok) {
    napi_get_null(env, &v[0]);
    v[1] = number(env, 0);
    return;
  }
  v[1] = number(env, hp->port);
}

#define PAIR_VALUES 25

/* pair(h, port) -> [sent0, sent1, rx, the latched RTP source of side 0 (address or null,
 * port), of side 1, then for each side: packets, bytes, rtp, expected (RFC 3550 A.3), jitter
 * in ms, ms since its last packet (-1: none), foreign packets, the latest foreign source
 * (address or null, port)]: 25 values, made by one call of (...v) => v. */
static napi_value js_pair(napi_env env, napi_callback_info info) {
  napi_value argv[2], v[PAIR_VALUES], values, undef, out;
  uint32_t port;
  struct inst *in = NULL;
  struct relay *r = args(env, info, argv, 2, &port);
  if (!r) return fail(env, "rtp64.pair(h, port)");
  struct pair *pr = path_pair(&r->path, port);
  pthread_mutex_lock(&pr->lock);
  struct pair copy = *pr;
  pthread_mutex_unlock(&pr->lock);
  int64_t now = mono_us();
  v[0] = number(env, (double)copy.sent[0]);
  v[1] = number(env, (double)copy.sent[1]);
  v[2] = number(env, (double)copy.rx);
  hostport(env, &copy.latched[0][0], &v[3]);
  hostport(env, &copy.latched[1][0], &v[5]);
  for (uint32_t s = 0; s < 2; s++) {
    const struct quality *q = &copy.q[s];
    napi_value *w = &v[7 + s * 9];
    double expected = q->rtp ? (double)q->cycles + q->max_seq - q->base_seq + 1 : 0;
    w[0] = number(env, (double)q->packets);
    w[1] = number(env, (double)q->bytes);
    w[2] = number(env, (double)(q->rtp - q->rtp_base));
    w[3] = number(env, expected);
    w[4] = number(env, q->rate > 0 ? q->jitter / q->rate * 1000 : 0);
    w[5] = number(env, q->last_any_us ? (double)(now - q->last_any_us) / 1000 : -1);
    w[6] = number(env, (double)q->foreign);
    hostport(env, &q->foreign_src, &w[7]);
  }
  if (napi_get_instance_data(env, (void **)&in) != napi_ok || !in || napi_get_reference_value(env, in->values, &values) != napi_ok || !values ||
      napi_get_undefined(env, &undef) != napi_ok || napi_call_function(env, undef, values, PAIR_VALUES, v, &out) != napi_ok)
    return fail(env, "rtp64.pair: cannot make the result");
  return out;
}

/* rx(h, ports: Uint32Array, out: Float64Array): the accepted-packet count of each pair, in one
 * call and without the pairs' locks (the timeout sweep asks for every stream each second). */
static napi_value js_rx(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  napi_typedarray_type t1, t2;
  size_t n1, n2;
  void *ports, *out;
  struct relay *r = args(env, info, argv, 3, NULL);
  if (!r || napi_get_typedarray_info(env, argv[1], &t1, &n1, &ports, NULL, NULL) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &t2, &n2, &out, NULL, NULL) != napi_ok || t1 != napi_uint32_array || t2 != napi_float64_array || n2 < n1)
    return fail(env, "rtp64.rx(h, Uint32Array ports, Float64Array out)");
  for (size_t i = 0; i < n1; i++) {
    struct pair *pr = path_pair(&r->path, ((uint32_t *)ports)[i]);
    ((double *)out)[i] = pr ? (double)__atomic_load_n(&pr->rx, __ATOMIC_RELAXED) : 0;
  }
  return NULL;
}

/* counters(h) -> [packets0, packets1, bytes0, bytes1, then one count per verdict] */
static napi_value js_counters(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  struct counters c;
  struct relay *r = args(env, info, argv, 1, NULL);
  if (!r) return fail(env, "rtp64.counters(h)");
  relay_counters(r, &c);
  napi_create_array_with_length(env, 4 + V_COUNT, &out);
  for (int s = 0; s < 2; s++) {
    napi_set_element(env, out, (uint32_t)s, number(env, (double)c.packets[s]));
    napi_set_element(env, out, (uint32_t)(2 + s), number(env, (double)c.bytes[s]));
  }
  for (int v = 0; v < V_COUNT; v++) napi_set_element(env, out, (uint32_t)(4 + v), number(env, (double)c.verdicts[v]));
  return out;
}

/* inject(h, port, side, rtcp, srcAddr, srcPort, buffer) -> verdict: the packet entry, for tests. */
static napi_value js_inject(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  uint32_t port, side, rtcp, sport;
  struct hostport src = {0};
  void *data;
  size_t len;
  struct relay *r = args(env, info, argv, 7, &port);
  if (!r || !get_u32(env, argv[2], &side) || !get_u32(env, argv[3], &rtcp) || side > 1 || rtcp > 1 || !get_ip(env, argv[4], &src.ip) || !src.ip.family ||
      !get_u32(env, argv[5], &sport) || sport > 65535 || napi_get_buffer_info(env, argv[6], &data, &len) != napi_ok)
    return fail(env, "rtp64.inject(h, port, side, rtcp, srcAddr, srcPort, buffer)");
  src.port = (uint16_t)sport;
  return number(env, relay_inject(r, port, (int)side, (int)rtcp, &src, data, len));
}

/* testBreakRings(h) -> how many: tests only, each worker's ring then fails as the kernel's would. */
static napi_value js_break_rings(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct relay *r = args(env, info, argv, 1, NULL);
  if (!r) return fail(env, "rtp64.testBreakRings(h)");
  return number(env, relay_break_rings(r));
}

/* stop(h): threads ended and sockets closed, at once (the finalizer would, later). */
static napi_value js_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct relay *r = args(env, info, argv, 1, NULL);
  if (r) relay_stop(r);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value src, values;
  struct inst *in = calloc(1, sizeof *in);
  if (!in || napi_create_string_utf8(env, "(...v) => v", NAPI_AUTO_LENGTH, &src) != napi_ok || napi_run_script(env, src, &values) != napi_ok ||
      napi_create_reference(env, values, 1, &in->values) != napi_ok || napi_set_instance_data(env, in, inst_free, NULL) != napi_ok) {
    free(in);
    return NULL;
  }
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"create", js_create}, {"bind", js_bind},   {"unbind", js_unbind}, {"parties", js_parties}, {"detach", js_detach},
             {"pair", js_pair},     {"rx", js_rx}, {"counters", js_counters}, {"inject", js_inject}, {"stop", js_stop},
             {"sipOpen", js_sip_open}, {"sipSend", js_sip_send}, {"sipHold", js_sip_hold}, {"sipClose", js_sip_close}, {"io", js_io},
             {"testBreakRings", js_break_rings}, {"addrWatch", js_addr_watch}, {"addrWatchClose", js_addr_watch_close}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok || napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  napi_value f; /* only where Node's SHA-256 was found (mac.c) */
  if (mac_available() && (napi_create_function(env, "macer", NAPI_AUTO_LENGTH, js_macer, NULL, &f) != napi_ok || napi_set_named_property(env, exports, "macer", f) != napi_ok))
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
