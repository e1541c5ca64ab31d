/*
 * Fuzz target: virtio-net over guest memory the input supplies. Transmitted
 * chains go to a real slirp backend (restricted: it answers ARP and DHCP
 * itself but opens no host connection, so fuzzing stays on this machine);
 * its answers, and a frame cut from the input, go through the receive path
 * into whatever receive ring the input built.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/net_priv.h"
#include "devices/virtio_net.h"
#include "virtio_fuzz.h"
#include "../unit/net_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static struct virtio_net *net;
static struct netdev *backend;
static uint8_t big_frame[NET_MAX_FRAME];
static uint8_t arp_request[FRAME_ARP_LEN], dhcp_discover[FRAME_DHCP_DISCOVER_LEN];

/*
 * Frames slirp answers (an ARP request for the gateway, a DHCP DISCOVER),
 * sent on the input's say: the fuzzer cannot find them by itself, libslirp
 * not being instrumented, and their answers are real receive traffic.
 */
static void build_canned_frames(void)
{
	frame_arp_request(arp_request, fuzz_mac, FRAME_GATEWAY_IP);
	frame_dhcp_discover(dhcp_discover, fuzz_mac, 0x7276667a);	/* xid "rvfz" */
}

/* One backend for the process (no thread: frames for the guest are delivered by hand below). */
static void open_backend(void)
{
	struct netdev_rx rx;
	struct net_config cfg;
	char err[256];

	net = malloc(sizeof(*net));
	if (!net)
		abort();
	rx.receive = virtio_net_receive;
	rx.opaque = net;
	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = NET_USER;
	memcpy(cfg.mac, fuzz_mac, 6);
	if (net_slirp_open(&backend, &cfg, true, &rx, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_virtio_net: %s\n", err);
		abort();
	}
	for (size_t i = 0; i < sizeof(big_frame); i++)
		big_frame[i] = (uint8_t)(i * 13 + 1);
	build_canned_frames();
}

static void send_canned(const uint8_t *frame, size_t len)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

	netdev_send(backend, &iov, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctl c = fuzz_ctl_of(data, size);
	size_t big_len;

	if (!net)
		open_backend();
	virtio_net_init(net, "net-fuzz", fuzz_mac, &fuzz_dma);
	virtio_net_attach(net, backend);

	fuzz_virtio_drive(&net->vd, data, size);

	if (c.target & 1)
		send_canned(arp_request, sizeof(arp_request));
	if (c.target & 2)
		send_canned(dhcp_discover, sizeof(dhcp_discover));
	/* slirp's answers to what was transmitted, into the receive ring. */
	netdev_rx_ready(backend);
	netdev_deliver_held(backend);
	/* The input itself as a frame, and a large one sized by the input (merged buffers, too-small chains). */
	virtio_net_receive(net, data, size < NET_MAX_FRAME ? size : NET_MAX_FRAME);
	big_len = ((size_t)c.target << 8 | c.flags) * 5 % (sizeof(big_frame) + 1);
	virtio_net_receive(net, big_frame, big_len);

	/* A reset, then whatever is still held is dropped through the same path: the next run starts clean. */
	pthread_mutex_lock(&net->vd.lock);
	virtio_set_status(&net->vd, 0);
	pthread_mutex_unlock(&net->vd.lock);
	netdev_rx_ready(backend);
	netdev_deliver_held(backend);
	virtio_net_destroy(net);
	return 0;
}
