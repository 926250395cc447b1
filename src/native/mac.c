/* core/mac.ts's MAC, the first 48 bits of SHA-256(prefix + value) in hex, for the daemon.
 * crypto.hash spends about 250 ns a call before it hashes a byte (a digest fetched, a
 * context made) against about 45 ns a block; here one call copies a context that has
 * already absorbed the prefix's first block. The SHA-256 is the OpenSSL Node carries,
 * found at run time (dlsym): a Node without it gets no `macer`, and core/mac.ts keeps
 * crypto.hash. The value is hashed as UTF-8, as crypto.hash hashes a string. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "mac.h"
#include "napi-util.h"

typedef int (*sha_init_fn)(void *ctx);
typedef int (*sha_update_fn)(void *ctx, const void *data, size_t len);
typedef int (*sha_final_fn)(unsigned char *md, void *ctx);

static sha_init_fn sha_init;
static sha_update_fn sha_update;
static sha_final_fn sha_final;

/* SHA256_CTX: 112 bytes in every OpenSSL since 0.9.8 (eight words of state, the length,
 * a block, two counts); copied whole, so room to spare costs a little memcpy, no more. */
#define CTX_ROOM 192

struct key {
  _Alignas(16) unsigned char ctx[CTX_ROOM];
};

int mac_available(void) {
  /* Function pointers from dlsym: POSIX guarantees the conversion through a union. */
  union {
    void *p;
    sha_init_fn i;
    sha_update_fn u;
    sha_final_fn f;
  } a, b, c;
  if (sha_init) return 1;
  a.p = dlsym(RTLD_DEFAULT, "SHA256_Init");
  b.p = dlsym(RTLD_DEFAULT, "SHA256_Update");
  c.p = dlsym(RTLD_DEFAULT, "SHA256_Final");
  if (!a.p || !b.p || !c.p) return 0;
  sha_update = b.u;
  sha_final = c.f;
  sha_init = a.i;
  return 1;
}

/* The MAC of one value: the keyed context copied, the value's UTF-8 added, 12 hex digits. */
static napi_value js_mac(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value arg, out;
  void *data;
  char buf[1024];
  static const char hex[] = "0123456789abcdef";
  struct key k;
  unsigned char md[32];
  char text[12];
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, &data) != napi_ok || argc < 1) return fail(env, "mac(value: string)");
  memcpy(&k, data, sizeof k);
  if (napi_get_value_string_utf8(env, arg, buf, sizeof buf, &len) != napi_ok) return fail(env, "mac(value: string)");
  if (len + 4 < sizeof buf) { /* (a shorter copy is the whole string: a char is at most 4 bytes) */
    sha_update(k.ctx, buf, len);
  } else {
    char *big;
    if (napi_get_value_string_utf8(env, arg, NULL, 0, &len) != napi_ok || !(big = malloc(len + 1))) return fail(env, "mac: no memory");
    if (napi_get_value_string_utf8(env, arg, big, len + 1, &len) != napi_ok) {
      free(big);
      return fail(env, "mac(value: string)");
    }
    sha_update(k.ctx, big, len);
    free(big);
  }
  sha_final(md, k.ctx);
  for (int i = 0; i < 6; i++) {
    text[2 * i] = hex[md[i] >> 4];
    text[2 * i + 1] = hex[md[i] & 15];
  }
  return napi_create_string_latin1(env, text, sizeof text, &out) == napi_ok ? out : NULL;
}

static void key_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* macer(prefix: string) -> (value: string) => string: the MAC under the key `prefix` holds.
 * addon.c offers it only where mac_available() found the functions. */
napi_value js_macer(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value arg, fn;
  char prefix[256];
  struct key *k;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, arg, prefix, sizeof prefix, &len) != napi_ok || len + 4 >= sizeof prefix)
    return fail(env, "rtp64.macer(prefix: string of under 252 bytes)");
  if (!(k = calloc(1, sizeof *k))) return fail(env, "rtp64.macer: no memory");
  sha_init(k->ctx);
  sha_update(k->ctx, prefix, len);
  if (napi_create_function(env, "mac", NAPI_AUTO_LENGTH, js_mac, k, &fn) != napi_ok || napi_add_finalizer(env, fn, k, key_free, NULL, NULL) != napi_ok) {
    free(k);
    return NULL;
  }
  return fn;
}
