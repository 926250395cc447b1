// bench/rtpload: the RTP load generator for bench/rtp, in C so that it is not the limit.
// Reads legs from stdin, one per line: "LOCAL_ADDR LOCAL_PORT DEST_ADDR DEST_PORT".
// Every leg sends one 172-byte RTP packet each 20 ms (50 packets/s) for SECONDS, and
// counts what arrives; each packet carries its send time, so the one-way time through the
// relay is measured. Prints one JSON line: sent, received, pps, p50_us, p99_us.
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

static int fds[MAXLEGS];
static struct sockaddr_storage dst[MAXLEGS];
static socklen_t dstlen[MAXLEGS];
static uint32_t *lat;
static size_t nlat, caplat;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
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
  char la[64], da[64];
  int lp, dp, n = 0;
  int ep = epoll_create1(0);
  while (n < MAXLEGS && scanf("%63s %d %63s %d", la, &lp, da, &dp) == 4) {
    struct sockaddr_storage ls;
    socklen_t ll;
    int fam = fill(la, lp, &ls, &ll);
    if (fam < 0 || fill(da, dp, &dst[n], &dstlen[n]) < 0) { fprintf(stderr, "bad leg %s %d %s %d\n", la, lp, da, dp); return 2; }
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(fd, (struct sockaddr *)&ls, ll) < 0) { perror("bind"); return 2; }
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = n };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds[n++] = fd;
  }
  caplat = (size_t)(n * 50 * secs) + 16;
  lat = malloc(caplat * sizeof *lat);
  unsigned char pkt[PKT], buf[2048];
  memset(pkt, 0xd5, sizeof pkt);
  pkt[0] = 0x80;
  pkt[1] = 0;
  uint64_t sent = 0, received = 0;
  // Paced: the legs are spread over the 20 ms period in 20 slots of 1 ms, as real phones
  // are, instead of one burst per period.
  uint64_t start = now_ns(), tick = 1000000ull, next = start;
  int slot = 0;
  uint64_t end = start + (uint64_t)(secs * 1e9), drain_end = end + 500000000ull;
  uint16_t seq = 0;
  struct epoll_event evs[256];
  for (;;) {
    uint64_t t = now_ns();
    if (t >= next && t < end) {
      if (slot == 0) seq++;
      int from = (int)((long)n * slot / 20), to = (int)((long)n * (slot + 1) / 20);
      slot = (slot + 1) % 20;
      for (int i = from; i < to; i++) {
        uint64_t ts = now_ns();
        memcpy(pkt + 2, &seq, 2);
        memcpy(pkt + 12, &ts, 8);
        if (sendto(fds[i], pkt, PKT, 0, (struct sockaddr *)&dst[i], dstlen[i]) == PKT) sent++;
      }
      next += tick;
    }
    if (t >= drain_end) break;
    int timeout = t < end ? (int)((next > t ? next - t : 0) / 1000000) : 50;
    int k = epoll_wait(ep, evs, 256, timeout);
    for (int j = 0; j < k; j++) {
      // One datagram per event (epoll is level-triggered: a second one reports again), so
      // the generator spends no system call on EAGAIN.
      int fd = fds[evs[j].data.u32];
      {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == PKT && buf[0] == 0x80) {
          uint64_t ts;
          memcpy(&ts, buf + 12, 8);
          uint64_t d = now_ns() - ts;
          if (nlat < caplat) lat[nlat++] = (uint32_t)(d / 1000);
          received++;
        }
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
