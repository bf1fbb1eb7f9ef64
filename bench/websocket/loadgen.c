/* WebSocket load generator for bench/websocket/run.py (Linux; gcc -O2).
 *
 *   loadgen echo PORT CONNS WARMUP SECONDS SIZE [WINDOW]
 *       Opens CONNS connections to 127.0.0.1:PORT/ws, upgrades each (checks
 *       the 101 and Sec-WebSocket-Accept), then keeps WINDOW (default 1)
 *       SIZE-byte text messages in flight per connection: send, read the
 *       echoes, check them, send as many again as came back (in one write).
 *       Prints "go" after WARMUP seconds, then after SECONDS more
 *       "ROUND_TRIPS ERRORS ELAPSED TOTAL" (round trips and seconds after
 *       "go"; errors and TOTAL round trips include the warm-up).
 *   loadgen hold PORT CONNS
 *       Opens and upgrades CONNS connections, prints "ready OPENED ERRORS",
 *       holds them until stdin closes.
 *
 * Client frames are masked (a fixed key; the payload is masked correctly),
 * server frames must come unmasked. One connection is driven with blocking
 * reads, several with epoll.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The sample key of RFC 6455 section 1.3 and the accept value it must get. */
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define BATCH 200

typedef struct {
    int fd;
    size_t have;
    unsigned char *buf;
} conn_t;

static unsigned char *frame, *payload;
static size_t frame_len, size, cap;
static int window = 1;
static long errors;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void build_frame(void) {
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;
    frame = malloc((size + 14) * window);
    payload = malloc(size + 1);
    frame[n++] = 0x81; /* FIN + text */
    if (size < 126) {
        frame[n++] = 0x80 | size;
    } else if (size < 65536) {
        frame[n++] = 0x80 | 126;
        frame[n++] = size >> 8;
        frame[n++] = size & 0xff;
    } else {
        frame[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) frame[n++] = (size >> (8 * i)) & 0xff;
    }
    memcpy(frame + n, mask, 4);
    n += 4;
    for (size_t i = 0; i < size; i++) {
        payload[i] = 'a' + i % 26;
        frame[n + i] = payload[i] ^ mask[i % 4];
    }
    frame_len = n + size;
    /* WINDOW copies back to back: any number of them goes out in one write. */
    for (int i = 1; i < window; i++) memcpy(frame + i * frame_len, frame, frame_len);
}

/* Sends COUNT messages at once. */
static int send_frames(int fd, int count) {
    ssize_t want = (ssize_t)(frame_len * count);
    return write(fd, frame, want) == want;
}

static void drop(conn_t *c) {
    errors++;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

/* Sends the upgrade request on a fresh connection (fd -1 on failure). */
static void upgrade(conn_t *c, int port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval patience = {.tv_sec = 10};
    char req[256];
    int one = 1, len;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->have = 0;
    c->buf = malloc(cap);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    len = snprintf(req, sizeof req,
                   "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   port);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) || write(c->fd, req, len) != len)
        drop(c);
}

/* Reads the handshake answer; bytes past it stay in the buffer. */
static void await_101(conn_t *c) {
    unsigned char *end = NULL;
    while (c->fd >= 0 && !end) {
        ssize_t r = read(c->fd, c->buf + c->have, cap - c->have);
        if (r <= 0 || (c->have += r) == cap) {
            drop(c);
            break;
        }
        end = memmem(c->buf, c->have, "\r\n\r\n", 4);
    }
    if (!end) return;
    end += 4;
    if (memcmp(c->buf, "HTTP/1.1 101", 12) || !memmem(c->buf, end - c->buf, ACCEPT, 28)) {
        drop(c);
        return;
    }
    c->have -= end - c->buf;
    memmove(c->buf, end, c->have);
}

static conn_t *open_all(int port, int count) {
    conn_t *conns = calloc(count, sizeof *conns);
    for (int first = 0; first < count; first += BATCH) {
        int last = first + BATCH < count ? first + BATCH : count;
        for (int i = first; i < last; i++) upgrade(&conns[i], port);
        for (int i = first; i < last; i++) await_101(&conns[i]);
    }
    return conns;
}

/* Consumes the complete frames at the front of the buffer: the number of
 * correct echoes, or -1 for anything else. */
static int parse(conn_t *c) {
    size_t off = 0;
    int got = 0;
    for (;;) {
        unsigned char *p = c->buf + off;
        size_t avail = c->have - off, head = 2;
        uint64_t len;
        if (avail < 2) break;
        len = p[1] & 0x7f;
        if (len == 126) {
            if (avail < 4) break;
            len = (p[2] << 8) | p[3];
            head = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = (len << 8) | p[2 + i];
            head = 10;
        }
        if (p[0] != 0x81 || (p[1] & 0x80) || len != size) return -1;
        if (avail < head + len) break;
        if (memcmp(p + head, payload, size)) return -1;
        got++;
        off += head + len;
    }
    c->have -= off;
    memmove(c->buf, c->buf + off, c->have);
    return got;
}

static int echo(int port, int count, double warmup, double seconds) {
    conn_t *conns = open_all(port, count);
    struct epoll_event events[256];
    struct timeval tick = {.tv_usec = 100000};
    int ep = epoll_create1(0), single = count == 1, measuring = 0;
    long done = 0, before = 0;
    double t = now(), start = t + warmup, end = start + seconds;
    for (int i = 0; i < count; i++) {
        conn_t *c = &conns[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (c->fd < 0) continue;
        if (single)
            setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
        else
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        if (!send_frames(c->fd, window)) drop(c);
    }
    for (;;) {
        int n;
        t = now();
        if (!measuring && t >= start) {
            printf("go\n");
            fflush(stdout);
            measuring = 1;
            before = done;
            done = 0;
            start = t;
            end = t + seconds;
        }
        if (measuring && t >= end) break;
        if (single) {
            if (conns[0].fd < 0) break;
            events[0].data.ptr = &conns[0];
            n = 1;
        } else {
            n = epoll_wait(ep, events, 256, 100);
        }
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->have, cap - c->have);
            int got;
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) {
                drop(c);
                continue;
            }
            c->have += r;
            got = parse(c);
            if (got < 0) {
                drop(c);
                continue;
            }
            done += got;
            /* As many out as came back: WINDOW stay in flight, and the send
             * buffer never holds more than WINDOW messages. */
            if (got && !send_frames(c->fd, got)) drop(c);
        }
    }
    printf("%ld %ld %.6f %ld\n", done, errors, now() - start, before + done);
    return 0;
}

static int hold(int port, int count) {
    conn_t *conns = open_all(port, count);
    char sink[256];
    int opened = 0;
    for (int i = 0; i < count; i++) opened += conns[i].fd >= 0;
    printf("ready %d %ld\n", opened, errors);
    fflush(stdout);
    while (read(0, sink, sizeof sink) > 0) {
    }
    return 0;
}

int main(int argc, char **argv) {
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "echo")) {
        size = atol(argv[6]);
        window = argc == 8 ? atoi(argv[7]) : 1;
        if (window < 1) window = 1;
        cap = (size + 14) * window + 4096;
        build_frame();
        return echo(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[5]));
    }
    if (argc == 4 && !strcmp(argv[1], "hold")) {
        size = 0;
        cap = 4096;
        return hold(atoi(argv[2]), atoi(argv[3]));
    }
    fprintf(stderr, "usage: loadgen echo PORT CONNS WARMUP SECONDS SIZE [WINDOW] | hold PORT CONNS\n");
    return 2;
}
