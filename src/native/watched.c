/* The lifecycle of a watched descriptor and its JavaScript handle (watched.h). */
#include "watched.h"

#include <stdlib.h>
#include <unistd.h>

#include "napi-util.h"

static void release(struct watched *w) {
  if (w->loop_done && w->js_gone) free(w);
}

static void on_closed(uv_handle_t *h) {
  struct watched *w = h->data;
  w->loop_done = 1;
  release(w);
}

static void on_collected(napi_env env, void *data, void *hint) {
  struct watched *w = data;
  (void)env;
  (void)hint;
  w->js_gone = 1;
  release(w);
}

void watched_close(struct watched *w) {
  if (w->closed) return;
  w->closed = 1;
  uv_poll_stop(&w->poll);
  close(w->fd);
  if (w->cb) napi_delete_reference(w->env, w->cb);
  if (w->ctx) napi_async_destroy(w->env, w->ctx);
  uv_close((uv_handle_t *)&w->poll, on_closed);
}

napi_value watched_start(struct watched *w, uint32_t kind, napi_env env, napi_value cb, const char *resource, int fd, uv_poll_cb on_readable) {
  napi_value name, out;
  uv_loop_t *loop;
  w->kind = kind;
  w->env = env;
  w->fd = fd;
  w->poll.data = w;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &w->poll, fd) != 0) {
    close(fd);
    free(w);
    return fail(env, "rtp64: cannot watch the socket");
  }
  /* From here the loop holds the poll handle: a failure closes it, and the memory goes after. */
  if (napi_create_reference(env, cb, 1, &w->cb) != napi_ok || napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->ctx) != napi_ok || uv_poll_start(&w->poll, UV_READABLE, on_readable) != 0 ||
      napi_create_external(env, w, on_collected, NULL, &out) != napi_ok) {
    w->js_gone = 1; /* no handle was made */
    watched_close(w);
    return fail(env, "rtp64: cannot watch the socket");
  }
  return out;
}

/* Every external of the addon starts with its 32-bit kind (the relay's too: worker.h), so reading `kind` stays inside it. */
struct watched *watched_of(napi_env env, napi_value handle, uint32_t kind) {
  struct watched *w = NULL;
  if (napi_get_value_external(env, handle, (void **)&w) != napi_ok || !w || w->kind != kind || w->closed) return NULL;
  return w;
}

void watched_call(struct watched *w, size_t argc, const napi_value *argv) {
  napi_value cb, recv, result;
  if (napi_get_reference_value(w->env, w->cb, &cb) != napi_ok || napi_get_global(w->env, &recv) != napi_ok) return;
  if (napi_make_callback(w->env, w->ctx, recv, cb, argc, argv, &result) != napi_ok) {
    napi_value ex;
    napi_get_and_clear_last_exception(w->env, &ex);
  }
}
