/* A minimal io_uring (see uring.h): setup, one SQE at a time, submit-and-wait, completions
 * read in order. The rings are shared with the kernel: heads and tails are read with acquire
 * and written with release ordering, as io_uring(7) requires. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"

static unsigned load_acquire(const unsigned *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store_release(unsigned *p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

int uring_init(struct uring *u, unsigned entries) {
  memset(u, 0, sizeof *u);
  u->fd = -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  long fd = syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) return -errno;
  u->fd = (int)fd;
  u->entries = p.sq_entries;
  u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  int e = 0;
  u->sq_map = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQ_RING);
  u->cq_map = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
  u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQES);
  if (u->sq_map == MAP_FAILED || u->cq_map == MAP_FAILED || u->sqes == MAP_FAILED) e = -errno;
  if (e) {
    if (u->sq_map == MAP_FAILED) u->sq_map = NULL;
    if (u->cq_map == MAP_FAILED) u->cq_map = NULL;
    if (u->sqes == MAP_FAILED) u->sqes = NULL;
    uring_free(u);
    return e;
  }
  char *sq = u->sq_map, *cq = u->cq_map;
  u->sq_head = (unsigned *)(sq + p.sq_off.head);
  u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  u->sq_array = (unsigned *)(sq + p.sq_off.array);
  u->cq_head = (unsigned *)(cq + p.cq_off.head);
  u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
}

void uring_free(struct uring *u) {
  if (u->sqes) munmap(u->sqes, u->sqes_len);
  if (u->cq_map) munmap(u->cq_map, u->cq_len);
  if (u->sq_map) munmap(u->sq_map, u->sq_len);
  if (u->fd >= 0) close(u->fd);
  memset(u, 0, sizeof *u);
  u->fd = -1;
}

struct io_uring_sqe *uring_sqe(struct uring *u) {
  unsigned tail = *u->sq_tail; /* written by this thread only */
  if (tail - load_acquire(u->sq_head) >= u->entries) return NULL;
  unsigned i = tail & *u->sq_mask;
  struct io_uring_sqe *sqe = &u->sqes[i];
  memset(sqe, 0, sizeof *sqe);
  u->sq_array[i] = i;
  store_release(u->sq_tail, tail + 1);
  u->queued++;
  return sqe;
}

/* Completions the kernel posted that this thread has not read. */
static unsigned posted(struct uring *u) {
  return load_acquire(u->cq_tail) - *u->cq_head;
}

int uring_submit_wait(struct uring *u, unsigned n) {
  /* A signal may end the wait early, after the kernel took the SQEs: wait again until the
   * n completions are there, never return with fewer. */
  while (u->queued > 0 || posted(u) < n) {
    long r = syscall(__NR_io_uring_enter, u->fd, u->queued, n, IORING_ENTER_GETEVENTS, NULL, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0 && u->queued > 0) return -EAGAIN; /* the kernel takes none: do not spin */
    u->queued -= (unsigned)r < u->queued ? (unsigned)r : u->queued;
  }
  return 0;
}

struct io_uring_cqe *uring_cqe(struct uring *u) {
  unsigned head = *u->cq_head; /* written by this thread only */
  if (head == load_acquire(u->cq_tail)) return NULL;
  return &u->cqes[head & *u->cq_mask];
}

void uring_seen(struct uring *u) {
  store_release(u->cq_head, *u->cq_head + 1);
}
