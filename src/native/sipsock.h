/* The SIP/IPv6 socket with per-datagram addresses (sipsock.c), registered by addon.c. */
#ifndef SIPSOCK_H
#define SIPSOCK_H
#include <node_api.h>

napi_value js_sip_open(napi_env env, napi_callback_info info);
napi_value js_sip_send(napi_env env, napi_callback_info info);
napi_value js_sip_hold(napi_env env, napi_callback_info info);
napi_value js_sip_close(napi_env env, napi_callback_info info);

#endif
