{
  "targets": [
    {
      "target_name": "rtp64",
      "sources": ["src/native/addon.c", "src/native/worker.c", "src/native/path.c", "src/native/sipsock.c", "src/native/addrwatch.c", "src/native/watched.c", "src/native/uring.c", "src/native/uring-round.c", "src/native/mac.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion", "-Wno-sign-conversion"],
      "libraries": ["-lpthread", "-lm", "-ldl"]
    }
  ]
}
