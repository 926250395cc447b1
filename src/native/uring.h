/* The least of io_uring the datapath needs (media-io io_uring), on the kernel's own header:
 * one ring per worker thread, used by that thread only, to hand the kernel a round's
 * receives at once and then its sends at once. No liburing: a fresh machine has no
 * liburing-dev, and this is a hundred lines. */
#ifndef RTP64_URING_H
#define RTP64_URING_H
#include <linux/io_uring.h>
#include <stddef.h>

struct uring {
  int fd;
  unsigned entries;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_len, cq_len, sqes_len;
  unsigned queued; /* SQEs written since the last submit */
};

/* A ring of `entries` SQEs: 0, or a negative errno (ENOSYS, EPERM: io_uring is off here). */
int uring_init(struct uring *u, unsigned entries);
void uring_free(struct uring *u);
/* The next SQE, zeroed; NULL when the ring is full. */
struct io_uring_sqe *uring_sqe(struct uring *u);
/* Submit what is queued and wait until `n` completions can be read: 0, or a negative errno. */
int uring_submit_wait(struct uring *u, unsigned n);
/* The next completion, or NULL; uring_seen() gives it back to the kernel. */
struct io_uring_cqe *uring_cqe(struct uring *u);
void uring_seen(struct uring *u);
#endif
