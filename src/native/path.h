/* RTPproxy64's native datapath (SPEC section 6, issue 15): the state of each port pair and
 * the decision for one packet. No system call here: addon.c owns sockets and threads, and
 * fuzz.c drives rtp64_decide with random packets. */
#ifndef RTP64_PATH_H
#define RTP64_PATH_H
#include <pthread.h>
#include <stdint.h>

struct ip {
  uint8_t family; /* 0: none, 4 or 6 */
  uint8_t a[16];  /* IPv4 in the first 4 bytes */
};

struct hostport {
  struct ip ip;
  uint16_t port;
};

/* A side's party, as the JavaScript table describes it (src/media/table.ts Party). */
struct party {
  uint8_t present;
  struct ip addr;   /* advertised media address; family 0 when none */
  struct ip signal; /* where its SDP came from over SIP */
  uint16_t rtp, rtcp;
  uint8_t mux, trusted;
};

/* What one side's party sends (issue 19): counted on the packets its latch accepts; loss
 * and interarrival jitter from the RTP header (RFC 3550 A.1, A.8). */
struct quality {
  uint64_t packets, bytes;  /* accepted from this side's party, RTP and RTCP */
  uint64_t rtp;             /* RTP packets among them: loss and jitter are measured on these */
  uint64_t rtp_base;        /* rtp when the sequence was last (re)started */
  uint32_t ssrc;
  uint32_t base_seq, max_seq, cycles;
  int64_t first_us, last_us; /* monotonic arrival of the first and the latest RTP packet */
  uint32_t first_ts, last_ts;
  double rate;              /* RTP clock, Hz: 8000 until a second of packets tells it */
  double jitter;            /* RFC 3550 A.8, in timestamp units */
  int64_t last_any_us;      /* latest accepted packet of any kind; 0 none */
  uint64_t foreign;         /* packets to this side from another source than the party's */
  struct hostport foreign_src; /* the latest such source */
};

struct pair {
  pthread_mutex_t lock;
  int fd[2][2];                /* [side][rtcp]; -1 when not bound */
  uint8_t bound;               /* read by other threads (the loop guard): atomic */
  uint8_t active;              /* a stream holds the pair; else packets are rtp-no-session */
  struct party party[2];
  struct hostport latched[2][2]; /* [side][rtcp]; ip.family 0 until latched */
  uint64_t sent[2];            /* packets relayed out on each side */
  uint64_t rx;                 /* packets accepted from a party; atomic (the sweep reads it unlocked) */
  struct quality q[2];         /* what each side's party sends (issue 19) */
};

enum latch { LATCH_STRICT, LATCH_PREFIX, LATCH_ANY, LATCH_OFF };

/* The order of src/daemon/datapath-native.ts VERDICTS. */
enum verdict { V_SEND, V_NO_SESSION, V_NO_PARTY, V_FOREIGN, V_NO_PEER_YET, V_UNPROVEN, V_LOOP, V_SOCKET_ERROR, V_COUNT };

#define MAX_OWN 64

struct path {
  uint16_t lo, hi;     /* first even port, last even port with an odd partner */
  uint32_t npairs;
  struct pair *pairs;  /* one per pair of the range, never moved or freed while running */
  enum latch latch;
  struct ip own[MAX_OWN]; /* every address the relay binds; appended by the JS thread only */
  uint32_t nown;          /* atomic: entries below it are written */
};

int ip_eq(const struct ip *a, const struct ip *b);
int path_init(struct path *p, uint16_t lo, uint16_t hi, enum latch latch);
void path_free(struct path *p);
struct pair *path_pair(struct path *p, unsigned port);
void path_own(struct path *p, const struct ip *a);
void path_set_parties(struct pair *pr, const struct party party[2], int fresh);
void path_observe(struct pair *pr, int side, int rtcp, int verdict, const struct hostport *src, const uint8_t *data, size_t len, int64_t now_us);
int64_t mono_us(void);
int rtp64_decide(struct path *p, struct pair *pr, int side, int rtcp, const struct hostport *src, struct hostport *dst);
#endif
