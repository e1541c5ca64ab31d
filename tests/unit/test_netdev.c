/* The network backends (src/backend/net*.c): slirp's DHCP, held frames and rx_ready, host forwards, tap errors and traffic. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend/net.h"
#include "backend/net_priv.h"
#include "net_frames.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A device that records frames, and refuses them while `accept` is false. */
#define REC_MAX 64
struct recorder {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool accept;
	unsigned offers;		/* receive() calls, taken or not */
	unsigned count;
	uint8_t *frame[REC_MAX];
	size_t len[REC_MAX];
	bool wrong_thread;		/* receive() ran on the test's own thread */
	pthread_t test_thread;
};

static bool rec_receive(void *opaque, const void *frame, size_t len)
{
	struct recorder *r = opaque;
	bool taken;

	pthread_mutex_lock(&r->lock);
	r->offers++;
	if (pthread_equal(pthread_self(), r->test_thread))
		r->wrong_thread = true;
	taken = r->accept && r->count < REC_MAX;
	if (taken) {
		r->frame[r->count] = malloc(len);
		memcpy(r->frame[r->count], frame, len);
		r->len[r->count] = len;
		r->count++;
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return taken;
}

static void rec_init(struct recorder *r, bool accept)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->accept = accept;
	r->test_thread = pthread_self();
}

static void rec_fini(struct recorder *r)
{
	for (unsigned i = 0; i < r->count; i++)
		free(r->frame[i]);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
}

/* Wait until a recorded frame satisfies match (from index *from on); its index, or -1 after timeout_ms. */
static int rec_wait(struct recorder *r, bool (*match)(const uint8_t *, size_t), unsigned timeout_ms)
{
	struct timespec deadline;
	unsigned i = 0;
	int found = -1;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	for (;;) {
		for (; i < r->count; i++) {
			if (match(r->frame[i], r->len[i])) {
				found = (int)i;
				goto out;
			}
		}
		if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT)
			break;
	}
out:
	pthread_mutex_unlock(&r->lock);
	return found;
}

#define DHCP_XID 0x52564d31u

/* A BOOTP reply for our xid offering 10.0.2.15 with DHCP message type OFFER. */
static bool is_dhcp_offer(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *udp, *bp, *opt, *end = f + len;
	unsigned ihl;

	if (len < 14 + 20 || get16be(f + 12) != 0x0800 || ip[9] != 17)
		return false;
	ihl = (ip[0] & 15) * 4u;
	udp = ip + ihl;
	bp = udp + 8;
	if (bp + 240 > end || get16be(udp) != 67 || get16be(udp + 2) != 68 || bp[0] != 2)
		return false;
	if (((uint32_t)bp[4] << 24 | bp[5] << 16 | bp[6] << 8 | bp[7]) != DHCP_XID)
		return false;
	/* yiaddr 10.0.2.15, to our MAC or broadcast */
	if (memcmp(bp + 16, "\x0a\x00\x02\x0f", 4) ||
	    (memcmp(f, guest_mac, 6) && memcmp(f, "\xff\xff\xff\xff\xff\xff", 6)))
		return false;
	for (opt = bp + 240; opt + 2 <= end && *opt != 255; opt += opt[0] ? 2 + opt[1] : 1)
		if (opt[0] == 53 && opt[1] == 1 && opt + 3 <= end)
			return opt[2] == 2;
	return false;
}

static uint32_t arp_reply_sender(const uint8_t *f, size_t len)
{
	const uint8_t *a = f + 14;

	if (len < 42 || get16be(f + 12) != 0x0806 || get16be(a + 6) != 2 || memcmp(f, guest_mac, 6))
		return 0;
	return (uint32_t)a[14] << 24 | a[15] << 16 | a[16] << 8 | a[17];
}

static bool is_arp_reply_host(const uint8_t *f, size_t len)
{
	return arp_reply_sender(f, len) == 0x0a000202u;
}

static bool is_arp_reply_dns(const uint8_t *f, size_t len)
{
	return arp_reply_sender(f, len) == 0x0a000203u;
}

static void send_frame(struct netdev *nd, const uint8_t *f, size_t len)
{
	/* Split in two segments, as a device hands over header-stripped chains. */
	struct iovec iov[2] = {
		{ .iov_base = (void *)f, .iov_len = len / 2 },
		{ .iov_base = (void *)(f + len / 2), .iov_len = len - len / 2 },
	};

	netdev_send(nd, iov, 2);
}

static struct net_config user_config(void)
{
	struct net_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = NET_USER;
	memcpy(cfg.mac, guest_mac, 6);
	return cfg;
}

/* A slirp backend that hands what it receives to rec, which takes frames or refuses them as `accept` says. */
static struct netdev *open_user(struct recorder *rec, bool accept)
{
	struct net_config cfg = user_config();
	struct netdev_rx rx = { rec_receive, rec };
	struct netdev *nd;
	char err[256] = "";

	rec_init(rec, accept);
	assert_int_equal(netdev_open(&nd, &cfg, &rx, err, sizeof(err)), 0);
	return nd;
}

static void test_slirp_dhcp_offer(void **state)
{
	struct recorder rec;
	struct netdev *nd = open_user(&rec, true);
	uint8_t frame[1024];

	assert_int_equal(netdev_start(nd), 0);
	send_frame(nd, frame, frame_dhcp_discover(frame, guest_mac, DHCP_XID));
	/* A generous bound: this checks that the offer comes, not how fast. */
	assert_true(rec_wait(&rec, is_dhcp_offer, 10000) >= 0);
	netdev_stop(nd);
	netdev_close(nd);
	assert_false(rec.wrong_thread);
	rec_fini(&rec);
}

static unsigned rec_offers(struct recorder *r)
{
	unsigned n;

	pthread_mutex_lock(&r->lock);
	n = r->offers;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void test_slirp_hold_until_rx_ready(void **state)
{
	struct recorder rec;
	struct netdev *nd = open_user(&rec, false);
	uint8_t frame[64];
	unsigned offers;
	int i;

	assert_int_equal(netdev_start(nd), 0);
	/* Two answers the device has no room for: offered once, then held in order. */
	send_frame(nd, frame, frame_arp_request(frame, guest_mac, 0x0a000202u));
	send_frame(nd, frame, frame_arp_request(frame, guest_mac, 0x0a000203u));
	for (i = 0; i < 1000 && (rec_offers(&rec) == 0 || netdev_held_count(nd) < 2); i++)
		usleep(10000);
	assert_int_equal(netdev_held_count(nd), 2);
	offers = rec_offers(&rec);
	assert_true(offers >= 1);
	/* Held means waiting: no retry until the device says it has buffers. */
	usleep(200000);
	assert_int_equal(rec_offers(&rec), offers);
	assert_int_equal(rec.count, 0);

	pthread_mutex_lock(&rec.lock);
	rec.accept = true;
	pthread_mutex_unlock(&rec.lock);
	netdev_rx_ready(nd);
	assert_int_equal(rec_wait(&rec, is_arp_reply_host, 10000), 0);
	assert_int_equal(rec_wait(&rec, is_arp_reply_dns, 10000), 1);
	/* The thread unlinks a frame once receive() has returned. */
	for (i = 0; i < 1000 && netdev_held_count(nd); i++)
		usleep(1000);
	assert_int_equal(netdev_held_count(nd), 0);
	/* netdev_send never delivered on the sender's thread. */
	assert_false(rec.wrong_thread);

	/* Stop and start again: frames sent while stopped are delivered after the restart. */
	netdev_stop(nd);
	send_frame(nd, frame, frame_arp_request(frame, guest_mac, 0x0a000202u));
	assert_int_equal(netdev_held_count(nd), 1);
	assert_int_equal(netdev_start(nd), 0);
	for (i = 0; i < 1000 && netdev_held_count(nd); i++)
		usleep(10000);
	assert_int_equal(netdev_held_count(nd), 0);
	assert_int_equal(rec.count, 3);
	netdev_close(nd);
	rec_fini(&rec);
}

/* The queue is bounded: with no thread delivering, frames past the bound are counted and dropped. */
static void test_slirp_held_bound(void **state)
{
	struct recorder rec;
	struct netdev *nd = open_user(&rec, true);
	uint8_t frame[64];

	for (unsigned i = 0; i < NETDEV_HELD_MAX + 10; i++)
		send_frame(nd, frame, frame_arp_request(frame, guest_mac, 0x0a000202u));
	assert_int_equal(netdev_held_count(nd), NETDEV_HELD_MAX);
	assert_int_equal(atomic_load(&nd->rx_dropped), 10);
	/* The owner may deliver by hand when no thread runs. */
	assert_int_equal(netdev_deliver_held(nd), REC_MAX);
	assert_int_equal(rec.count, REC_MAX);
	netdev_close(nd);
	rec_fini(&rec);
}

/* A TCP listener on 127.0.0.1 with an ephemeral port; returns the fd and sets *port. */
static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int bind_loopback(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	assert_true(fd >= 0);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return r < 0 ? -errno : 0;
}

static void test_slirp_hostfwd(void **state)
{
	struct net_config cfg = user_config();
	struct recorder rec;
	struct netdev_rx rx = { rec_receive, &rec };
	struct netdev *nd;
	char err[256] = "", want[128];
	uint16_t port;
	int busy;

	rec_init(&rec, true);
	/* A port someone else listens on: one clear line. */
	busy = listen_loopback(&port);
	cfg.nr_hostfwd = 1;
	cfg.hostfwd[0] = (struct net_hostfwd){ .host_addr = INADDR_LOOPBACK, .host_port = port,
					       .guest_port = 80 };
	assert_int_equal(netdev_open(&nd, &cfg, &rx, err, sizeof(err)), -EADDRINUSE);
	assert_null(nd);
	snprintf(want, sizeof(want), "cannot forward tcp 127.0.0.1:%u: Address already in use", port);
	assert_string_equal(err, want);

	/* A free port: slirp holds it while the netdev is open, and lets it go at close. */
	close(busy);
	assert_int_equal(bind_loopback(port), 0);
	assert_int_equal(netdev_open(&nd, &cfg, &rx, err, sizeof(err)), 0);
	assert_int_equal(bind_loopback(port), -EADDRINUSE);
	netdev_close(nd);
	assert_int_equal(bind_loopback(port), 0);
	rec_fini(&rec);
}

static void test_tap_errors(void **state)
{
	struct net_config cfg;
	struct netdev_rx rx = { rec_receive, NULL };
	struct netdev *nd;
	char err[256] = "";
	const char *prefix = "cannot open tap device 'bad/name': ";

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = NET_TAP;
	/* A name the kernel refuses (EINVAL), or no /dev/net/tun (ENOENT), or no CAP_NET_ADMIN (EPERM). */
	strcpy(cfg.ifname, "bad/name");
	assert_true(netdev_open(&nd, &cfg, &rx, err, sizeof(err)) < 0);
	assert_null(nd);
	assert_memory_equal(err, prefix, strlen(prefix));
	assert_true(strlen(err) > strlen(prefix));
	assert_null(strchr(err, '\n'));

	cfg.ifname[0] = 0;
	assert_int_equal(netdev_open(&nd, &cfg, &rx, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "cannot open tap device '': no interface name given");
}

/* Bring a host interface up (SIOCSIFFLAGS); false without the privilege. */
static bool link_up(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

#define TAP_TEST_ETHERTYPE 0x88b5	/* IEEE local experimental: nothing on the host answers it */

static bool is_tap_test_frame(const uint8_t *f, size_t len)
{
	return len >= 60 && get16be(f + 12) == TAP_TEST_ETHERTYPE && !memcmp(f + 14, "ringvm", 6);
}

/*
 * A real tap when the host allows one (root with /dev/net/tun): a frame
 * sent on the host interface through a packet socket reaches the device.
 */
static void test_tap_traffic(void **state)
{
	struct net_config cfg;
	struct recorder rec;
	struct netdev_rx rx = { rec_receive, &rec };
	struct netdev *nd;
	struct sockaddr_ll ll;
	uint8_t frame[64];
	char err[256] = "";
	int fd;

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = NET_TAP;
	snprintf(cfg.ifname, sizeof(cfg.ifname), "rvt%u", (unsigned)getpid() % 100000);
	rec_init(&rec, true);
	if (netdev_open(&nd, &cfg, &rx, err, sizeof(err)) < 0) {
		rec_fini(&rec);
		skip();		/* no usable /dev/net/tun here */
	}
	assert_true(if_nametoindex(cfg.ifname) != 0);
	assert_int_equal(netdev_start(nd), 0);
	/* Guest to host: written to the tap (dropped by the kernel if down; must not fail or block). */
	memset(frame, 0, sizeof(frame));
	memset(frame, 0xff, 6);
	memcpy(frame + 6, guest_mac, 6);
	put16be(frame + 12, TAP_TEST_ETHERTYPE);
	memcpy(frame + 14, "ringvm", 6);
	send_frame(nd, frame, 60);

	fd = socket(AF_PACKET, SOCK_RAW, htons(TAP_TEST_ETHERTYPE));
	if (fd >= 0 && link_up(cfg.ifname)) {
		memset(&ll, 0, sizeof(ll));
		ll.sll_family = AF_PACKET;
		ll.sll_ifindex = (int)if_nametoindex(cfg.ifname);
		ll.sll_protocol = htons(TAP_TEST_ETHERTYPE);
		memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
		assert_int_equal(sendto(fd, frame, 60, 0, (struct sockaddr *)&ll, sizeof(ll)), 60);
		assert_true(rec_wait(&rec, is_tap_test_frame, 10000) >= 0);
	}
	if (fd >= 0)
		close(fd);
	netdev_close(nd);
	/* Not persistent: the interface goes with the fd. */
	assert_int_equal(if_nametoindex(cfg.ifname), 0);
	assert_false(rec.wrong_thread);
	rec_fini(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slirp_dhcp_offer),
		cmocka_unit_test(test_slirp_hold_until_rx_ready),
		cmocka_unit_test(test_slirp_held_bound),
		cmocka_unit_test(test_slirp_hostfwd),
		cmocka_unit_test(test_tap_errors),
		cmocka_unit_test(test_tap_traffic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
