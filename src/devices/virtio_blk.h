/* virtio-blk (virtio 1.2, 5.2): read, write, flush, get-id, discard and write-zeroes on a host disk image. */
#ifndef RV_DEVICES_VIRTIO_BLK_H
#define RV_DEVICES_VIRTIO_BLK_H

#include "backend/disk.h"
#include "devices/virtio.h"

#define VIRTIO_BLK_ID_BYTES 20

struct virtio_blk {
	struct virtio_dev vd;
	struct disk *disk;
	char serial[VIRTIO_BLK_ID_BYTES];	/* GET_ID answer; NUL-padded, not terminated when full */
	struct virtq_elem elem;			/* the request being served (too big for the stack) */
};

/* A block device on an open disk (read-only disks advertise VIRTIO_BLK_F_RO). serial may be NULL. */
void virtio_blk_init(struct virtio_blk *b, const char *name, struct disk *disk, const char *serial,
		     const struct dma_space *dma);
void virtio_blk_destroy(struct virtio_blk *b);

#endif
