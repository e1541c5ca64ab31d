/* A virtio device independent of its transport (virtio 1.2, ch. 2-3): status, features, queues, interrupts, needs-reset. */
#ifndef RV_DEVICES_VIRTIO_H
#define RV_DEVICES_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/dma.h"
#include "devices/virtqueue.h"

#define VIRTIO_MAX_QUEUES 8

/* Device IDs (5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* Device status field (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

#define VIRTIO_BIT(n) (1ull << (n))
#define VIRTIO_MSI_NO_VECTOR 0xffff

struct virtio_dev;

/* What a device type does; every callback runs with vd->lock held. */
struct virtio_dev_ops {
	/* Device reset (driver wrote 0 to status, or a machine reset): drop in-flight state. Queues are reset by the core. */
	void (*reset)(struct virtio_dev *vd);
	/* Device-specific configuration space (4.1.4.6): offset from its start; reads fill *data (little-endian value). */
	void (*config_read)(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t *data);
	void (*config_write)(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t data);
	/* The driver notified queue q (only when virtio_queue_ready(vd, q)). */
	void (*queue_notify)(struct virtio_dev *vd, unsigned q);
	/* Optional: the status reached DRIVER_OK (start delivering input, ...). */
	void (*driver_ok)(struct virtio_dev *vd);
};

/* How a device raises interrupts: the transport (virtio_pci.c) or a test double. */
struct virtio_transport_ops {
	/* Interrupt for queue q, or the configuration-change interrupt when q < 0. vd->lock held. */
	void (*interrupt)(void *transport, struct virtio_dev *vd, int q);
};

struct virtio_dev {
	pthread_mutex_t lock;		/* guards this struct and the device type's state */
	const char *name;		/* "virtio-blk0", for the log */
	uint16_t device_id;		/* VIRTIO_ID_* */
	uint64_t host_features;		/* offered; VERSION_1 always among them */
	uint64_t driver_features;	/* written by the driver */
	uint8_t status;
	uint8_t isr;			/* bit 0: queue interrupt, bit 1: configuration change (4.1.4.5) */
	uint8_t config_generation;
	uint16_t config_msix_vector;
	unsigned nr_queues;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	const struct dma_space *dma;
	const struct virtio_dev_ops *ops;
	void *opaque;			/* the device type's state */
	const struct virtio_transport_ops *transport;
	void *transport_opaque;
	/* Where needs-reset reasons and guest errors go (may be NULL). */
	void (*log)(void *opaque, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *log_opaque;
};

/*
 * Set up a device in the reset state: features (VERSION_1 is added),
 * nr_queues (<= VIRTIO_MAX_QUEUES) of VIRTQ_MAX_SIZE each. The transport
 * fills in `transport` when it takes the device.
 */
void virtio_dev_init(struct virtio_dev *vd, const char *name, uint16_t device_id,
		     uint64_t features, unsigned nr_queues, const struct virtio_dev_ops *ops,
		     void *opaque, const struct dma_space *dma);
void virtio_dev_destroy(struct virtio_dev *vd);

/*
 * A device-specific configuration read (ops->config_read) served from the
 * structure's bytes: the little-endian value of [offset, offset + size)
 * (size capped at 8); bytes past the structure read as 0.
 */
uint64_t virtio_config_bytes(const uint8_t *cfg, size_t cfg_size, unsigned offset, unsigned size);

/* Transport side, vd->lock held. */
/* Device reset: status, features, ISR, every queue, then ops->reset. */
void virtio_dev_reset(struct virtio_dev *vd);
/* A status write (2.1, 3.1.1): 0 resets; FEATURES_OK is refused (not kept) for an unacceptable feature set. */
void virtio_set_status(struct virtio_dev *vd, uint8_t status);
/* The driver enabled queue q: map and check it; a bad queue puts the device into needs-reset. */
void virtio_queue_enable(struct virtio_dev *vd, unsigned q);
/* A notification for queue q: passed to ops->queue_notify when the queue is ready. */
void virtio_queue_notify(struct virtio_dev *vd, unsigned q);

/* Device side, vd->lock held. */
/* DRIVER_OK, not NEEDS_RESET, and queue q enabled. */
bool virtio_queue_ready(const struct virtio_dev *vd, unsigned q);
/* Used buffers were pushed to queue q: interrupt if the driver wants one (virtq_should_interrupt). */
void virtio_queue_interrupt(struct virtio_dev *vd, unsigned q);
/* Configuration space changed: bump the generation and interrupt. */
void virtio_config_changed(struct virtio_dev *vd);
/*
 * The guest broke the rules (malformed chain, wrong direction, ...): log
 * the reason once, set DEVICE_NEEDS_RESET (2.1.2), raise the configuration
 * interrupt; no queue is processed until the driver resets the device.
 */
void virtio_needs_reset(struct virtio_dev *vd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Pop from queue q; a malformed chain calls virtio_needs_reset and returns -EINVAL. */
int virtio_pop(struct virtio_dev *vd, unsigned q, struct virtq_elem *e);

#endif
