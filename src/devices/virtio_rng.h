/* virtio-rng (virtio 1.2, 5.4): the guest's entropy requests filled from the host's getrandom(). */
#ifndef RV_DEVICES_VIRTIO_RNG_H
#define RV_DEVICES_VIRTIO_RNG_H

#include "devices/virtio.h"

struct virtio_rng {
	struct virtio_dev vd;
	struct virtq_elem elem;
};

void virtio_rng_init(struct virtio_rng *r, const char *name, const struct dma_space *dma);
void virtio_rng_destroy(struct virtio_rng *r);

#endif
