// bench/rtpload: the RTP load generator for bench/rtp, in C so that it is not the limit.
// Reads legs from stdin, one per line: "LOCAL_ADDR LOCAL_PORT DEST_ADDR DEST_PORT".
// Every leg sends one 172-byte RTP packet each 20 ms (50 packets/s) for SECONDS, and
// counts what arrives; each packet carries its send time, so the one-way time through the
// relay is measured. Prints one JSON line: sent, received, pps, p50_us, p99_us.
// The one-way time runs from just before the generator hands a chunk of at most CHUNK
// packets to the kernel (the stamp in each) to the kernel's receive timestamp of the packet
// at the generator's socket (SO_TIMESTAMPNS): the generator's own queues, a burst's earlier
// sends and the wait for its receive loop are not the relay's. A packet's stamp is early by
// at most the CHUNK-1 sends before it in its chunk, so the figure is an upper bound.
// Legs with the same local address and port share one socket, so sends and receives go in
// batches (sendmmsg, recvmmsg) and one core drives several hundred thousand packets/s.
// POLL=1: poll instead of sleeping in epoll (epoll_pwait2, until the next slot), so a
// relay's send wakes no sleeping receiver (on a real network its packets leave through a NIC;
// on loopback the sender pays for waking the receiver).
//   bench/rtpload SECONDS < legs
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXLEGS 20000
#define PKT 172
#define BATCH 256
#define CHUNK 8 /* packets per sendmmsg: one clock read per chunk */

static int fds[MAXLEGS];   /* the socket of each leg */
static int socks[MAXLEGS]; /* the distinct sockets */
static struct sockaddr_storage local[MAXLEGS];
static int nsocks;
static struct sockaddr_storage dst[MAXLEGS];
static socklen_t dstlen[MAXLEGS];
static uint32_t *lat;
static size_t nlat, caplat;

static uint64_t ns_of(const struct timespec *t) { return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec; }

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return ns_of(&t);
}

/* The clock of SO_TIMESTAMPNS, for the stamps that packets carry. */
static uint64_t wall_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return ns_of(&t);
}

static int fill(const char *a, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (strchr(a, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    *len = sizeof *s6;
    return inet_pton(AF_INET6, a, &s6->sin6_addr) == 1 ? AF_INET6 : -1;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  *len = sizeof *s4;
  return inet_pton(AF_INET, a, &s4->sin_addr) == 1 ? AF_INET : -1;
}

static int cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 5;
  int poll = getenv("POLL") && *getenv("POLL") == '1';
  char la[64], da[64];
  int lp, dp, n = 0;
  int ep = epoll_create1(0);
  while (n < MAXLEGS && scanf("%63s %d %63s %d", la, &lp, da, &dp) == 4) {
    struct sockaddr_storage ls;
    socklen_t ll;
    int fam = fill(la, lp, &ls, &ll);
    if (fam < 0 || fill(da, dp, &dst[n], &dstlen[n]) < 0) { fprintf(stderr, "bad leg %s %d %s %d\n", la, lp, da, dp); return 2; }
    int k = 0;
    while (k < nsocks && memcmp(&local[k], &ls, sizeof ls) != 0) k++;
    if (k == nsocks) {
      int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      int big = 16 << 20;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
      setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
      int on = 1;
      if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) { perror("SO_TIMESTAMPNS"); return 2; }
      if (bind(fd, (struct sockaddr *)&ls, ll) < 0) { perror("bind"); return 2; }
      struct epoll_event ev = { .events = EPOLLIN, .data.u32 = k };
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      local[k] = ls;
      socks[nsocks++] = fd;
    }
    fds[n++] = socks[k];
  }
  caplat = (size_t)(n * 50 * secs) + 16;
  lat = malloc(caplat * sizeof *lat);
  static unsigned char out[BATCH][PKT], in[BATCH][2048];
  static struct mmsghdr om[BATCH], im[BATCH];
  static struct iovec oiov[BATCH], iiov[BATCH];
  static char ctl[BATCH][CMSG_SPACE(sizeof(struct timespec))];
  for (int i = 0; i < BATCH; i++) {
    memset(out[i], 0xd5, PKT);
    out[i][0] = 0x80;
    out[i][1] = 0;
    oiov[i] = (struct iovec){ out[i], PKT };
    iiov[i] = (struct iovec){ in[i], sizeof in[i] };
    om[i].msg_hdr.msg_iov = &oiov[i];
    om[i].msg_hdr.msg_iovlen = 1;
    im[i].msg_hdr.msg_iov = &iiov[i];
    im[i].msg_hdr.msg_iovlen = 1;
    im[i].msg_hdr.msg_control = ctl[i];
  }
  uint64_t sent = 0, received = 0;
  // Paced: the legs are spread over the 20 ms period in 20 slots of 1 ms, as real phones
  // are, instead of one burst per period.
  uint64_t start = now_ns(), tick = 1000000ull, next = start;
  int slot = 0;
  uint64_t end = start + (uint64_t)(secs * 1e9), drain_end = end + 500000000ull;
  uint16_t seq = 0;
  struct epoll_event evs[64];
  for (;;) {
    uint64_t t = now_ns();
    if (t >= next && t < end) {
      if (slot == 0) seq++;
      int from = (int)((long)n * slot / 20), to = (int)((long)n * (slot + 1) / 20);
      slot = (slot + 1) % 20;
      // Consecutive legs on one socket go out in sendmmsg chunks of up to CHUNK datagrams.
      for (int i = from; i < to;) {
        int fd = fds[i], k = 0;
        uint64_t ts = wall_ns();
        while (i < to && k < CHUNK && fds[i] == fd) {
          memcpy(out[k] + 2, &seq, 2);
          memcpy(out[k] + 12, &ts, 8);
          om[k].msg_hdr.msg_name = &dst[i];
          om[k].msg_hdr.msg_namelen = dstlen[i];
          k++, i++;
        }
        for (int done = 0; done < k;) {
          int m = sendmmsg(fd, om + done, (unsigned)(k - done), 0);
          if (m <= 0) break;
          sent += (uint64_t)m;
          done += m;
        }
      }
      next += tick;
    }
    if (t >= drain_end) break;
    if (!poll) {
      // Until the next slot to the nanosecond (epoll_pwait2): epoll_wait's milliseconds made
      // each wait under a slot of 1 ms a wait of 0, so the generator spun on a core of its own
      // in the all-threads table (3,011 ms of 3 s at 100 sessions; fifty-first session).
      uint64_t wait = t < end ? (next > t ? next - t : 0) : 50000000ull;
      struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ull), .tv_nsec = (long)(wait % 1000000000ull) };
      if (epoll_pwait2(ep, evs, 64, &ts, NULL) <= 0) continue;
    }
    for (int s = 0; s < nsocks; s++) {
      for (;;) {
        for (int i = 0; i < BATCH; i++) iiov[i].iov_len = sizeof in[i], im[i].msg_hdr.msg_controllen = sizeof ctl[i];
        int r = recvmmsg(socks[s], im, BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0) break;
        for (int i = 0; i < r; i++) {
          if (im[i].msg_len != PKT || in[i][0] != 0x80) continue;
          received++;
          /* SO_TIMESTAMPNS is on for every socket (or the generator exited), so the kernel
           * stamps every datagram; the search is for where its cmsg sits. */
          uint64_t ts, at = 0;
          memcpy(&ts, in[i] + 12, 8);
          for (struct cmsghdr *c = CMSG_FIRSTHDR(&im[i].msg_hdr); c; c = CMSG_NXTHDR(&im[i].msg_hdr, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
              struct timespec k;
              memcpy(&k, CMSG_DATA(c), sizeof k);
              at = ns_of(&k);
            }
          if (at && nlat < caplat) lat[nlat++] = at > ts ? (uint32_t)((at - ts) / 1000) : 0;
        }
        if (r < BATCH) break;
      }
    }
  }
  qsort(lat, nlat, sizeof *lat, cmp);
  double el = (double)(end - start) / 1e9;
  printf("{\"legs\":%d,\"sent\":%llu,\"received\":%llu,\"pps\":%.0f,\"p50_us\":%u,\"p99_us\":%u}\n", n,
         (unsigned long long)sent, (unsigned long long)received, sent / el,
         nlat ? lat[nlat / 2] : 0, nlat ? lat[(size_t)(nlat * 0.99)] : 0);
  return 0;
}
