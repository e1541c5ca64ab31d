/*
 * Shared harness for the virtio fuzz targets (tests/fuzz/fuzz_virtio_*.c); header-only.
 *
 * The fuzz input IS the guest's memory: it is copied to gpa 0 of a flat
 * 256 KiB guest RAM (fuzz_ram), so the fuzzer writes the rings, the
 * descriptors and the request buffers. Its first bytes double as the
 * "driver's" choices (features, queue sizes, ring placement), see
 * struct fuzz_ctl (fuzz_ctl_of() decodes them). A device's target looks like:
 *
 *	static struct virtio_rng r;
 *	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *	{
 *		virtio_rng_init(&r, "rng-fuzz", &fuzz_dma);
 *		fuzz_virtio_drive(&r.vd, data, size);
 *		virtio_rng_destroy(&r);
 *		return 0;
 *	}
 *
 * What you get:
 *   fuzz_ram, FUZZ_RAM_SIZE  the guest RAM (gpa 0 .. FUZZ_RAM_SIZE)
 *   fuzz_dma                 a struct dma_space over it; refuses anything outside
 *   fuzz_interrupts          interrupts raised by the device (stub transport)
 *   fuzz_virtio_start(vd, data, size)
 *                            RAM image + a driver's bring-up: status through
 *                            ACKNOWLEDGE|DRIVER|FEATURES_OK, queue sizes and
 *                            addresses (sometimes invalid), queue enable, DRIVER_OK.
 *                            vd->lock held by the caller.
 *   fuzz_virtio_run(vd)      notifies every queue a few times and reads/writes
 *                            the device configuration space. vd->lock held.
 *   fuzz_virtio_drive(vd, data, size)
 *                            both, under vd->lock (taken and released here).
 *
 * Queue q's rings sit at FUZZ_QUEUE_BASE(q) (descriptors), right after them
 * the available ring, then the used ring (4-aligned): inside the first
 * 4 KiB for small queues, so short inputs control them. Descriptor buffer
 * addresses are whatever the input says.
 */
#ifndef RV_TESTS_FUZZ_VIRTIO_FUZZ_H
#define RV_TESTS_FUZZ_VIRTIO_FUZZ_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/dma.h"
#include "devices/virtio.h"

/* Everything here is static; a target that uses only part of it must still build with -Werror. */
#define FUZZ_API static __attribute__((unused))

#define FUZZ_RAM_SIZE (256u * 1024)
#define FUZZ_QUEUE_BASE(q) (0x100u + 0x200u * (q))

FUZZ_API uint8_t fuzz_ram[FUZZ_RAM_SIZE] __attribute__((aligned(4096)));
FUZZ_API unsigned long fuzz_interrupts;

FUZZ_API void *fuzz_ram_map(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	if (!len || gpa >= FUZZ_RAM_SIZE || len > FUZZ_RAM_SIZE - gpa)
		return NULL;
	return fuzz_ram + gpa;
}

FUZZ_API const struct dma_space fuzz_dma = { .map = fuzz_ram_map, .opaque = NULL };

FUZZ_API void fuzz_interrupt(void *transport, struct virtio_dev *vd, int q)
{
	(void)transport;
	(void)vd;
	(void)q;
	fuzz_interrupts++;
}

FUZZ_API const struct virtio_transport_ops fuzz_transport = { .interrupt = fuzz_interrupt };

/* The driver's choices, taken from the first bytes of the input (zeros past its end). */
struct fuzz_ctl {
	uint8_t feature_mask[4];	/* offered low 32 feature bits the driver takes */
	uint8_t flags;			/* bit 0: also ask for an unoffered feature (refused) */
	uint8_t run_rounds;		/* notifications per queue in fuzz_virtio_run, low 2 bits */
	uint8_t config_ops;		/* device-config accesses in fuzz_virtio_run */
	uint8_t target;			/* not used here: free for the target (a mode, ...) */
	uint8_t queue_size[VIRTIO_MAX_QUEUES];	/* low 4 bits pick a size; high bits move the rings */
	uint8_t queue_move[VIRTIO_MAX_QUEUES];
};

FUZZ_API struct fuzz_ctl fuzz_ctl_of(const uint8_t *data, size_t size)
{
	struct fuzz_ctl c;

	memset(&c, 0, sizeof(c));
	memcpy(&c, data, size < sizeof(c) ? size : sizeof(c));
	return c;
}

/* Mostly good power-of-two sizes, sometimes zero, too big or not a power of two. */
FUZZ_API uint16_t fuzz_queue_size(uint8_t b)
{
	static const uint16_t sizes[16] = { 4, 1, 2, 4, 8, 16, 32, 64, 128, 256, 8, 16, 0, 3, 512, 4 };

	return sizes[b & 15];
}

/* Where a ring goes: its normal place, or moved (misaligned, past RAM, wrapping) by the input. */
FUZZ_API uint64_t fuzz_ring_addr(uint64_t normal, uint8_t move, unsigned which)
{
	if (!(move & 0x80) || ((move >> 5) & 3) != which)
		return normal;
	switch (move & 7) {
	case 0: return normal + 1;
	case 1: return normal + 2;
	case 2: return normal + 4;
	case 3: return FUZZ_RAM_SIZE - 8;
	case 4: return FUZZ_RAM_SIZE;
	case 5: return UINT64_MAX - 15;
	case 6: return normal + (uint64_t)(move & 0x18) * 0x100;
	default: return 0;
	}
}

FUZZ_API void fuzz_virtio_start(struct virtio_dev *vd, const uint8_t *data, size_t size)
{
	struct fuzz_ctl c = fuzz_ctl_of(data, size);
	uint32_t mask;
	unsigned q;

	memset(fuzz_ram, 0, sizeof(fuzz_ram));
	memcpy(fuzz_ram, data, size < FUZZ_RAM_SIZE ? size : FUZZ_RAM_SIZE);
	fuzz_interrupts = 0;
	vd->transport = &fuzz_transport;
	vd->transport_opaque = NULL;

	/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK. */
	virtio_set_status(vd, 0);
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mask = (uint32_t)c.feature_mask[0] | (uint32_t)c.feature_mask[1] << 8 |
	       (uint32_t)c.feature_mask[2] << 16 | (uint32_t)c.feature_mask[3] << 24;
	vd->driver_features = (vd->host_features & mask) | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (c.flags & 1)
		vd->driver_features |= ~vd->host_features & (VIRTIO_BIT(63) | VIRTIO_BIT(27));
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK);
	for (q = 0; q < vd->nr_queues; q++) {
		struct virtq *vq = &vd->vq[q];
		uint16_t n = fuzz_queue_size(c.queue_size[q]);
		uint64_t desc = FUZZ_QUEUE_BASE(q);
		uint64_t avail = desc + 16ull * n;
		uint64_t used = (avail + 6 + 2ull * n + 3) & ~3ull;

		vq->size = n;
		vq->desc_gpa = fuzz_ring_addr(desc, c.queue_move[q], 0);
		vq->avail_gpa = fuzz_ring_addr(avail, c.queue_move[q], 1);
		vq->used_gpa = fuzz_ring_addr(used, c.queue_move[q], 2);
		/* queue_move 0x60..0x7f: leave this queue disabled. */
		if ((c.queue_move[q] & 0xe0) != 0x60)
			virtio_queue_enable(vd, q);
	}
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/*
 * Notify every queue (1-4 rounds, as the input says), with device-config
 * reads and writes between rounds: offsets and sizes from the bytes after
 * struct fuzz_ctl, values from the RAM image.
 */
FUZZ_API void fuzz_virtio_run(struct virtio_dev *vd)
{
	const struct fuzz_ctl *c = (const struct fuzz_ctl *)fuzz_ram;	/* the input's first bytes */
	unsigned rounds = 1 + (c->run_rounds & 3), r, q, i, nops = c->config_ops & 15;
	const uint8_t *ops = fuzz_ram + sizeof(struct fuzz_ctl);

	for (r = 0; r < rounds; r++) {
		for (q = 0; q < vd->nr_queues; q++)
			virtio_queue_notify(vd, q);
		for (i = 0; i < nops && vd->ops; i++) {
			static const unsigned sizes[4] = { 1, 2, 4, 8 };
			unsigned off = ops[2 * i] & 0x7f, sz = sizes[ops[2 * i + 1] & 3];
			uint64_t v = 0;

			if ((ops[2 * i + 1] & 4) && vd->ops->config_write) {
				memcpy(&v, fuzz_ram + 0x80 + 8 * i, sizeof(v));
				if (sz < 8)
					v &= (1ull << (8 * sz)) - 1;
				vd->ops->config_write(vd, off, sz, v);
			} else if (vd->ops->config_read) {
				vd->ops->config_read(vd, off, sz, &v);
			}
		}
	}
	/* A driver reset at the end: the device must drop whatever it holds. */
	if (c->flags & 2)
		virtio_set_status(vd, 0);
}

/* A driver's whole session on the input: bring-up and the run, under the device's lock as a vCPU would hold it. */
FUZZ_API void fuzz_virtio_drive(struct virtio_dev *vd, const uint8_t *data, size_t size)
{
	pthread_mutex_lock(&vd->lock);
	fuzz_virtio_start(vd, data, size);
	fuzz_virtio_run(vd);
	pthread_mutex_unlock(&vd->lock);
}

#endif
