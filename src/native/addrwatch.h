/* The kernel's address notifications (addrwatch.c), registered by addon.c. */
#ifndef ADDRWATCH_H
#define ADDRWATCH_H
#include <node_api.h>

napi_value js_addr_watch(napi_env env, napi_callback_info info);
napi_value js_addr_watch_close(napi_env env, napi_callback_info info);

#endif
