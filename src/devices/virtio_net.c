/* virtio-net (virtio 1.2, 5.1): guest frames from the transmitq to the backend, backend frames into the receiveq. */
#include <string.h>

#include "common/le.h"
#include "devices/virtio_net.h"

#define NET_RXQ 0
#define NET_TXQ 1

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_MTU       3
#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS    16

#define VIRTIO_NET_S_LINK_UP   1

/*
 * struct virtio_net_hdr (5.1.6): flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers. With VERSION_1 it is always
 * 12 bytes, num_buffers included, whether or not MRG_RXBUF is on.
 */
#define NET_HDR_LEN         12
#define NET_HDR_NUM_BUFFERS 10

#define ETH_HDR_LEN 14

/* Device configuration (5.1.4): mac[6], status, max_virtqueue_pairs, mtu; nothing past that is offered. */
#define NET_CFG_MAC        0
#define NET_CFG_STATUS     6
#define NET_CFG_MAX_PAIRS  8
#define NET_CFG_MTU        10
#define NET_CFG_SIZE       12

static void tx_flush(struct virtio_net *n)
{
	struct virtio_dev *vd = &n->vd;
	struct virtq_elem *e = &n->elem;
	unsigned pushed = 0;

	while (virtio_pop(vd, NET_TXQ, e) > 0) {
		uint64_t frame_len;

		if (e->nr_in) {
			/* 5.1.6.2: a transmitted packet is header + frame, all device-readable. */
			virtio_needs_reset(vd, "%s: transmitq chain %u has %u device-writable buffers",
					   vd->name, e->head, e->nr_in);
			return;
		}
		frame_len = e->out_len >= NET_HDR_LEN ? e->out_len - NET_HDR_LEN : 0;
		/*
		 * The header asks for nothing we offered (no checksum or GSO
		 * features), so it is skipped unread. A chain too short to hold
		 * an Ethernet header, or longer than any frame, is dropped the
		 * way a wire drops a runt or a giant; the chain still goes back.
		 */
		if (frame_len < ETH_HDR_LEN || frame_len > NET_MAX_FRAME) {
			n->tx_dropped++;
		} else {
			struct iovec iov = { .iov_base = n->frame, .iov_len = (size_t)frame_len };

			iov_to_buf(e->out, e->nr_out, NET_HDR_LEN, n->frame, (size_t)frame_len);
			/* Never calls back into this device: the backend queues what the host answers. */
			netdev_send(n->backend, &iov, 1);
		}
		virtq_push(&vd->vq[NET_TXQ], e->head, 0);
		pushed++;
	}
	if (pushed)
		virtio_queue_interrupt(vd, NET_TXQ);
}

/*
 * Give back chains popped for a frame that is not delivered after all: the
 * driver never saw them used, so moving last_avail back returns them to
 * the ring untouched (what they hold is the device's to overwrite).
 */
static void rx_unpop(struct virtq *q, unsigned count)
{
	q->last_avail = (uint16_t)(q->last_avail - count);
}

static void rx_header(uint8_t hdr[NET_HDR_LEN], uint16_t num_buffers)
{
	/* No GUEST_CSUM or GUEST_* GSO features: flags 0, GSO_NONE, and every offload field 0 (5.1.6.4). */
	memset(hdr, 0, NET_HDR_LEN);
	put16(hdr + NET_HDR_NUM_BUFFERS, num_buffers);
}

/* Without MRG_RXBUF: the whole frame in one chain. Returns whether the frame is consumed (delivered or dropped). */
static bool rx_single(struct virtio_net *n, const void *frame, size_t len)
{
	struct virtio_dev *vd = &n->vd;
	struct virtq *q = &vd->vq[NET_RXQ];
	struct virtq_elem *e = &n->elem;
	uint8_t hdr[NET_HDR_LEN];
	int r;

	r = virtio_pop(vd, NET_RXQ, e);
	if (r < 0) {
		n->rx_dropped++;	/* malformed chain: the device now needs a reset */
		return true;
	}
	if (r == 0)
		return false;		/* no buffer yet: the backend holds the frame */
	if (e->nr_out) {
		virtio_needs_reset(vd, "%s: receiveq chain %u has %u device-readable buffers",
				   vd->name, e->head, e->nr_out);
		n->rx_dropped++;
		return true;
	}
	if (e->in_len < NET_HDR_LEN + len) {
		/*
		 * 5.1.6.3.1: without MRG_RXBUF the driver SHOULD post buffers
		 * that hold any frame it can get (1526 bytes without GSO). One
		 * that is too small receives nothing: the frame is dropped, and
		 * the chain goes back to the ring for a later, smaller frame,
		 * rather than being used with a truncated frame the driver
		 * could take for a whole one.
		 */
		rx_unpop(q, 1);
		n->rx_dropped++;
		return true;
	}
	rx_header(hdr, 1);	/* 5.1.6.4: num_buffers is 1 without MRG_RXBUF */
	iov_from_buf(e->in, e->nr_in, 0, hdr, NET_HDR_LEN);
	iov_from_buf(e->in, e->nr_in, NET_HDR_LEN, frame, len);
	virtq_note_written(q, e, NET_HDR_LEN + len);
	virtq_push(q, e->head, (uint32_t)(NET_HDR_LEN + len));
	virtio_queue_interrupt(vd, NET_RXQ);
	return true;
}

/* The host address of byte `off` of a segment list (off inside it). */
static uint8_t *iov_byte(const struct iovec *iov, unsigned n, size_t off)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (off < iov[i].iov_len)
			return (uint8_t *)iov[i].iov_base + off;
		off -= iov[i].iov_len;
	}
	return NULL;
}

/*
 * With MRG_RXBUF: header + frame spread over as many chains as it takes,
 * each filled completely but the last, num_buffers in the first chain's
 * header (5.1.6.4). The used entries are pushed only once the whole frame
 * is placed, so the driver never sees part of a frame.
 */
static bool rx_mergeable(struct virtio_net *n, const void *frame, size_t len)
{
	struct virtio_dev *vd = &n->vd;
	struct virtq *q = &vd->vq[NET_RXQ];
	struct virtq_elem *e = &n->elem;
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t written[VIRTQ_MAX_SIZE];
	uint8_t *num_buffers[2] = { NULL, NULL };
	uint8_t hdr[NET_HDR_LEN];
	size_t done = 0;		/* frame bytes placed */
	unsigned nbuf = 0, i;
	int r;

	rx_header(hdr, 0);
	do {
		size_t skip = 0, chunk;

		/* Every chain of the ring is taken and the frame still does not fit: it never will. */
		if (nbuf == q->size || nbuf == VIRTQ_MAX_SIZE) {
			rx_unpop(q, nbuf);
			n->rx_dropped++;
			return true;
		}
		r = virtio_pop(vd, NET_RXQ, e);
		if (r < 0) {
			n->rx_dropped++;
			return true;
		}
		if (r == 0) {
			/* Not enough buffers yet: give back the ones taken and let the backend hold the frame. */
			rx_unpop(q, nbuf);
			return false;
		}
		if (e->nr_out || e->in_len < NET_HDR_LEN) {
			/* 5.1.6.3.1: with MRG_RXBUF every buffer MUST hold at least the header, device-writable. */
			virtio_needs_reset(vd, "%s: receiveq chain %u is %s", vd->name, e->head,
					   e->nr_out ? "device-readable" : "shorter than the header");
			n->rx_dropped++;
			return true;
		}
		if (nbuf == 0) {
			iov_from_buf(e->in, e->nr_in, 0, hdr, NET_HDR_LEN);
			num_buffers[0] = iov_byte(e->in, e->nr_in, NET_HDR_NUM_BUFFERS);
			num_buffers[1] = iov_byte(e->in, e->nr_in, NET_HDR_NUM_BUFFERS + 1);
			skip = NET_HDR_LEN;
		}
		chunk = e->in_len - skip < len - done ? (size_t)(e->in_len - skip) : len - done;
		iov_from_buf(e->in, e->nr_in, skip, (const uint8_t *)frame + done, chunk);
		virtq_note_written(q, e, skip + chunk);
		done += chunk;
		heads[nbuf] = e->head;
		written[nbuf] = (uint32_t)(skip + chunk);
		nbuf++;
	} while (done < len);

	/* The first chain holds at least the header, so both bytes were found. */
	*num_buffers[0] = (uint8_t)nbuf;
	*num_buffers[1] = (uint8_t)(nbuf >> 8);
	for (i = 0; i < nbuf; i++)
		virtq_push(q, heads[i], written[i]);
	virtio_queue_interrupt(vd, NET_RXQ);
	return true;
}

bool virtio_net_receive(void *opaque, const void *frame, size_t len)
{
	struct virtio_net *n = opaque;
	struct virtio_dev *vd = &n->vd;
	bool consumed;

	pthread_mutex_lock(&vd->lock);
	if (!virtio_queue_ready(vd, NET_RXQ) || len > NET_MAX_FRAME) {
		/* No driver listening (or needs-reset): the link eats the frame rather than block the backend. */
		n->rx_dropped++;
		consumed = true;
	} else if (vd->driver_features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)) {
		consumed = rx_mergeable(n, frame, len);
	} else {
		consumed = rx_single(n, frame, len);
	}
	pthread_mutex_unlock(&vd->lock);
	return consumed;
}

static void net_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct virtio_net *n = vd->opaque;

	if (q == NET_TXQ)
		tx_flush(n);
	else if (q == NET_RXQ)
		netdev_rx_ready(n->backend);	/* new buffers: held frames can go in (from the backend's thread) */
}

static void net_driver_ok(struct virtio_dev *vd)
{
	struct virtio_net *n = vd->opaque;

	netdev_rx_ready(n->backend);
}

static void net_reset(struct virtio_dev *vd)
{
	/*
	 * Nothing is kept between calls: every chain is pushed (or given back)
	 * before the lock is dropped. Frames the backend still holds are
	 * dropped on delivery while the driver is not ready.
	 */
}

static void net_config_bytes(const struct virtio_net *n, uint8_t cfg[NET_CFG_SIZE])
{
	memset(cfg, 0, NET_CFG_SIZE);
	memcpy(cfg + NET_CFG_MAC, n->mac, 6);
	put16(cfg + NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);	/* the link is always up */
	put16(cfg + NET_CFG_MAX_PAIRS, 1);
	put16(cfg + NET_CFG_MTU, n->mtu);			/* read only with VIRTIO_NET_F_MTU */
}

static void net_config_read(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t *data)
{
	struct virtio_net *n = vd->opaque;
	uint8_t cfg[NET_CFG_SIZE];

	net_config_bytes(n, cfg);
	*data = virtio_config_bytes(cfg, NET_CFG_SIZE, offset, size);
}

static void net_config_write(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t data)
{
	/* 5.1.4.2: the driver MUST NOT write the configuration (no VIRTIO_NET_F_CTRL_MAC_ADDR): ignored. */
}

static const struct virtio_dev_ops net_ops = {
	.reset = net_reset,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.queue_notify = net_queue_notify,
	.driver_ok = net_driver_ok,
};

void virtio_net_init(struct virtio_net *n, const char *name, const uint8_t mac[6],
		     const struct dma_space *dma)
{
	memset(n, 0, sizeof(*n));
	memcpy(n->mac, mac, 6);
	n->mtu = NET_ETH_MTU;
	virtio_dev_init(&n->vd, name, VIRTIO_ID_NET,
			VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
			VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
			2, &net_ops, n, dma);
}

void virtio_net_attach(struct virtio_net *n, struct netdev *backend)
{
	pthread_mutex_lock(&n->vd.lock);
	n->backend = backend;
	/*
	 * A link with another MTU than Ethernet's tells the driver (5.1.4.1:
	 * the driver then uses it as its MTU). Attached before the guest
	 * runs, so the offer never changes under a driver.
	 */
	n->mtu = (uint16_t)netdev_mtu(backend);
	if (n->mtu != NET_ETH_MTU)
		n->vd.host_features |= VIRTIO_BIT(VIRTIO_NET_F_MTU);
	pthread_mutex_unlock(&n->vd.lock);
}

void virtio_net_destroy(struct virtio_net *n)
{
	virtio_dev_destroy(&n->vd);
}
