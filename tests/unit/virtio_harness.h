/*
 * Shared fixtures for the virtio unit tests (tests/unit/test_virtio*.c,
 * test_virtqueue.c); header-only.
 *
 * What a test gets:
 *   struct vh_ram        a flat guest RAM and the dma_space over it
 *   struct vh_irqs       a stub transport that counts the interrupts a device raises
 *   struct vh_queue      the driver's side of a split virtqueue (virtio 1.2, 2.7):
 *                        descriptor writer, available-ring push, used-ring reads
 *   vh_driver_start()    a driver's bring-up (3.1.1) of a device's queues
 *   vh_notify(), vh_config_read()   the driver's accesses, under vd->lock
 *
 * Everything is static inline: a test that uses part of it still builds with -Werror.
 */
#ifndef RV_TESTS_UNIT_VIRTIO_HARNESS_H
#define RV_TESTS_UNIT_VIRTIO_HARNESS_H

#include <endian.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/le.h"
#include "devices/dma.h"
#include "devices/virtio.h"
#include "devices/virtqueue.h"

/* ---- guest RAM ---- */

/* Guest-physical [0, size) at bytes; dma.opaque points back here, so a vh_ram must not move once set up. */
struct vh_ram {
	uint8_t *bytes;
	uint64_t size;
	struct dma_space dma;
};

/* Refuses what the VMM's map refuses: empty, past the end, wrapping (see devices/dma.h). */
static inline void *vh_ram_map(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vh_ram *r = opaque;

	if (!len || gpa >= r->size || len > r->size - gpa)
		return NULL;
	return r->bytes + gpa;
}

/* A static initializer over an array: static struct vh_ram guest = VH_RAM_OVER(guest, ram); */
#define VH_RAM_OVER(self, array) \
	{ .bytes = (array), .size = sizeof(array), .dma = { .map = vh_ram_map, .opaque = &(self) } }

/* Zeroed, page-aligned RAM of `size` bytes; returns r->bytes. */
static inline uint8_t *vh_ram_alloc(struct vh_ram *r, uint64_t size)
{
	r->bytes = aligned_alloc(4096, size);
	assert_non_null(r->bytes);
	memset(r->bytes, 0, size);
	r->size = size;
	r->dma = (struct dma_space){ .map = vh_ram_map, .opaque = r };
	return r->bytes;
}

static inline void vh_ram_free(struct vh_ram *r)
{
	free(r->bytes);
	r->bytes = NULL;
}

/* Whether guest bytes p[0 .. n) are all zero: untouched by the device. */
static inline bool vh_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- temporary disk images (virtio-blk and the disk backend) ---- */

/* A new file /tmp/ringvm-test-<tag>-XXXXXX of `size` bytes, byte i being byte_at(i); its name goes to path. */
static inline void vh_make_image(char *path, size_t pathlen, const char *tag, uint64_t size,
				 uint8_t (*byte_at)(uint64_t off))
{
	uint8_t buf[4096];
	int fd;

	snprintf(path, pathlen, "/tmp/ringvm-test-%s-XXXXXX", tag);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(done + i);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

/* ---- the stub transport ---- */

/* Interrupts per queue and for configuration changes; atomic, as a backend thread may raise them. */
struct vh_irqs {
	unsigned queue[VIRTIO_MAX_QUEUES];
	unsigned config;
};

static inline void vh_count_interrupt(void *transport, struct virtio_dev *vd, int q)
{
	struct vh_irqs *irqs = transport;

	__atomic_add_fetch(q < 0 ? &irqs->config : &irqs->queue[q], 1, __ATOMIC_RELAXED);
}

static const struct virtio_transport_ops vh_counting_transport __attribute__((unused)) = {
	.interrupt = vh_count_interrupt,
};

static inline void vh_attach_counter(struct virtio_dev *vd, struct vh_irqs *irqs)
{
	vd->transport = &vh_counting_transport;
	vd->transport_opaque = irqs;
}

static inline unsigned vh_count(const unsigned *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* ---- the driver's side of a split virtqueue ---- */

struct vh_queue {
	uint64_t desc, avail, used;	/* guest-physical addresses of the three parts */
	uint16_t size;
	uint16_t next_desc;		/* where vh_add_chain puts the next chain */
};

/* Queue q of a device test: its table at 0x1000 + 0x1000 q, the available ring 0x200 on, the used ring 0x400 on. */
static inline struct vh_queue vh_queue_layout(unsigned q, uint16_t size)
{
	uint64_t desc = 0x1000u + 0x1000u * q;

	return (struct vh_queue){ .desc = desc, .avail = desc + 0x200, .used = desc + 0x400, .size = size };
}

/* A chain segment: guest address, length, device-writable. */
struct vh_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* Descriptor i of the table at guest address `table` (2.7.5). */
static inline void vh_put_desc(uint8_t *ram, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
			       uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + table + 16u * i;

	put64(d, addr);
	put32(d + 8, len);
	put16(d + 12, flags);
	put16(d + 14, next);
}

/* Make chain `head` available (2.7.6): the ring entry first, then the index, released to a device thread. */
static inline void vh_avail_push(uint8_t *ram, const struct vh_queue *q, uint16_t head)
{
	uint16_t idx = get16(ram + q->avail + 2);

	put16(ram + q->avail + 4 + 2u * (idx % q->size), head);
	__atomic_store_n((uint16_t *)(ram + q->avail + 2), htole16((uint16_t)(idx + 1)), __ATOMIC_RELEASE);
}

/* Write a chain into table entries first, first + 1, ... (mod size) and make it available; returns its head. */
static inline uint16_t vh_post_chain(uint8_t *ram, const struct vh_queue *q, uint16_t first,
				     const struct vh_seg *segs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((first + i) % q->size);
		uint16_t flags = (uint16_t)((segs[i].writable ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));

		vh_put_desc(ram, q->desc, idx, segs[i].gpa, segs[i].len, flags,
			    (uint16_t)((idx + 1) % q->size));
	}
	vh_avail_push(ram, q, first);
	return first;
}

/* The same at the queue's next free table entries. */
static inline uint16_t vh_add_chain(uint8_t *ram, struct vh_queue *q, const struct vh_seg *segs, unsigned n)
{
	uint16_t head = vh_post_chain(ram, q, q->next_desc, segs, n);

	q->next_desc = (uint16_t)((head + n) % q->size);
	return head;
}

/* The used ring's index, acquired: a device thread may be writing it. */
static inline uint16_t vh_used_idx(const uint8_t *ram, const struct vh_queue *q)
{
	return le16toh(__atomic_load_n((const uint16_t *)(ram + q->used + 2), __ATOMIC_ACQUIRE));
}

/* Used ring entry i (any count; taken mod size). */
static inline void vh_used_elem(const uint8_t *ram, const struct vh_queue *q, unsigned i,
				uint32_t *id, uint32_t *len)
{
	const uint8_t *e = ram + q->used + 4 + 8u * (i % q->size);

	*id = get32(e);
	*len = get32(e + 4);
}

static inline void vh_expect_used(const uint8_t *ram, const struct vh_queue *q, unsigned i,
				  uint32_t want_id, uint32_t want_len)
{
	uint32_t id, len;

	vh_used_elem(ram, q, i, &id, &len);
	assert_int_equal(id, want_id);
	assert_int_equal(len, want_len);
}

/* ---- the driver's accesses to the device ---- */

/*
 * 3.1.1 bring-up: reset, ACKNOWLEDGE, DRIVER, `features`, FEATURES_OK
 * (which must stick), queues 0 .. nq - 1 as `queues` says, and DRIVER_OK
 * with every queue ready, unless `driver_ok` is false.
 */
static inline void vh_driver_start(struct virtio_dev *vd, uint64_t features, const struct vh_queue *queues,
				   unsigned nq, bool driver_ok)
{
	const uint8_t up = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

	pthread_mutex_lock(&vd->lock);
	virtio_set_status(vd, 0);
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd->driver_features = features;
	virtio_set_status(vd, up);
	assert_true(vd->status & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++) {
		vd->vq[q].size = queues[q].size;
		vd->vq[q].desc_gpa = queues[q].desc;
		vd->vq[q].avail_gpa = queues[q].avail;
		vd->vq[q].used_gpa = queues[q].used;
		virtio_queue_enable(vd, q);
	}
	if (driver_ok) {
		virtio_set_status(vd, up | VIRTIO_STATUS_DRIVER_OK);
		for (unsigned q = 0; q < nq; q++)
			assert_true(virtio_queue_ready(vd, q));
	}
	pthread_mutex_unlock(&vd->lock);
}

static inline void vh_notify(struct virtio_dev *vd, unsigned q)
{
	pthread_mutex_lock(&vd->lock);
	virtio_queue_notify(vd, q);
	pthread_mutex_unlock(&vd->lock);
}

static inline uint64_t vh_config_read(struct virtio_dev *vd, unsigned off, unsigned size)
{
	uint64_t v = ~0ull;

	pthread_mutex_lock(&vd->lock);
	vd->ops->config_read(vd, off, size, &v);
	pthread_mutex_unlock(&vd->lock);
	return v;
}

static inline void vh_config_write(struct virtio_dev *vd, unsigned off, unsigned size, uint64_t v)
{
	pthread_mutex_lock(&vd->lock);
	vd->ops->config_write(vd, off, size, v);
	pthread_mutex_unlock(&vd->lock);
}

/* Whether the device has put itself into needs-reset (2.1.2). */
static inline bool vh_needs_reset(const struct virtio_dev *vd)
{
	return vd->status & VIRTIO_STATUS_NEEDS_RESET;
}

#endif
