/* The MAC's SHA-256 through the OpenSSL inside Node (mac.c), registered by addon.c. */
#ifndef MAC_H
#define MAC_H
#include <node_api.h>

/* Are Node's SHA256_Init/Update/Final there (looked up at run time)? */
int mac_available(void);
napi_value js_macer(napi_env env, napi_callback_info info);

#endif
