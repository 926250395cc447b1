/* Small N-API helpers shared by addon.c and sipsock.c. */
#ifndef NAPI_UTIL_H
#define NAPI_UTIL_H
#include <node_api.h>

/* Throw a TypeError naming the call's expected form; the caller returns NULL. */
static inline napi_value fail(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

static inline napi_value number(napi_env env, double v) {
  napi_value out;
  return napi_create_double(env, v, &out) == napi_ok ? out : NULL;
}

#endif
