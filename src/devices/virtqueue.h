/* Split virtqueues (virtio 1.2, 2.7): the device's side of the rings, with every guest value checked. */
#ifndef RV_DEVICES_VIRTQUEUE_H
#define RV_DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/dma.h"

#define VIRTQ_MAX_SIZE 256		/* the largest queue a ringvm device offers */
#define VIRTQ_MAX_SEGS VIRTQ_MAX_SIZE	/* a chain is at most queue-size descriptors (2.7.5.3.1) */

/* Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/*
 * One queue. The transport fills size/addresses/enabled as the driver
 * writes them; virtq_enable() checks and maps the rings. Guarded by the
 * owning device's lock.
 */
struct virtq {
	/* driver-set (through the transport's common configuration) */
	uint16_t size;			/* power of two, 1..VIRTQ_MAX_SIZE */
	uint16_t msix_vector;		/* VIRTIO_MSI_NO_VECTOR (0xffff) for none */
	bool enabled;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* device-side state */
	bool event_idx;			/* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_F_INDIRECT_DESC negotiated */
	uint16_t last_avail;		/* next avail ring entry to take */
	uint16_t used_idx;		/* next used ring entry to fill (shadow of used->idx) */
	uint16_t signalled_used;	/* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	const struct dma_space *dma;
	uint8_t *desc, *avail, *used;	/* host views of the rings, set by virtq_enable() */
};

/* One descriptor chain: device-readable segments (out) first, then device-writable (in). */
struct virtq_elem {
	uint16_t head;			/* id to give back in the used ring */
	unsigned nr_out, nr_in;
	uint64_t out_len, in_len;	/* byte totals */
	struct iovec out[VIRTQ_MAX_SEGS];
	struct iovec in[VIRTQ_MAX_SEGS];
};

/* Back to the reset state (size = max_size, no vector, disabled, indices 0). */
void virtq_reset(struct virtq *q, uint16_t max_size);

/*
 * The driver enabled the queue: check size (power of two, not above the
 * maximum) and ring alignment (2.7: desc 16, avail 2, used 4), map the
 * three rings through dma (each must lie in guest RAM) and take the
 * negotiated ring features. Returns 0, or -EINVAL with a reason in why.
 */
int virtq_enable(struct virtq *q, const struct dma_space *dma, uint64_t features,
		 char *why, size_t whylen);

/*
 * Take the next available chain. Returns 1 with *e filled, 0 if the ring is
 * empty (with EVENT_IDX it then publishes avail_event and looks once more),
 * or -EINVAL with a reason in why for anything malformed: avail index more
 * than size ahead, head or next index out of range, a loop or a chain
 * longer than the queue, a buffer outside guest RAM, a readable descriptor
 * after a writable one, nested or misused indirect tables. On an error the
 * caller puts the device into the needs-reset state (virtio_needs_reset).
 */
int virtq_pop(struct virtq *q, struct virtq_elem *e, char *why, size_t whylen);

/* The device wrote the first `len` bytes of e's device-writable buffers: report them (dma_written). */
void virtq_note_written(const struct virtq *q, const struct virtq_elem *e, size_t len);

/* Give a chain back: used ring entry {head, written}, then the used index (release order). */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* After one or more virtq_push(): whether the driver wants an interrupt now (2.7.7, 2.7.10). */
bool virtq_should_interrupt(struct virtq *q);

/* Whether chains wait in the ring (a cheap check, no validation). */
bool virtq_has_avail(const struct virtq *q);

/* Copy between a segment list and a flat buffer, starting `skip` bytes in; return bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);

#endif
