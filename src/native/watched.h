/* A file descriptor watched on Node's loop (uv_poll) with a JavaScript callback, and the
 * handle JavaScript holds for it: the one lifecycle of sipsock.c's SIP sockets and
 * addrwatch.c's rtnetlink socket. A user's struct has it as its first member. */
#ifndef WATCHED_H
#define WATCHED_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct watched {
  uint32_t kind; /* the user's own number: a handle of another kind (or the relay's) is refused */
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  uv_poll_t poll;
  int fd;
  int closed;
  int loop_done; /* uv_close has let go of the poll handle */
  int js_gone;   /* the handle's JavaScript object was collected (or never made) */
};

/* Watch fd for reading, on_readable called with the poll handle (its data: w). w: the first
 * member of a calloc'd struct, fd taken (on failure both are released). Returns the handle
 * for JavaScript, or NULL with a TypeError thrown. */
napi_value watched_start(struct watched *w, uint32_t kind, napi_env env, napi_value cb, const char *resource, int fd, uv_poll_cb on_readable);

/* Stop watching and close the descriptor now; the memory goes when both the loop and
 * JavaScript have let go of it, so a handle used after it reads `closed`, never freed memory. */
void watched_close(struct watched *w);

/* The watched struct of a handle of this kind; NULL when it is none, or closed. */
struct watched *watched_of(napi_env env, napi_value handle, uint32_t kind);

/* cb(...argv) through napi_make_callback (microtasks and nextTicks run after it, as after any
 * Node callback); an exception it throws is cleared, never let into the loop. Call within a
 * handle scope. */
void watched_call(struct watched *w, size_t argc, const napi_value *argv);

#endif
