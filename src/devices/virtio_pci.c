/* The modern virtio-pci transport (virtio 1.2, 4.1): PCI identity and capabilities, the BAR4 register file, MSI-X and INTx delivery. */
#include <string.h>

#include "common/le.h"
#include "devices/virtio_pci.h"

/* Capabilities (4.1.4). */
#define PCI_CAP_ID_VNDR  0x09
#define PCI_CAP_ID_MSIX  0x11
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5
#define VIRTIO_CAP_LEN        16	/* struct virtio_pci_cap */
#define VIRTIO_NOTIFY_CAP_LEN 20	/* + le32 notify_off_multiplier */
#define VIRTIO_PCI_CFG_CAP_LEN 20	/* + u8 pci_cfg_data[4] */
#define MSIX_CAP_LEN 12

/* BAR layout, see virtio_pci.h. */
#define MSIX_BAR        1
#define MSIX_BAR_SIZE   0x1000
#define MSIX_TABLE      0x000
#define MSIX_PBA        0x800
#define REGS_BAR        4
#define REGS_BAR_SIZE   0x4000
#define REGION_SIZE     0x1000
#define COMMON_OFF      0x0000
#define ISR_OFF         0x1000
#define DEVICE_OFF      0x2000
#define NOTIFY_OFF      0x3000
#define NOTIFY_MULT     4

/* MSI-X message control (PCI 3.0, 6.8.2.3) and vector control. */
#define MSIX_CTRL_ENABLE 0x80		/* in the control word's high byte */
#define MSIX_CTRL_MASKALL 0x40
#define MSIX_ENTRY_MASKED 1

/* Common configuration structure layout (4.1.4.3). */
#define CC_DEVICE_FEATURE_SELECT 0x00
#define CC_DEVICE_FEATURE        0x04
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE        0x0c
#define CC_CONFIG_MSIX_VECTOR    0x10
#define CC_NUM_QUEUES            0x12
#define CC_DEVICE_STATUS         0x14
#define CC_CONFIG_GENERATION     0x15
#define CC_QUEUE_SELECT          0x16
#define CC_QUEUE_SIZE            0x18
#define CC_QUEUE_MSIX_VECTOR     0x1a
#define CC_QUEUE_ENABLE          0x1c
#define CC_QUEUE_NOTIFY_OFF      0x1e
#define CC_QUEUE_DESC            0x20
#define CC_QUEUE_DRIVER          0x28
#define CC_QUEUE_DEVICE          0x30
#define CC_END                   0x38

static const struct { uint8_t off, size; } common_fields[] = {
	{ CC_DEVICE_FEATURE_SELECT, 4 }, { CC_DEVICE_FEATURE, 4 },
	{ CC_DRIVER_FEATURE_SELECT, 4 }, { CC_DRIVER_FEATURE, 4 },
	{ CC_CONFIG_MSIX_VECTOR, 2 }, { CC_NUM_QUEUES, 2 },
	{ CC_DEVICE_STATUS, 1 }, { CC_CONFIG_GENERATION, 1 },
	{ CC_QUEUE_SELECT, 2 }, { CC_QUEUE_SIZE, 2 }, { CC_QUEUE_MSIX_VECTOR, 2 },
	{ CC_QUEUE_ENABLE, 2 }, { CC_QUEUE_NOTIFY_OFF, 2 },
	{ CC_QUEUE_DESC, 8 }, { CC_QUEUE_DRIVER, 8 }, { CC_QUEUE_DEVICE, 8 },
};

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

/* ---- interrupts (platform lock held) ---- */

static uint8_t msix_control(const struct virtio_pci *vp)
{
	return vp->pci.config[vp->msix_cap + 3];
}

static bool msix_enabled(const struct virtio_pci *vp)
{
	return msix_control(vp) & MSIX_CTRL_ENABLE;
}

static void set_intx(struct virtio_pci *vp, bool level)
{
	if (vp->intx_level == level)
		return;
	vp->intx_level = level;
	vp->host->intx(vp->host->opaque, &vp->pci, level);
}

static void msix_send(struct virtio_pci *vp, unsigned v)
{
	const uint32_t *e = vp->msix_table[v];

	vp->host->msi(vp->host->opaque, (uint64_t)e[1] << 32 | e[0], e[2]);
}

/* A message for vector v: sent now, or held in the pending bits while masked (PCI 3.0, 6.8.3.5). */
static void msix_notify(struct virtio_pci *vp, unsigned v)
{
	if (v >= VIRTIO_PCI_MSIX_VECTORS)
		return;		/* VIRTIO_MSI_NO_VECTOR: the driver wants none */
	if ((vp->msix_table[v][3] & MSIX_ENTRY_MASKED) || (msix_control(vp) & MSIX_CTRL_MASKALL)) {
		vp->msix_pending |= 1ull << v;
		return;
	}
	msix_send(vp, v);
}

/* Send what waited while masked, for every vector now unmasked. */
static void msix_flush_pending(struct virtio_pci *vp)
{
	unsigned v;

	if (!msix_enabled(vp) || (msix_control(vp) & MSIX_CTRL_MASKALL))
		return;
	for (v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++) {
		if ((vp->msix_pending & (1ull << v)) && !(vp->msix_table[v][3] & MSIX_ENTRY_MASKED)) {
			vp->msix_pending &= ~(1ull << v);
			msix_send(vp, v);
		}
	}
}

/* The core's interrupt hook; vd->lock held, so the platform lock may be taken. */
static void virtio_pci_interrupt(void *opaque, struct virtio_dev *vd, int q)
{
	struct virtio_pci *vp = opaque;

	vp->host->lock(vp->host->opaque);
	if (msix_enabled(vp))
		msix_notify(vp, q < 0 ? vd->config_msix_vector : vd->vq[q].msix_vector);
	else
		set_intx(vp, vd->isr != 0);	/* level-triggered until the driver reads ISR */
	vp->host->unlock(vp->host->opaque);
}

static const struct virtio_transport_ops virtio_pci_transport = {
	.interrupt = virtio_pci_interrupt,
};

/* ---- common configuration (vd->lock held) ---- */

static struct virtq *selected_queue(struct virtio_pci *vp)
{
	return vp->queue_select < vp->vd->nr_queues ? &vp->vd->vq[vp->queue_select] : NULL;
}

static uint32_t feature_word(uint64_t features, uint32_t select)
{
	return select == 0 ? (uint32_t)features : select == 1 ? (uint32_t)(features >> 32) : 0;
}

static uint64_t common_get(struct virtio_pci *vp, unsigned field)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *q = selected_queue(vp);

	switch (field) {
	case CC_DEVICE_FEATURE_SELECT: return vp->device_feature_select;
	case CC_DEVICE_FEATURE: return feature_word(vd->host_features, vp->device_feature_select);
	case CC_DRIVER_FEATURE_SELECT: return vp->driver_feature_select;
	case CC_DRIVER_FEATURE: return feature_word(vd->driver_features, vp->driver_feature_select);
	case CC_CONFIG_MSIX_VECTOR: return vd->config_msix_vector;
	case CC_NUM_QUEUES: return vd->nr_queues;
	case CC_DEVICE_STATUS: return vd->status;
	case CC_CONFIG_GENERATION: return vd->config_generation;
	case CC_QUEUE_SELECT: return vp->queue_select;
	/* An unavailable queue reads size 0 (4.1.4.3). */
	case CC_QUEUE_SIZE: return q ? q->size : 0;
	case CC_QUEUE_MSIX_VECTOR: return q ? q->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case CC_QUEUE_ENABLE: return q ? q->enabled : 0;
	case CC_QUEUE_NOTIFY_OFF: return q ? vp->queue_select : 0;
	case CC_QUEUE_DESC: return q ? q->desc_gpa : 0;
	case CC_QUEUE_DRIVER: return q ? q->avail_gpa : 0;
	case CC_QUEUE_DEVICE: return q ? q->used_gpa : 0;
	default: return 0;
	}
}

/* 4.1.5.1.2: a vector the function does not have reads back as NO_VECTOR, which tells the driver. */
static uint16_t checked_vector(uint64_t v)
{
	return v < VIRTIO_PCI_MSIX_VECTORS ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void status_write(struct virtio_pci *vp, uint8_t status)
{
	virtio_set_status(vp->vd, status);
	if (!status) {
		/* The transport's own registers go back too, and a reset device asserts nothing. */
		vp->device_feature_select = vp->driver_feature_select = 0;
		vp->queue_select = 0;
		vp->host->lock(vp->host->opaque);
		set_intx(vp, false);
		vp->host->unlock(vp->host->opaque);
	}
}

static void common_set(struct virtio_pci *vp, unsigned field, uint64_t v)
{
	struct virtio_dev *vd = vp->vd;
	struct virtq *q = selected_queue(vp);
	/* The driver sets a queue up while it is disabled (4.1.4.3.2); later writes are ignored. */
	bool q_writable = q && !q->enabled;

	switch (field) {
	case CC_DEVICE_FEATURE_SELECT:
		vp->device_feature_select = (uint32_t)v;
		break;
	case CC_DRIVER_FEATURE_SELECT:
		vp->driver_feature_select = (uint32_t)v;
		break;
	case CC_DRIVER_FEATURE:
		/* Features are fixed once FEATURES_OK is accepted (3.1.1). */
		if (vd->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (vp->driver_feature_select == 0)
			vd->driver_features = (vd->driver_features & ~0xffffffffull) | (uint32_t)v;
		else if (vp->driver_feature_select == 1)
			vd->driver_features = (vd->driver_features & 0xffffffffull) | v << 32;
		break;
	case CC_CONFIG_MSIX_VECTOR:
		vd->config_msix_vector = checked_vector(v);
		break;
	case CC_DEVICE_STATUS:
		status_write(vp, (uint8_t)v);
		break;
	case CC_QUEUE_SELECT:
		vp->queue_select = (uint16_t)v;
		break;
	case CC_QUEUE_SIZE:
		if (q_writable)
			q->size = (uint16_t)v;	/* checked by virtq_enable() */
		break;
	case CC_QUEUE_MSIX_VECTOR:
		/* Allowed at any time, as Linux rewrites it when it tears queues down. */
		if (q)
			q->msix_vector = checked_vector(v);
		break;
	case CC_QUEUE_ENABLE:
		/* Writing 0 is not allowed to the driver (4.1.4.3.2); ignore it. */
		if (q_writable && v == 1)
			virtio_queue_enable(vd, vp->queue_select);
		break;
	case CC_QUEUE_DESC:
		if (q_writable)
			q->desc_gpa = v;
		break;
	case CC_QUEUE_DRIVER:
		if (q_writable)
			q->avail_gpa = v;
		break;
	case CC_QUEUE_DEVICE:
		if (q_writable)
			q->used_gpa = v;
		break;
	default:
		break;		/* read-only */
	}
}

/*
 * Any access of 1, 2, 4 or 8 bytes inside one field works (a 64-bit
 * address as two 32-bit halves, as Linux writes it); an access that
 * straddles fields or misses them reads 0 and writes nothing.
 */
static void common_access(struct virtio_pci *vp, unsigned off, unsigned size, bool is_write,
			  uint64_t *data)
{
	unsigned i;

	for (i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
		unsigned start = common_fields[i].off, fsize = common_fields[i].size, shift;
		uint64_t cur, mask;

		if (off < start || off >= start + fsize)
			continue;
		if (off + size > start + fsize)
			break;
		shift = 8 * (off - start);
		cur = common_get(vp, start);
		if (!is_write) {
			*data = (cur >> shift) & size_mask(size);
			return;
		}
		mask = size_mask(size) << shift;
		common_set(vp, start, (cur & ~mask) | ((*data << shift) & mask));
		return;
	}
	if (!is_write)
		*data = 0;
}

/* ISR status (4.1.4.5): reading it returns and clears it, and lowers INTx. */
static void isr_access(struct virtio_pci *vp, unsigned off, bool is_write, uint64_t *data)
{
	struct virtio_dev *vd = vp->vd;

	if (is_write)
		return;
	*data = 0;
	if (off)
		return;
	*data = vd->isr;
	vd->isr = 0;
	vp->host->lock(vp->host->opaque);
	if (!msix_enabled(vp))
		set_intx(vp, false);
	vp->host->unlock(vp->host->opaque);
}

static void regs_access(struct virtio_pci *vp, uint64_t offset, unsigned size, bool is_write,
			uint64_t *data)
{
	struct virtio_dev *vd = vp->vd;
	unsigned region = (unsigned)offset & ~(REGION_SIZE - 1), off = (unsigned)offset & (REGION_SIZE - 1);
	uint64_t v = 0;

	pthread_mutex_lock(&vd->lock);
	switch (region) {
	case COMMON_OFF:
		common_access(vp, off, size, is_write, data);
		break;
	case ISR_OFF:
		isr_access(vp, off, is_write, data);
		break;
	case DEVICE_OFF:
		if (is_write) {
			if (vd->ops && vd->ops->config_write)
				vd->ops->config_write(vd, off, size, *data & size_mask(size));
		} else {
			if (vd->ops && vd->ops->config_read)
				vd->ops->config_read(vd, off, size, &v);
			*data = v & size_mask(size);
		}
		break;
	case NOTIFY_OFF:
		/* Queue q's address is NOTIFY_OFF + q * NOTIFY_MULT (4.1.4.4); the value written is its index. */
		if (is_write)
			virtio_queue_notify(vd, off / NOTIFY_MULT);
		else
			*data = 0;
		break;
	default:
		if (!is_write)
			*data = 0;
		break;
	}
	pthread_mutex_unlock(&vd->lock);
}

/* ---- MSI-X table and pending bits (platform lock) ---- */

static uint8_t msix_table_byte(const struct virtio_pci *vp, unsigned i)
{
	return (uint8_t)(vp->msix_table[i / 16][(i % 16) / 4] >> (8 * (i % 4)));
}

static void msix_table_set_byte(struct virtio_pci *vp, unsigned i, uint8_t b)
{
	uint32_t *w = &vp->msix_table[i / 16][(i % 16) / 4];
	unsigned shift = 8 * (i % 4);

	*w = (*w & ~(0xffu << shift)) | (uint32_t)b << shift;
}

static void msix_access(struct virtio_pci *vp, uint64_t offset, unsigned size, bool is_write,
			uint64_t *data)
{
	const unsigned table_end = MSIX_TABLE + VIRTIO_PCI_MSIX_VECTORS * 16;
	uint64_t v = 0;
	unsigned i;

	/* Software uses aligned dword or qword accesses (PCI 3.0, 6.8.2.9): nothing else has an effect. */
	if (offset % size) {
		if (!is_write)
			*data = 0;
		return;
	}
	if (offset + size <= table_end) {	/* the table starts at 0 */
		if (!is_write) {
			for (i = 0; i < size; i++)
				v |= (uint64_t)msix_table_byte(vp, (unsigned)offset + i) << (8 * i);
			*data = v;
			return;
		}
		for (i = 0; i < size; i++)
			msix_table_set_byte(vp, (unsigned)offset + i, (uint8_t)(*data >> (8 * i)));
		for (i = (unsigned)offset / 16; i <= ((unsigned)offset + size - 1) / 16; i++)
			vp->msix_table[i][3] &= MSIX_ENTRY_MASKED;	/* the rest of vector control is reserved */
		msix_flush_pending(vp);		/* an entry may have been unmasked */
		return;
	}
	if (offset >= MSIX_PBA && offset + size <= MSIX_PBA + 8) {
		if (!is_write)
			*data = (vp->msix_pending >> (8 * (offset - MSIX_PBA))) & size_mask(size);
		return;		/* read-only */
	}
	if (!is_write)
		*data = 0;
}

/* ---- PCI hooks ---- */

static void virtio_pci_bar_access(struct pci_device *d, unsigned bar, uint64_t offset, unsigned size,
				  bool is_write, uint64_t *data)
{
	struct virtio_pci *vp = d->opaque;

	if ((size != 1 && size != 2 && size != 4 && size != 8) || bar >= PCI_NR_BARS ||
	    offset >= d->bar_size[bar] || size > d->bar_size[bar] - offset) {
		if (!is_write)
			*data = 0;
		return;
	}
	if (bar == REGS_BAR) {
		regs_access(vp, offset, size, is_write, data);
	} else if (bar == MSIX_BAR) {
		vp->host->lock(vp->host->opaque);
		msix_access(vp, offset, size, is_write, data);
		vp->host->unlock(vp->host->opaque);
	} else if (!is_write) {
		*data = 0;
	}
}

/* Platform lock held: MSI-X enable or function mask may have changed. Never takes vd->lock. */
static void virtio_pci_config_written(struct pci_device *d, unsigned offset, unsigned size)
{
	struct virtio_pci *vp = d->opaque;
	unsigned ctrl = vp->msix_cap + 2;

	if (offset + size <= ctrl || offset >= ctrl + 2)
		return;
	if (msix_enabled(vp))
		set_intx(vp, false);	/* with MSI-X on, the function never asserts INTx */
	msix_flush_pending(vp);
}

static void msix_reset(struct virtio_pci *vp)
{
	unsigned v;

	memset(vp->msix_table, 0, sizeof(vp->msix_table));
	for (v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++)
		vp->msix_table[v][3] = MSIX_ENTRY_MASKED;	/* PCI 3.0, 6.8.2.9: masked at reset */
	vp->msix_pending = 0;
}

/*
 * Machine reset: no vCPU and no backend thread runs, so vd->lock may be
 * taken here. The machine resets interrupt routing itself, so the INTx
 * level is forgotten without a call into the host.
 */
static void virtio_pci_reset(struct pci_device *d)
{
	struct virtio_pci *vp = d->opaque;

	pthread_mutex_lock(&vp->vd->lock);
	virtio_dev_reset(vp->vd);
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->queue_select = 0;
	pthread_mutex_unlock(&vp->vd->lock);
	msix_reset(vp);
	vp->intx_level = false;
}

/* ---- construction ---- */

static uint32_t class_of(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET: return 0x020000;		/* Ethernet controller */
	case VIRTIO_ID_BLOCK: return 0x010000;		/* SCSI storage controller, as QEMU */
	case VIRTIO_ID_CONSOLE: return 0x078000;	/* other communication controller */
	case VIRTIO_ID_RNG: return 0x00ff00;		/* unclassified, as QEMU */
	default: return 0xff0000;
	}
}

static int add_virtio_cap(struct pci_device *d, uint8_t type, unsigned len, uint8_t bar,
			  uint32_t offset, uint32_t length)
{
	int off = pci_add_capability(d, PCI_CAP_ID_VNDR, len);

	if (off < 0)
		return off;
	d->config[off + 2] = (uint8_t)len;		/* cap_len */
	d->config[off + 3] = type;			/* cfg_type */
	d->config[off + 4] = bar;
	d->config[off + 5] = 0;				/* id: one structure of each type */
	put32(d->config + off + 8, offset);
	put32(d->config + off + 12, length);
	return off;
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd, const struct virtio_pci_host *host)
{
	struct pci_device *d = &vp->pci;
	int off, ret;

	memset(vp, 0, sizeof(*vp));
	vp->vd = vd;
	vp->host = host;
	/* 4.1.2: non-transitional IDs, revision 1 (modern only), subsystem = device type (as QEMU). */
	pci_device_init(d, vd->name, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vd->device_id),
			class_of(vd->device_id), 1);
	put16(d->config + PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
	put16(d->config + PCI_SUBSYSTEM_ID, vd->device_id);
	pci_set_interrupt_pin(d, 1);			/* INTA# */
	ret = pci_bar_init(d, MSIX_BAR, MSIX_BAR_SIZE, 0);
	if (!ret)
		ret = pci_bar_init(d, REGS_BAR, REGS_BAR_SIZE, PCI_BAR_MEM64);
	if (ret)
		return ret;

	/* The capability list (4.1.4): each structure in BAR4 at its fixed offset. */
	if ((off = add_virtio_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_CAP_LEN, REGS_BAR,
				  COMMON_OFF, REGION_SIZE)) < 0 ||
	    (off = add_virtio_cap(d, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_CAP_LEN, REGS_BAR,
				  ISR_OFF, REGION_SIZE)) < 0 ||
	    (off = add_virtio_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_CAP_LEN, REGS_BAR,
				  DEVICE_OFF, REGION_SIZE)) < 0)
		return off;
	off = add_virtio_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_NOTIFY_CAP_LEN, REGS_BAR,
			     NOTIFY_OFF, REGION_SIZE);
	if (off < 0)
		return off;
	put32(d->config + off + 16, NOTIFY_MULT);
	/*
	 * The PCI configuration access window (4.1.4.9): bar, offset and
	 * length are writable, pci_cfg_data reads as zero and ignores writes.
	 * Config reads have no device hook here, and config cycles run under
	 * the platform lock, which may not take vd->lock; Linux's driver does
	 * not use the window (firmware drivers do).
	 */
	off = add_virtio_cap(d, VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_CFG_CAP_LEN, 0, 0, 0);
	if (off < 0)
		return off;
	d->wmask[off + 4] = 0xff;
	memset(d->wmask + off + 8, 0xff, 8);

	/* MSI-X (PCI 3.0, 6.8.2): table size N-1; the guest owns enable and function mask. */
	off = pci_add_capability(d, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
	if (off < 0)
		return off;
	vp->msix_cap = (unsigned)off;
	put16(d->config + off + 2, VIRTIO_PCI_MSIX_VECTORS - 1);
	d->wmask[off + 3] = MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL;
	put32(d->config + off + 4, MSIX_TABLE | MSIX_BAR);
	put32(d->config + off + 8, MSIX_PBA | MSIX_BAR);
	msix_reset(vp);

	d->bar_access = virtio_pci_bar_access;
	d->config_written = virtio_pci_config_written;
	d->reset = virtio_pci_reset;
	d->opaque = vp;
	vd->transport = &virtio_pci_transport;
	vd->transport_opaque = vp;
	return 0;
}
