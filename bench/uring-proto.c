// bench/uring-proto: a prototype, not the product. The relay's bare packet path two ways:
// epoll + recvmmsg/sendmmsg, as src/native/worker.c does it, and io_uring (a multishot
// recvmsg per socket into a provided buffer ring, a sendmsg SQE per packet, one
// io_uring_enter per round), to measure what io_uring would save per packet before the
// datapath is built on it. No rules, no locks, IPv4 only. N sessions, each two sockets on
// 127.0.0.2 (ports P+2i, P+2i+1): what arrives on one leaves from the other towards the
// generator (bench/rtpload, 127.0.0.1:41000/41001). Prints the CPU time per packet.
// Needs liburing (Debian: liburing-dev). Run by bench/uring-proto-run.
//   uring-proto epoll|uring N P SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define NBUF 4096
#define BUFSZ 2048
static int *fds;
static struct sockaddr_in dst[2];
static unsigned long long packets;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static int mksock(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), size = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000002)};
  if (bind(fd, (void *)&sa, sizeof sa) < 0) { perror("bind"); exit(1); }
  return fd;
}

static void run_epoll(int n, double end) {
  int ep = epoll_create1(0);
  for (int i = 0; i < 2 * n; i++) { struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i}; epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev); }
  static char buf[BATCH][BUFSZ];
  struct mmsghdr in[BATCH], out[BATCH]; struct iovec iov[BATCH]; struct sockaddr_in from[BATCH];
  memset(in, 0, sizeof in); memset(out, 0, sizeof out);
  for (int i = 0; i < BATCH; i++) { iov[i] = (struct iovec){buf[i], BUFSZ}; in[i].msg_hdr.msg_iov = &iov[i]; in[i].msg_hdr.msg_iovlen = 1; in[i].msg_hdr.msg_name = &from[i]; }
  struct epoll_event evs[64];
  while (now() < end) {
    int k = epoll_wait(ep, evs, 64, 100);
    for (int e = 0; e < k; e++) {
      int s = evs[e].data.u32;
      for (int i = 0; i < BATCH; i++) { iov[i].iov_len = BUFSZ; in[i].msg_hdr.msg_namelen = sizeof from[i]; }
      int r = recvmmsg(fds[s], in, BATCH, MSG_DONTWAIT, NULL);
      if (r <= 0) continue;
      for (int i = 0; i < r; i++) {
        out[i].msg_hdr.msg_iov = &iov[i]; iov[i].iov_len = in[i].msg_len; out[i].msg_hdr.msg_iovlen = 1;
        out[i].msg_hdr.msg_name = &dst[s & 1]; out[i].msg_hdr.msg_namelen = sizeof dst[0];
      }
      int m = sendmmsg(fds[s ^ 1], out, r, MSG_DONTWAIT);
      if (m > 0) packets += m;
    }
  }
}

static void run_uring(int n, double end) {
  struct io_uring ring;
  struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE, .cq_entries = 16384};
  int e = io_uring_queue_init_params(4096, &ring, &p);
  if (e < 0) { fprintf(stderr, "io_uring: %s\n", strerror(-e)); exit(1); }
  struct io_uring_buf_ring *br; char *bufs = aligned_alloc(4096, (size_t)NBUF * BUFSZ);
  if (posix_memalign((void **)&br, 4096, NBUF * sizeof(struct io_uring_buf))) exit(1);
  io_uring_buf_ring_init(br);
  struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = 1};
  if ((e = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) { fprintf(stderr, "buf ring: %s\n", strerror(-e)); exit(1); }
  for (int i = 0; i < NBUF; i++) io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, i, io_uring_buf_ring_mask(NBUF), i);
  io_uring_buf_ring_advance(br, NBUF);
  struct msghdr rmsg = {.msg_namelen = sizeof(struct sockaddr_in)}; // the multishot template
  struct msghdr *smsg = calloc(NBUF, sizeof *smsg); struct iovec *siov = calloc(NBUF, sizeof *siov);
  for (int i = 0; i < 2 * n; i++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) { io_uring_submit(&ring); sqe = io_uring_get_sqe(&ring); }
    io_uring_prep_recvmsg_multishot(sqe, fds[i], &rmsg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT; sqe->buf_group = 1;
    io_uring_sqe_set_data64(sqe, (uint64_t)i);
  }
  io_uring_submit(&ring);
  unsigned long long nosqe = 0, rearm = 0, enobufs = 0;
  while (now() < end) {
    struct __kernel_timespec ts = {.tv_nsec = 100000000};
    struct io_uring_cqe *cqe;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
    unsigned head, seen = 0, returned = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      uint64_t d = cqe->user_data;
      if (d >> 32) { // a send finished: its buffer goes back to the ring
        int bid = (int)(d & 0xffff);
        io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, bid, io_uring_buf_ring_mask(NBUF), returned++);
        if (cqe->res > 0) packets++;
        continue;
      }
      int s = (int)d;
      if (!(cqe->flags & IORING_CQE_F_MORE)) { // re-arm
        rearm++;
        if (cqe->res == -ENOBUFS) enobufs++;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        if (sqe) { io_uring_prep_recvmsg_multishot(sqe, fds[s], &rmsg, 0); sqe->flags |= IOSQE_BUFFER_SELECT; sqe->buf_group = 1; io_uring_sqe_set_data64(sqe, (uint64_t)s); }
      }
      if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER)) continue;
      int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      char *b = bufs + (size_t)bid * BUFSZ;
      struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(b, cqe->res, &rmsg);
      if (!o) { io_uring_buf_ring_add(br, b, BUFSZ, bid, io_uring_buf_ring_mask(NBUF), returned++); continue; }
      siov[bid] = (struct iovec){io_uring_recvmsg_payload(o, &rmsg), io_uring_recvmsg_payload_length(o, cqe->res, &rmsg)};
      smsg[bid] = (struct msghdr){.msg_name = &dst[s & 1], .msg_namelen = sizeof dst[0], .msg_iov = &siov[bid], .msg_iovlen = 1};
      struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
      if (!sqe) { nosqe++; io_uring_buf_ring_add(br, b, BUFSZ, bid, io_uring_buf_ring_mask(NBUF), returned++); continue; }
      io_uring_prep_sendmsg(sqe, fds[s ^ 1], &smsg[bid], MSG_DONTWAIT);
      io_uring_sqe_set_data64(sqe, (1ull << 32) | (uint64_t)bid);
    }
    io_uring_cq_advance(&ring, seen);
    if (returned) io_uring_buf_ring_advance(br, returned);
  }
  if (rearm || nosqe) fprintf(stderr, "uring: rearmed %llu (ENOBUFS %llu), packets dropped for want of an SQE %llu\n", rearm, enobufs, nosqe);
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  int n = atoi(argv[2]), port = atoi(argv[3]);
  double secs = atof(argv[4]);
  fds = calloc(2 * n, sizeof *fds);
  for (int i = 0; i < 2 * n; i++) fds[i] = mksock(port + i);
  // From socket 2i (the generator's X sends there) out of 2i+1 to Y, and back.
  dst[0] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(41001), .sin_addr.s_addr = htonl(0x7f000001)};
  dst[1] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(41000), .sin_addr.s_addr = htonl(0x7f000001)};
  double end = now() + secs;
  struct rusage r0, r1; getrusage(RUSAGE_SELF, &r0);
  if (!strcmp(argv[1], "uring")) run_uring(n, end); else run_epoll(n, end);
  getrusage(RUSAGE_SELF, &r1);
  double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
  printf("%s %d sessions: %llu packets, %.2f us CPU a packet\n", argv[1], n, packets, packets ? cpu / packets * 1e6 : 0);
  return 0;
}
