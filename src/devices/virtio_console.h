/* virtio-console (virtio 1.2, 5.3), one port without multiport: the guest's hvc0, wired to host file descriptors. */
#ifndef RV_DEVICES_VIRTIO_CONSOLE_H
#define RV_DEVICES_VIRTIO_CONSOLE_H

#include <stddef.h>

#include "devices/virtio.h"

struct virtio_console {
	struct virtio_dev vd;
	int out_fd;				/* what the guest writes to hvc0 goes here */
	struct virtq_elem elem;
};

void virtio_console_init(struct virtio_console *c, const char *name, int out_fd,
			 const struct dma_space *dma);
/*
 * Host input for the guest (any thread): copies into the receive queue's
 * buffers and returns how many bytes it took, 0 when the guest has none
 * posted (the caller retries later, as with the UART's FIFO).
 */
size_t virtio_console_receive(struct virtio_console *c, const void *buf, size_t len);
void virtio_console_destroy(struct virtio_console *c);

#endif
