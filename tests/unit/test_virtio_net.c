/* Unit tests of src/devices/virtio_net.c: transmit, receive with and without merged buffers, held frames, bad chains, slirp end to end. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend/net_priv.h"
#include "devices/virtio_net.h"
#include "net_frames.h"
#include "virtio_harness.h"

#define RAM_SIZE  (1u << 20)
#define QSIZE     16
#define RXQ       0
#define TXQ       1
#define HDR       12
#define BUF_BASE  0x10000u

#define F_MAC       VIRTIO_BIT(5)
#define F_MRG       VIRTIO_BIT(15)
#define F_STATUS    VIRTIO_BIT(16)

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

#define SENT_MAX 8
struct fixture {
	struct vh_ram guest;
	uint8_t *ram;					/* guest.bytes */
	struct vh_queue q[2];
	struct vh_irqs irqs;				/* the backend thread raises them too */
	struct virtio_net *net;
	struct netdev *nd;
	unsigned offers;				/* frames the backend offered the device (atomic) */
	uint64_t next_buf;
	/* what the fake backend was sent */
	pthread_mutex_t lock;
	unsigned nsent;
	uint8_t sent[SENT_MAX][2048];
	size_t sent_len[SENT_MAX];
};

/* A backend with no host side: it records what the guest sends; frames for the guest come from netdev_queue(). */
static void fake_poll_fill(struct netdev *nd, bool want_input, int *timeout_ms)
{
}

static void fake_poll_dispatch(struct netdev *nd, bool poll_failed)
{
}

static void fake_send(struct netdev *nd, const struct iovec *iov, unsigned n)
{
	struct fixture *f = nd->priv;
	size_t len = 0;

	pthread_mutex_lock(&f->lock);
	if (f->nsent < SENT_MAX) {
		for (unsigned i = 0; i < n; i++) {
			size_t chunk = iov[i].iov_len < sizeof(f->sent[0]) - len ? iov[i].iov_len
										: sizeof(f->sent[0]) - len;

			memcpy(f->sent[f->nsent] + len, iov[i].iov_base, chunk);
			len += chunk;
		}
		f->sent_len[f->nsent++] = len;
	}
	pthread_mutex_unlock(&f->lock);
}

static void fake_close(struct netdev *nd)
{
}

static const struct netdev_ops fake_ops = {
	.name = "fake",
	.poll_fill = fake_poll_fill,
	.poll_dispatch = fake_poll_dispatch,
	.send = fake_send,
	.close = fake_close,
};

/* The device's receive, counted: how a test sees the backend thread try. */
static bool counting_receive(void *opaque, const void *frame, size_t len)
{
	struct fixture *f = opaque;

	__atomic_add_fetch(&f->offers, 1, __ATOMIC_RELAXED);
	return virtio_net_receive(f->net, frame, len);
}

static unsigned irqs(struct fixture *f, unsigned q)
{
	return vh_count(&f->irqs.queue[q]);
}

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = vh_ram_alloc(&f->guest, RAM_SIZE);
	f->net = malloc(sizeof(*f->net));
	assert_non_null(f->net);
	virtio_net_init(f->net, "virtio-net-test", guest_mac, &f->guest.dma);
	vh_attach_counter(&f->net->vd, &f->irqs);
	f->next_buf = BUF_BASE;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static int setup_fake(void **state)
{
	struct fixture *f = fixture_new();
	struct netdev_rx rx = { counting_receive, f };
	char err[128];

	assert_int_equal(netdev_create(&f->nd, &fake_ops, f, &rx, err, sizeof(err)), 0);
	virtio_net_attach(f->net, f->nd);
	*state = f;
	return 0;
}

static int setup_slirp(void **state)
{
	struct fixture *f = fixture_new();
	struct netdev_rx rx = { virtio_net_receive, f->net };
	struct net_config cfg;
	char err[128];

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = NET_USER;
	memcpy(cfg.mac, guest_mac, 6);
	assert_int_equal(netdev_open(&f->nd, &cfg, &rx, err, sizeof(err)), 0);
	virtio_net_attach(f->net, f->nd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	netdev_close(f->nd);
	virtio_net_destroy(f->net);
	pthread_mutex_destroy(&f->lock);
	free(f->net);
	vh_ram_free(&f->guest);
	free(f);
	return 0;
}

/* A new driver (3.1.1) on empty rings; DRIVER_OK unless `stop_before_ok`. */
static void driver_up(struct fixture *f, uint64_t features, bool stop_before_ok)
{
	for (unsigned q = 0; q < 2; q++) {
		f->q[q] = vh_queue_layout(q, QSIZE);
		memset(f->ram + f->q[q].desc, 0, 0x1000);
	}
	vh_driver_start(&f->net->vd, features | VIRTIO_BIT(VIRTIO_F_VERSION_1), f->q, 2, !stop_before_ok);
}

static uint16_t add_chain(struct fixture *f, unsigned q, const struct vh_seg *segs, unsigned n)
{
	return vh_add_chain(f->ram, &f->q[q], segs, n);
}

/* A fresh guest buffer of len bytes. */
static uint64_t buf(struct fixture *f, uint32_t len)
{
	uint64_t gpa = f->next_buf;

	f->next_buf = (f->next_buf + len + 63) & ~63ull;
	assert_true(f->next_buf < RAM_SIZE);
	return gpa;
}

/* One writable receive chain of len bytes; returns its buffer's address. */
static uint64_t post_rx(struct fixture *f, uint32_t len)
{
	struct vh_seg s = { buf(f, len), len, true };

	add_chain(f, RXQ, &s, 1);
	return s.gpa;
}

static void notify(struct fixture *f, unsigned q)
{
	vh_notify(&f->net->vd, q);
}

static uint16_t used_idx(struct fixture *f, unsigned q)
{
	return vh_used_idx(f->ram, &f->q[q]);
}

static void expect_used(struct fixture *f, unsigned q, unsigned i, uint32_t id, uint32_t len)
{
	vh_expect_used(f->ram, &f->q[q], i, id, len);
}

static void fill_frame(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static bool wait_used(struct fixture *f, unsigned q, uint16_t want)
{
	for (int i = 0; i < 10000; i++) {
		if (used_idx(f, q) == want)
			return true;
		usleep(1000);
	}
	return false;
}

/* A frame the device takes and drops (counted), using no chain and leaving every one in the ring. */
static void expect_rx_dropped(struct fixture *f, const uint8_t *frame, size_t len, uint64_t dropped)
{
	assert_true(virtio_net_receive(f->net, frame, len));
	assert_int_equal(f->net->rx_dropped, dropped);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(f->net->vd.vq[RXQ].last_avail, 0);
}

static void test_config_and_features(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *vd = &f->net->vd;

	assert_int_equal(vd->device_id, VIRTIO_ID_NET);
	assert_int_equal(vd->nr_queues, 2);
	assert_true(vd->host_features & F_MAC);
	assert_true(vd->host_features & F_STATUS);
	assert_true(vd->host_features & F_MRG);
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	/* No offloads and no control queue: correctness first. */
	assert_false(vd->host_features & (VIRTIO_BIT(0) | VIRTIO_BIT(1) | VIRTIO_BIT(17)));

	assert_int_equal(vh_config_read(vd, 0, 4), 0xab005452u);
	assert_int_equal(vh_config_read(vd, 4, 2), 0xefcd);
	assert_int_equal(vh_config_read(vd, 6, 2), 1);		/* VIRTIO_NET_S_LINK_UP */
	assert_int_equal(vh_config_read(vd, 8, 2), 1);		/* max_virtqueue_pairs */
	assert_int_equal(vh_config_read(vd, 5, 1), 0xef);
	assert_int_equal(vh_config_read(vd, 0x40, 4), 0);
	/* The MAC is read-only to a modern driver. */
	vh_config_write(vd, 0, 4, 0);
	assert_int_equal(vh_config_read(vd, 0, 1), 0x52);
	/* An Ethernet-MTU backend: no VIRTIO_NET_F_MTU (bit 3). */
	assert_false(vd->host_features & VIRTIO_BIT(3));
}

/* The user network carries 64 KiB packets: the MTU is offered and readable at offset 10 (5.1.4). */
static void test_user_network_mtu(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *vd = &f->net->vd;

	assert_int_equal(netdev_mtu(f->nd), NET_USER_MTU);
	assert_true(vd->host_features & VIRTIO_BIT(3));
	assert_int_equal(vh_config_read(vd, 10, 2), NET_USER_MTU);
}

static void test_tx_frame(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[60];
	struct vh_seg s[3];

	driver_up(f, F_MAC | F_STATUS, false);
	fill_frame(frame, sizeof(frame), 3);
	/* Header and frame across three buffers, the frame split mid-way. */
	s[0] = (struct vh_seg){ buf(f, HDR), HDR, false };
	s[1] = (struct vh_seg){ buf(f, 20), 20, false };
	s[2] = (struct vh_seg){ buf(f, 40), 40, false };
	memset(f->ram + s[0].gpa, 0, HDR);
	memcpy(f->ram + s[1].gpa, frame, 20);
	memcpy(f->ram + s[2].gpa, frame + 20, 40);
	assert_int_equal(add_chain(f, TXQ, s, 3), 0);
	notify(f, TXQ);

	assert_int_equal(f->nsent, 1);
	assert_int_equal(f->sent_len[0], 60);
	assert_memory_equal(f->sent[0], frame, 60);
	assert_int_equal(used_idx(f, TXQ), 1);
	expect_used(f, TXQ, 0, 0, 0);
	assert_int_equal(irqs(f, TXQ), 1);
	assert_int_equal(f->net->tx_dropped, 0);
}

static void test_tx_batch_one_interrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[HDR + 64];

	driver_up(f, F_MAC, false);
	for (unsigned i = 0; i < 3; i++) {
		struct vh_seg s = { buf(f, sizeof(frame)), sizeof(frame), false };

		memset(frame, 0, HDR);
		fill_frame(frame + HDR, 64, (uint8_t)i);
		memcpy(f->ram + s.gpa, frame, sizeof(frame));
		add_chain(f, TXQ, &s, 1);
	}
	notify(f, TXQ);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(f->sent[2][0], 2);
	assert_int_equal(used_idx(f, TXQ), 3);
	assert_int_equal(irqs(f, TXQ), 1);
}

static void test_tx_writable_needs_reset(void **state)
{
	struct fixture *f = *state;
	struct vh_seg s[2];

	driver_up(f, F_MAC, false);
	s[0] = (struct vh_seg){ buf(f, HDR + 60), HDR + 60, false };
	s[1] = (struct vh_seg){ buf(f, 64), 64, true };
	add_chain(f, TXQ, s, 2);
	notify(f, TXQ);
	assert_int_equal(f->nsent, 0);
	assert_true(f->net->vd.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vh_count(&f->irqs.config), 1);
	assert_int_equal(used_idx(f, TXQ), 0);
}

static void test_tx_runt_and_giant(void **state)
{
	struct fixture *f = *state;
	struct vh_seg s;

	driver_up(f, F_MAC, false);
	/* A header alone, a header and 13 bytes: shorter than an Ethernet header. */
	s = (struct vh_seg){ buf(f, HDR), HDR, false };
	add_chain(f, TXQ, &s, 1);
	s = (struct vh_seg){ buf(f, HDR + 13), HDR + 13, false };
	add_chain(f, TXQ, &s, 1);
	/* Larger than any frame. */
	s = (struct vh_seg){ buf(f, HDR + NET_MAX_FRAME + 1), HDR + NET_MAX_FRAME + 1, false };
	add_chain(f, TXQ, &s, 1);
	notify(f, TXQ);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(f->net->tx_dropped, 3);
	/* Each chain still goes back, and the device is fine. */
	assert_int_equal(used_idx(f, TXQ), 3);
	assert_false(f->net->vd.status & VIRTIO_STATUS_NEEDS_RESET);
}

static void check_rx_header(struct fixture *f, uint64_t gpa, uint16_t num_buffers)
{
	static const uint8_t zero[10];

	assert_memory_equal(f->ram + gpa, zero, 10);
	assert_int_equal(get16(f->ram + gpa + 10), num_buffers);
}

static void test_rx_single(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[100];
	struct vh_seg s[2];

	driver_up(f, F_MAC | F_STATUS, false);
	/* The header split over two buffers: the device must not care. */
	s[0] = (struct vh_seg){ buf(f, 10), 10, true };
	s[1] = (struct vh_seg){ buf(f, 1516), 1516, true };
	add_chain(f, RXQ, s, 2);
	fill_frame(frame, sizeof(frame), 9);
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	assert_int_equal(used_idx(f, RXQ), 1);
	expect_used(f, RXQ, 0, 0, HDR + sizeof(frame));
	assert_memory_equal(f->ram + s[0].gpa, "\0\0\0\0\0\0\0\0\0\0", 10);
	assert_int_equal(get16(f->ram + s[1].gpa), 1);		/* num_buffers: 1 without MRG_RXBUF */
	assert_memory_equal(f->ram + s[1].gpa + 2, frame, sizeof(frame));
	assert_int_equal(irqs(f, RXQ), 1);
}

static void test_rx_too_small_without_mrg(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[100];
	uint64_t gpa;
	uint32_t id, len;

	driver_up(f, F_MAC, false);
	gpa = post_rx(f, 50);
	fill_frame(frame, sizeof(frame), 1);
	/* Dropped, and the chain stays in the ring untouched... */
	expect_rx_dropped(f, frame, sizeof(frame), 1);
	/* ...for a frame that fits. */
	assert_true(virtio_net_receive(f->net, frame, 30));
	assert_int_equal(used_idx(f, RXQ), 1);
	vh_used_elem(f->ram, &f->q[RXQ], 0, &id, &len);
	assert_int_equal(len, HDR + 30);
	check_rx_header(f, gpa, 1);
	assert_memory_equal(f->ram + gpa + HDR, frame, 30);
}

static void test_rx_mergeable(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[150], got[150];
	uint64_t gpa[3];

	driver_up(f, F_MAC | F_MRG, false);
	for (unsigned i = 0; i < 3; i++)
		gpa[i] = post_rx(f, 64);
	fill_frame(frame, sizeof(frame), 77);
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	/* 12 + 150 bytes: 64 + 64 + 34, the first two filled completely (5.1.6.4). */
	assert_int_equal(used_idx(f, RXQ), 3);
	expect_used(f, RXQ, 0, 0, 64);
	expect_used(f, RXQ, 1, 1, 64);
	expect_used(f, RXQ, 2, 2, 34);
	check_rx_header(f, gpa[0], 3);
	memcpy(got, f->ram + gpa[0] + HDR, 52);
	memcpy(got + 52, f->ram + gpa[1], 64);
	memcpy(got + 116, f->ram + gpa[2], 34);
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(irqs(f, RXQ), 1);

	/* A small frame takes one buffer and says so. */
	gpa[0] = post_rx(f, 1526);
	assert_true(virtio_net_receive(f->net, frame, 42));
	assert_int_equal(used_idx(f, RXQ), 4);
	check_rx_header(f, gpa[0], 1);
}

static void test_rx_mergeable_waits_for_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[150];

	driver_up(f, F_MAC | F_MRG, false);
	post_rx(f, 64);
	fill_frame(frame, sizeof(frame), 5);
	/* Not enough room yet: nothing used, the chain given back, the backend keeps the frame. */
	assert_false(virtio_net_receive(f->net, frame, sizeof(frame)));
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(f->net->vd.vq[RXQ].last_avail, 0);
	assert_int_equal(f->net->rx_dropped, 0);
	post_rx(f, 64);
	post_rx(f, 64);
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	assert_int_equal(used_idx(f, RXQ), 3);
}

static void test_rx_mergeable_ring_too_small(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[400];

	driver_up(f, F_MAC | F_MRG, false);
	/* The whole ring holds 16 * 16 bytes: a 400-byte frame never fits, so waiting would stall forever. */
	for (unsigned i = 0; i < QSIZE; i++)
		post_rx(f, 16);
	memset(frame, 0, sizeof(frame));
	expect_rx_dropped(f, frame, sizeof(frame), 1);
	/* The buffers still serve frames that fit: 12 + 20 bytes in two of them. */
	assert_true(virtio_net_receive(f->net, frame, 20));
	assert_int_equal(used_idx(f, RXQ), 2);
}

static void test_rx_bad_chains_need_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[60] = { 0 };
	struct vh_seg s[2];

	/* A device-readable buffer in the receiveq. */
	driver_up(f, F_MAC, false);
	s[0] = (struct vh_seg){ buf(f, 64), 64, false };
	s[1] = (struct vh_seg){ buf(f, 1600), 1600, true };
	add_chain(f, RXQ, s, 2);
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	assert_true(f->net->vd.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(f, RXQ), 0);
	/* From now on frames are eaten, not held. */
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));

	/* With MRG_RXBUF, a buffer shorter than the header (5.1.6.3.1). */
	f->next_buf = BUF_BASE;
	driver_up(f, F_MAC | F_MRG, false);
	assert_false(f->net->vd.status & VIRTIO_STATUS_NEEDS_RESET);
	post_rx(f, 8);
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	assert_true(f->net->vd.status & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_rx_link_without_driver(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[60] = { 0 };

	/* Before DRIVER_OK, buffers or not, frames are dropped rather than held. */
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	driver_up(f, F_MAC, true);
	post_rx(f, 1526);
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	assert_int_equal(f->net->rx_dropped, 2);
	assert_int_equal(used_idx(f, RXQ), 0);
	/* And after a driver reset. */
	driver_up(f, F_MAC, false);
	pthread_mutex_lock(&f->net->vd.lock);
	virtio_set_status(&f->net->vd, 0);
	pthread_mutex_unlock(&f->net->vd.lock);
	assert_true(virtio_net_receive(f->net, frame, sizeof(frame)));
	assert_int_equal(f->net->rx_dropped, 3);
}

/* Through the backend's thread: a frame with no buffer waits, and the rx notification lets it in. */
static void test_rx_held_until_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[80];
	uint64_t gpa;

	driver_up(f, F_MAC | F_MRG, false);
	assert_int_equal(netdev_start(f->nd), 0);
	fill_frame(frame, sizeof(frame), 42);
	assert_true(netdev_queue(f->nd, frame, sizeof(frame)));
	for (int i = 0; i < 1000 && !__atomic_load_n(&f->offers, __ATOMIC_RELAXED); i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&f->offers, __ATOMIC_RELAXED), 1);
	/* Refused for want of buffers, so held, and not offered again until the driver posts some. */
	usleep(100000);
	assert_int_equal(__atomic_load_n(&f->offers, __ATOMIC_RELAXED), 1);
	assert_int_equal(netdev_held_count(f->nd), 1);
	assert_int_equal(used_idx(f, RXQ), 0);

	gpa = post_rx(f, 1526);
	notify(f, RXQ);
	assert_true(wait_used(f, RXQ, 1));
	check_rx_header(f, gpa, 1);
	assert_memory_equal(f->ram + gpa + HDR, frame, sizeof(frame));
	netdev_stop(f->nd);
}

/* The real thing: an ARP request for the gateway on the transmitq, slirp's reply in the receiveq. */
static void test_slirp_arp(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[HDR + FRAME_ARP_LEN], *reply;
	struct vh_seg s;
	uint64_t rxbuf[4];
	uint32_t id, len;

	driver_up(f, F_MAC | F_STATUS | F_MRG | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), false);
	assert_int_equal(netdev_start(f->nd), 0);
	for (unsigned i = 0; i < 4; i++)
		rxbuf[i] = post_rx(f, 1526);
	notify(f, RXQ);

	memset(pkt, 0, HDR);
	frame_arp_request(pkt + HDR, guest_mac, FRAME_GATEWAY_IP);
	s = (struct vh_seg){ buf(f, sizeof(pkt)), sizeof(pkt), false };
	memcpy(f->ram + s.gpa, pkt, sizeof(pkt));
	add_chain(f, TXQ, &s, 1);
	notify(f, TXQ);
	assert_int_equal(used_idx(f, TXQ), 1);

	assert_true(wait_used(f, RXQ, 1));
	vh_used_elem(f->ram, &f->q[RXQ], 0, &id, &len);
	assert_int_equal(id, 0);
	assert_true(len >= HDR + 42);
	check_rx_header(f, rxbuf[0], 1);
	reply = f->ram + rxbuf[0] + HDR;
	assert_memory_equal(reply, guest_mac, 6);			/* to us */
	assert_int_equal(reply[12] << 8 | reply[13], 0x0806);
	assert_int_equal(reply[14 + 7], 2);				/* ARP reply */
	assert_memory_equal(reply + 14 + 14, "\x0a\x00\x02\x02", 4);	/* 10.0.2.2 is at... */
	assert_memory_equal(reply + 14 + 18, guest_mac, 6);		/* ...told to us */
	assert_true(irqs(f, RXQ) >= 1);
	netdev_stop(f->nd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_features, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_tx_frame, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_tx_batch_one_interrupt, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_tx_writable_needs_reset, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_tx_runt_and_giant, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_single, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_too_small_without_mrg, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_waits_for_buffers, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_ring_too_small, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_chains_need_reset, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_link_without_driver, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_rx_held_until_buffers, setup_fake, teardown),
		cmocka_unit_test_setup_teardown(test_slirp_arp, setup_slirp, teardown),
		cmocka_unit_test_setup_teardown(test_user_network_mtu, setup_slirp, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
