/* virtio-net (virtio 1.2, 5.1): one receive and one transmit queue, MAC and link status, frames to and from a host backend. */
#ifndef RV_DEVICES_VIRTIO_NET_H
#define RV_DEVICES_VIRTIO_NET_H

#include "backend/net.h"
#include "devices/virtio.h"

struct virtio_net {
	struct virtio_dev vd;
	struct netdev *backend;			/* set by virtio_net_attach() */
	uint8_t mac[6];
	uint16_t mtu;				/* offered with VIRTIO_NET_F_MTU when not 1500 */
	struct virtq_elem elem;			/* the chain being served (too big for the stack) */
	uint8_t frame[NET_MAX_FRAME];		/* a transmitted frame, gathered */
	uint64_t rx_dropped, tx_dropped;	/* frames lost: no ready queue, too big, malformed (vd->lock) */
};

void virtio_net_init(struct virtio_net *n, const char *name, const uint8_t mac[6],
		     const struct dma_space *dma);
/* The backend's receive callback target: pass this as netdev_rx {virtio_net_receive, n}. */
bool virtio_net_receive(void *opaque, const void *frame, size_t len);
void virtio_net_attach(struct virtio_net *n, struct netdev *backend);
void virtio_net_destroy(struct virtio_net *n);

#endif
