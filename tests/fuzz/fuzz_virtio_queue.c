/*
 * Fuzz target for the virtqueue walker and the virtio-pci register file.
 *
 * Mode 0 (struct fuzz_ctl.target bit 0 clear): a trivial device on every
 * queue pops each chain, reads every byte of its readable segments and
 * writes every byte of its writable ones, and gives it back, so ASan sees
 * any mapping that strays outside guest RAM.
 *
 * Mode 1: the same device behind virtio_pci; the input after struct
 * fuzz_ctl is a sequence of register accesses (BAR4 regions, the MSI-X
 * BAR, config space, a machine reset), optionally after a proper driver
 * bring-up (target bit 1; bit 2 assigns MSI-X vectors, bit 3 enables
 * MSI-X with entries unmasked unless bit 4). The stub host checks the platform lock is held
 * for deliveries and never taken twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "virtio_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static struct virtio_dev vd;
static struct virtio_pci vp;
static struct virtq_elem elem;
static uint8_t config_space[16];
static volatile uint8_t sink;

static void dev_reset(struct virtio_dev *d)
{
	memset(config_space, 0, sizeof(config_space));
}

static void dev_config_read(struct virtio_dev *d, unsigned offset, unsigned size, uint64_t *v)
{
	*v = 0;
	if (offset < sizeof(config_space) && size <= sizeof(config_space) - offset)
		memcpy(v, config_space + offset, size);
}

static void dev_config_write(struct virtio_dev *d, unsigned offset, unsigned size, uint64_t v)
{
	if (offset < sizeof(config_space) && size <= sizeof(config_space) - offset)
		memcpy(config_space + offset, &v, size);
}

/*
 * Touch every byte the chain names, through the iovec helpers: read the
 * readable segments, fill the writable ones.
 */
static void touch_chain(const struct virtq_elem *e)
{
	static uint8_t scratch[4096];
	uint8_t acc = 0;
	size_t done, n, i;

	CHECK(e->nr_out + e->nr_in <= VIRTQ_MAX_SEGS);
	for (i = 0; i < e->nr_out; i++)
		CHECK(e->out[i].iov_len);
	for (i = 0; i < e->nr_in; i++)
		CHECK(e->in[i].iov_len);
	for (done = 0; done < e->out_len; done += n) {
		n = iov_to_buf(e->out, e->nr_out, done, scratch, sizeof(scratch));
		CHECK(n);
		for (i = 0; i < n; i++)
			acc ^= scratch[i];
	}
	CHECK(!iov_to_buf(e->out, e->nr_out, done, scratch, 1));
	memset(scratch, acc, sizeof(scratch));
	for (done = 0; done < e->in_len; done += n) {
		n = iov_from_buf(e->in, e->nr_in, done, scratch, sizeof(scratch));
		CHECK(n);
	}
	CHECK(!iov_from_buf(e->in, e->nr_in, done, scratch, 1));
	sink = acc;
}

static void dev_queue_notify(struct virtio_dev *d, unsigned q)
{
	unsigned done = 0;
	int r;

	while ((r = virtio_pop(d, q, &elem)) > 0) {
		touch_chain(&elem);
		virtq_push(&d->vq[q], elem.head, (uint32_t)elem.in_len);
		/* Interrupt per chain for some, per batch for others: both paths of the suppression logic. */
		if (elem.head & 1)
			virtio_queue_interrupt(d, q);
		if (++done > 4 * VIRTQ_MAX_SIZE)
			break;	/* a guest that refills as fast as we drain; not here, but never loop forever */
	}
	if (r < 0)
		CHECK(d->status & VIRTIO_STATUS_NEEDS_RESET);
	if (done)
		virtio_queue_interrupt(d, q);
}

static const struct virtio_dev_ops dev_ops = {
	.reset = dev_reset,
	.config_read = dev_config_read,
	.config_write = dev_config_write,
	.queue_notify = dev_queue_notify,
};

/* ---- mode 1: the stub platform ---- */

static int platform_locked;

static void host_lock(void *opaque)
{
	CHECK(!platform_locked);
	platform_locked = 1;
}

static void host_unlock(void *opaque)
{
	CHECK(platform_locked);
	platform_locked = 0;
}

static void host_msi(void *opaque, uint64_t addr, uint32_t data)
{
	CHECK(platform_locked);
	fuzz_interrupts++;
}

static void host_intx(void *opaque, struct pci_device *d, bool level)
{
	CHECK(platform_locked);
	fuzz_interrupts++;
}

static const struct virtio_pci_host host = {
	.lock = host_lock, .unlock = host_unlock, .msi = host_msi, .intx = host_intx,
};

/*
 * One access per 12-byte record: kind, size selector, le16 offset, le64 value.
 * Offsets are folded into the interesting part of each window.
 */
static void pci_op(const uint8_t *rec)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	unsigned kind = rec[0] % 9, size = sizes[rec[1] & 3];
	bool is_write = rec[1] & 4;
	unsigned off = (unsigned)rec[2] | (unsigned)rec[3] << 8;
	uint64_t v;

	memcpy(&v, rec + 4, sizeof(v));
	switch (kind) {
	case 0: case 1: case 2:		/* common configuration, the hot spot */
		vp.pci.bar_access(&vp.pci, 4, off & 0x3f, size, is_write, &v);
		break;
	case 3:				/* notify */
		vp.pci.bar_access(&vp.pci, 4, 0x3000 + (off & 0x3f), size, is_write, &v);
		break;
	case 4:				/* anywhere in BAR4, ISR and device configuration included */
		vp.pci.bar_access(&vp.pci, 4, off & 0x7fff, size, is_write, &v);
		break;
	case 5:				/* MSI-X table and pending bits */
		vp.pci.bar_access(&vp.pci, 1, off & 0x1fff, size, is_write, &v);
		break;
	case 6: {			/* config space, as the host bridge delivers it */
		unsigned csize = size > 4 ? 4 : size;

		off &= 0xff;
		off &= ~(csize - 1);
		host_lock(NULL);
		if (is_write) {
			unsigned i;

			/* pci_config_write() without a bus: the same masks, then the hook. */
			for (i = 0; i < csize; i++) {
				uint8_t b = (uint8_t)(v >> (8 * i)), *c = &vp.pci.config[off + i];

				*c = (uint8_t)((*c & ~vp.pci.wmask[off + i]) | (b & vp.pci.wmask[off + i]));
			}
			vp.pci.config_written(&vp.pci, off, csize);
		}
		host_unlock(NULL);
		break;
	}
	case 7:				/* the ISR, read-to-clear */
		vp.pci.bar_access(&vp.pci, 4, 0x1000, size, false, &v);
		break;
	default:			/* a machine reset, rarely */
		if ((rec[1] & 0xf0) == 0xf0) {
			memcpy(vp.pci.config, vp.pci.reset_config, sizeof(vp.pci.config));
			vp.pci.reset(&vp.pci);
		}
		break;
	}
}

static void fuzz_pci(const uint8_t *data, size_t size, bool bring_up)
{
	struct fuzz_ctl c = fuzz_ctl_of(data, size);
	const struct virtio_transport_ops *t;
	void *topaque;
	size_t pos;

	CHECK(virtio_pci_init(&vp, &vd, &host) == 0);
	memcpy(vp.pci.reset_config, vp.pci.config, sizeof(vp.pci.config));	/* as pci_register() */
	if (bring_up) {
		t = vd.transport;
		topaque = vd.transport_opaque;
		pthread_mutex_lock(&vd.lock);
		fuzz_virtio_start(&vd, data, size);
		vd.transport = t;
		vd.transport_opaque = topaque;
		if (c.target & 4) {
			/* The vectors a Linux driver would set: config on 0, queue q on q + 1. */
			unsigned q;

			vd.config_msix_vector = 0;
			for (q = 0; q < vd.nr_queues; q++)
				vd.vq[q].msix_vector = (uint16_t)(q + 1);
		}
		pthread_mutex_unlock(&vd.lock);
		if (c.target & 8) {
			/* MSI-X on, entries unmasked unless the input's bits say otherwise. */
			unsigned v;

			vp.pci.config[vp.msix_cap + 3] = 0x80;
			for (v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++) {
				vp.msix_table[v][0] = 0xfee00000;
				vp.msix_table[v][2] = 0x30 + v;
				vp.msix_table[v][3] = (c.target >> 4) & 1;
			}
		}
	} else {
		memset(fuzz_ram, 0, sizeof(fuzz_ram));
		memcpy(fuzz_ram, data, size < FUZZ_RAM_SIZE ? size : FUZZ_RAM_SIZE);
	}
	for (pos = sizeof(struct fuzz_ctl); pos + 12 <= size && pos < 12 * 512; pos += 12)
		pci_op(data + pos);
	CHECK(!platform_locked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctl c = fuzz_ctl_of(data, size);

	virtio_dev_init(&vd, "virtio-fuzz", VIRTIO_ID_RNG,
			VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
			VIRTIO_MAX_QUEUES, &dev_ops, NULL, &fuzz_dma);
	if (c.target & 1) {
		fuzz_pci(data, size, c.target & 2);
	} else {
		fuzz_virtio_drive(&vd, data, size);
	}
	virtio_dev_destroy(&vd);
	return 0;
}
