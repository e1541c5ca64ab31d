/* Unit tests of src/devices/virtio_pci.c and virtio.c: a stub device driven through PCI config cycles and BAR accesses as a guest driver would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/le.h"
#include "devices/pci.h"
#include "devices/virtio.h"
#include "devices/virtio_pci.h"
#include "virtio_harness.h"

#define RAM_SIZE 0x10000u
#define SLOT 3
#define DEVFN PCI_DEVFN(SLOT, 0)
#define MMIO_START 0xc0000000ull
#define MMIO_END   0xd0000000ull

/* Offsets inside BAR4 and the common configuration (virtio 1.2, 4.1.4.3). */
#define COMMON 0x0000
#define ISR    0x1000
#define DEVCFG 0x2000
#define NOTIFY 0x3000
#define CC_DFSELECT 0x00
#define CC_DF       0x04
#define CC_GFSELECT 0x08
#define CC_GF       0x0c
#define CC_MSIX     0x10
#define CC_NUMQ     0x12
#define CC_STATUS   0x14
#define CC_GEN      0x15
#define CC_QSELECT  0x16
#define CC_QSIZE    0x18
#define CC_QMSIX    0x1a
#define CC_QENABLE  0x1c
#define CC_QNOTIFY  0x1e
#define CC_QDESC    0x20
#define CC_QDRIVER  0x28
#define CC_QDEVICE  0x30

#define OFFERED (VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(3) | VIRTIO_BIT(40))

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static struct vh_ram guest = VH_RAM_OVER(guest, ram);

/* Queue 0 as setup_queue0() places it: 8 entries, descriptors at 0x1000, available ring at 0x2000, used ring at 0x3000. */
static const struct vh_queue queue0 = { .desc = 0x1000, .avail = 0x2000, .used = 0x3000, .size = 8 };

/* ---- the stub host: counts what reaches the platform ---- */

static struct {
	int locked;
	unsigned msis;
	uint64_t msi_addr;
	uint32_t msi_data;
	bool intx;
	unsigned intx_calls;
} host_state;

static void host_lock(void *opaque)
{
	assert_int_equal(host_state.locked, 0);
	host_state.locked = 1;
}

static void host_unlock(void *opaque)
{
	assert_int_equal(host_state.locked, 1);
	host_state.locked = 0;
}

static void host_msi(void *opaque, uint64_t addr, uint32_t data)
{
	assert_int_equal(host_state.locked, 1);
	host_state.msis++;
	host_state.msi_addr = addr;
	host_state.msi_data = data;
}

static void host_intx(void *opaque, struct pci_device *d, bool level)
{
	assert_int_equal(host_state.locked, 1);
	host_state.intx = level;
	host_state.intx_calls++;
}

static const struct virtio_pci_host host = {
	.lock = host_lock, .unlock = host_unlock, .msi = host_msi, .intx = host_intx,
};

/* ---- the stub device: completes every chain it is given ---- */

static struct {
	unsigned resets, notifies, last_q, driver_oks, completed;
	uint64_t cfg_written;
	unsigned cfg_write_off, cfg_write_size;
} dev_state;

static struct virtq_elem elem;

static void stub_reset(struct virtio_dev *vd)
{
	dev_state.resets++;
}

static void stub_config_read(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t *data)
{
	*data = 0x1122334455667788ull >> (8 * (offset & 7));
}

static void stub_config_write(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t data)
{
	dev_state.cfg_written = data;
	dev_state.cfg_write_off = offset;
	dev_state.cfg_write_size = size;
}

static void stub_queue_notify(struct virtio_dev *vd, unsigned q)
{
	unsigned done = 0;

	dev_state.notifies++;
	dev_state.last_q = q;
	while (virtio_pop(vd, q, &elem) > 0) {
		virtq_push(&vd->vq[q], elem.head, 0);
		done++;
	}
	dev_state.completed += done;
	if (done)
		virtio_queue_interrupt(vd, q);
}

static void stub_driver_ok(struct virtio_dev *vd)
{
	dev_state.driver_oks++;
}

static const struct virtio_dev_ops stub_ops = {
	.reset = stub_reset,
	.config_read = stub_config_read,
	.config_write = stub_config_write,
	.queue_notify = stub_queue_notify,
	.driver_ok = stub_driver_ok,
};

static unsigned log_lines;
static char last_log[256];

static void stub_log(void *opaque, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_lines++;
}

/* ---- the machine around it ---- */

static struct pci_host bus;
static struct virtio_dev vd;
static struct virtio_pci vp;

static int setup(void **state)
{
	memset(ram, 0, sizeof(ram));
	memset(&host_state, 0, sizeof(host_state));
	memset(&dev_state, 0, sizeof(dev_state));
	log_lines = 0;
	pci_host_init(&bus);
	virtio_dev_init(&vd, "virtio-test0", VIRTIO_ID_RNG, OFFERED, 2, &stub_ops, NULL, &guest.dma);
	vd.log = stub_log;
	assert_int_equal(virtio_pci_init(&vp, &vd, &host), 0);
	assert_int_equal(pci_register(&bus, &vp.pci, SLOT), SLOT);
	assert_int_equal(pci_assign_bars(&bus, MMIO_START, MMIO_END), 0);
	return 0;
}

static int teardown(void **state)
{
	virtio_dev_destroy(&vd);
	return 0;
}

static uint32_t cfg_read(unsigned off, unsigned size)
{
	return pci_config_read(&bus, 0, DEVFN, off, size);
}

static void cfg_write(unsigned off, unsigned size, uint32_t v)
{
	host_lock(NULL);	/* config cycles run under the platform lock */
	pci_config_write(&bus, 0, DEVFN, off, size, v);
	host_unlock(NULL);
}

/* A guest load or store at guest-physical addr, through the bus's BAR decode. */
static uint64_t mmio(uint64_t addr, unsigned size, bool is_write, uint64_t v)
{
	struct pci_device *d;
	unsigned bar;
	uint64_t off;

	assert_true(pci_find_mem_bar(&bus, addr, &d, &bar, &off));
	assert_ptr_equal(d, &vp.pci);
	d->bar_access(d, bar, off, size, is_write, &v);
	assert_int_equal(host_state.locked, 0);
	return v;
}

static uint64_t bar4(void)
{
	return pci_bar_address(&vp.pci, 4);
}

static uint64_t rd(unsigned off, unsigned size)
{
	return mmio(bar4() + off, size, false, 0xdeadbeefdeadbeefull);
}

static void wr(unsigned off, unsigned size, uint64_t v)
{
	mmio(bar4() + off, size, true, v);
}

static void negotiate(uint64_t features)
{
	wr(CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(CC_GFSELECT, 4, 0);
	wr(CC_GF, 4, (uint32_t)features);
	wr(CC_GFSELECT, 4, 1);
	wr(CC_GF, 4, (uint32_t)(features >> 32));
	wr(CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue0(uint16_t vector)
{
	wr(CC_QSELECT, 2, 0);
	wr(CC_QSIZE, 2, queue0.size);
	wr(CC_QDESC, 4, (uint32_t)queue0.desc);
	wr(CC_QDESC + 4, 4, 0);
	wr(CC_QDRIVER, 8, queue0.avail);
	wr(CC_QDEVICE, 4, (uint32_t)queue0.used);
	wr(CC_QDEVICE + 4, 4, 0);
	wr(CC_QMSIX, 2, vector);
	wr(CC_QENABLE, 2, 1);
}

static void driver_ok(void)
{
	wr(CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	   VIRTIO_STATUS_DRIVER_OK);
}

/* The driver posts one single-buffer chain on queue 0 (descriptor i). */
static void post(unsigned i)
{
	const struct vh_seg buf = { 0x8000 + 0x100 * i, 64, true };

	vh_post_chain(ram, &queue0, (uint16_t)i, &buf, 1);
}

static void msix_entry(unsigned v, uint64_t addr, uint32_t data, bool masked)
{
	uint64_t base = pci_bar_address(&vp.pci, 1) + 16 * v;

	mmio(base, 4, true, (uint32_t)addr);
	mmio(base + 4, 4, true, addr >> 32);
	mmio(base + 8, 4, true, data);
	mmio(base + 12, 4, true, masked);
}

static unsigned find_msix_cap(void)
{
	unsigned off;

	for (off = cfg_read(PCI_CAPABILITY_LIST, 1); off; off = cfg_read(off + 1, 1))
		if (cfg_read(off, 1) == 0x11)
			return off;
	fail();
	return 0;
}

static void test_identity_and_caps(void **state)
{
	unsigned off, seen = 0, n = 0, msix = 0;

	assert_int_equal(cfg_read(PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(PCI_DEVICE_ID, 2), 0x1044);
	assert_int_equal(cfg_read(PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(PCI_REVISION_ID, 4) >> 8, 0x00ff00);
	assert_int_equal(cfg_read(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_RNG);
	assert_int_equal(cfg_read(PCI_INTERRUPT_PIN, 1), 1);
	assert_true(cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* BAR sizing: BAR1 4 KiB 32-bit, BAR4 16 KiB 64-bit. */
	cfg_write(PCI_BAR0 + 4, 4, 0xffffffff);
	assert_int_equal(cfg_read(PCI_BAR0 + 4, 4), 0xfffff000u);
	cfg_write(PCI_BAR0 + 16, 4, 0xffffffff);
	assert_int_equal(cfg_read(PCI_BAR0 + 16, 4), 0xffffc004u);

	for (off = cfg_read(PCI_CAPABILITY_LIST, 1); off; off = cfg_read(off + 1, 1)) {
		assert_true(off >= 0x40 && off < 0x100 && !(off & 3));
		assert_true(++n < 16);
		if (cfg_read(off, 1) == 0x11) {
			msix = off;
			continue;
		}
		assert_int_equal(cfg_read(off, 1), 0x09);
		unsigned type = cfg_read(off + 3, 1), bar = cfg_read(off + 4, 1);
		uint32_t where = cfg_read(off + 8, 4), len = cfg_read(off + 12, 4);

		seen |= 1u << type;
		switch (type) {
		case 1: assert_int_equal(bar, 4); assert_int_equal(where, 0x0000); assert_true(len >= 0x38); break;
		case 3: assert_int_equal(bar, 4); assert_int_equal(where, 0x1000); assert_true(len >= 1); break;
		case 4: assert_int_equal(bar, 4); assert_int_equal(where, 0x2000); break;
		case 2:
			assert_int_equal(bar, 4);
			assert_int_equal(where, 0x3000);
			assert_int_equal(cfg_read(off + 2, 1), 20);
			assert_int_equal(cfg_read(off + 16, 4), 4);	/* notify_off_multiplier */
			break;
		case 5:
			/* The access window: bar/offset/length writable, data reads zero. */
			assert_int_equal(cfg_read(off + 2, 1), 20);
			cfg_write(off + 4, 1, 4);
			cfg_write(off + 8, 4, 0x14);
			cfg_write(off + 12, 4, 1);
			cfg_write(off + 16, 4, 0xffffffff);
			assert_int_equal(cfg_read(off + 4, 1), 4);
			assert_int_equal(cfg_read(off + 8, 4), 0x14);
			assert_int_equal(cfg_read(off + 16, 4), 0);
			break;
		default: fail();
		}
	}
	assert_int_equal(seen, 0x3e);
	assert_int_not_equal(msix, 0);
	assert_int_equal(cfg_read(msix + 2, 2), VIRTIO_PCI_MSIX_VECTORS - 1);
	assert_int_equal(cfg_read(msix + 4, 4), 0x000 | 1);
	assert_int_equal(cfg_read(msix + 8, 4), 0x800 | 1);
	/* Only enable and function mask are the guest's. */
	cfg_write(msix + 2, 2, 0xffff);
	assert_int_equal(cfg_read(msix + 2, 2), 0xc000 | (VIRTIO_PCI_MSIX_VECTORS - 1));
}

static void test_feature_negotiation(void **state)
{
	uint64_t v;

	wr(CC_DFSELECT, 4, 0);
	assert_int_equal(rd(CC_DF, 4), (uint32_t)OFFERED);
	wr(CC_DFSELECT, 4, 1);
	assert_int_equal(rd(CC_DF, 4), (uint32_t)((OFFERED | VIRTIO_BIT(VIRTIO_F_VERSION_1)) >> 32));
	assert_int_equal(rd(CC_DF + 2, 2), 0);			/* a partial read inside the field */
	wr(CC_DFSELECT, 4, 2);
	assert_int_equal(rd(CC_DF, 4), 0);
	assert_int_equal(rd(CC_NUMQ, 2), 2);
	assert_int_equal(rd(CC_DF + 2, 4), 0);			/* straddles two fields: nothing */

	/* Without VERSION_1, FEATURES_OK does not stick (3.1.1). */
	negotiate(VIRTIO_BIT(3));
	assert_int_equal(rd(CC_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* Nor with a feature that was not offered. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_false(rd(CC_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* A subset with VERSION_1 is accepted. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40) | VIRTIO_BIT(3));
	assert_int_equal(rd(CC_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(vd.driver_features, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40) | VIRTIO_BIT(3));
	wr(CC_GFSELECT, 4, 0);
	assert_int_equal(rd(CC_GF, 4), 8);
	/* ... and fixed from then on. */
	wr(CC_GF, 4, 0);
	assert_int_equal(vd.driver_features & 8, 8);
	/* The device-specific configuration is passed through. */
	assert_int_equal(rd(DEVCFG + 2, 2), 0x5566);
	v = rd(DEVCFG, 8);
	assert_int_equal(v, 0x1122334455667788ull);
	wr(DEVCFG + 5, 1, 0x1ab);
	assert_int_equal(dev_state.cfg_write_off, 5);
	assert_int_equal(dev_state.cfg_write_size, 1);
	assert_int_equal(dev_state.cfg_written, 0xab);
}

static void test_queue_setup_and_notify(void **state)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(CC_QSELECT, 2, 0);
	assert_int_equal(rd(CC_QSIZE, 2), VIRTQ_MAX_SIZE);
	assert_int_equal(rd(CC_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(rd(CC_QENABLE, 2), 0);
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(rd(CC_QENABLE, 2), 1);
	assert_int_equal(rd(CC_QSIZE, 2), 8);
	assert_int_equal(rd(CC_QDESC, 8), 0x1000);
	assert_int_equal(rd(CC_QDRIVER, 4), 0x2000);
	assert_int_equal(rd(CC_QDEVICE + 4, 4), 0);
	assert_int_equal(rd(CC_QNOTIFY, 2), 0);
	/* An enabled queue's registers are fixed. */
	wr(CC_QSIZE, 2, 4);
	wr(CC_QDESC, 4, 0x5000);
	assert_int_equal(rd(CC_QSIZE, 2), 8);
	assert_int_equal(rd(CC_QDESC, 4), 0x1000);
	/* A queue that does not exist. */
	wr(CC_QSELECT, 2, 5);
	assert_int_equal(rd(CC_QSIZE, 2), 0);
	wr(CC_QENABLE, 2, 1);
	assert_int_equal(rd(CC_QENABLE, 2), 0);
	wr(CC_QSELECT, 2, 1);
	assert_int_equal(rd(CC_QNOTIFY, 2), 1);

	/* Posted before DRIVER_OK: nothing happens until then, then the device looks. */
	post(0);
	wr(NOTIFY + 0, 2, 0);
	assert_int_equal(dev_state.notifies, 0);
	driver_ok();
	assert_int_equal(dev_state.driver_oks, 1);
	assert_int_equal(dev_state.notifies, 1);
	assert_int_equal(dev_state.completed, 1);
	post(1);
	wr(NOTIFY + 0, 2, 0);
	assert_int_equal(dev_state.notifies, 2);
	assert_int_equal(dev_state.last_q, 0);
	assert_int_equal(dev_state.completed, 2);
	assert_int_equal(get16(ram + 0x3002), 2);
	/* queue 1 is not enabled, queue 7 does not exist */
	wr(NOTIFY + 4, 2, 1);
	wr(NOTIFY + 28, 2, 7);
	assert_int_equal(dev_state.notifies, 2);
	assert_int_equal(log_lines, 0);
}

static void test_bad_queue_needs_reset(void **state)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(CC_QSELECT, 2, 1);
	wr(CC_QSIZE, 2, 8);
	wr(CC_QDESC, 8, RAM_SIZE - 16);	/* the table does not fit in RAM */
	wr(CC_QENABLE, 2, 1);
	assert_int_equal(rd(CC_QENABLE, 2), 0);
	assert_true(rd(CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(log_lines, 1);
	/* A malformed chain on a good queue after DRIVER_OK: logged once, config interrupt. */
	wr(CC_STATUS, 1, 0);
	assert_int_equal(rd(CC_STATUS, 1), 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	put16(ram + 0x2004, 9);			/* head out of range */
	put16(ram + 0x2002, 1);
	wr(NOTIFY, 2, 0);
	assert_true(rd(CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(log_lines, 2);
	assert_non_null(strstr(last_log, "virtio-test0: "));
	assert_non_null(strstr(last_log, "head index 9"));
	assert_true(host_state.intx);
	assert_int_equal(rd(ISR, 1), 2);	/* configuration change */
	wr(NOTIFY, 2, 0);
	assert_int_equal(log_lines, 2);
	/* The driver cannot clear NEEDS_RESET except by a reset. */
	driver_ok();
	assert_true(rd(CC_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_intx(void **state)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue0(VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	post(0);
	wr(NOTIFY, 2, 0);
	assert_true(host_state.intx);
	assert_int_equal(host_state.msis, 0);
	/* ISR read: returns and clears, lowers the line. */
	assert_int_equal(rd(ISR, 1), 1);
	assert_false(host_state.intx);
	assert_int_equal(rd(ISR, 1), 0);
	/* Configuration change */
	pthread_mutex_lock(&vd.lock);
	virtio_config_changed(&vd);
	pthread_mutex_unlock(&vd.lock);
	assert_true(host_state.intx);
	assert_int_equal(rd(CC_GEN, 1), 1);
	assert_int_equal(rd(ISR, 4), 2);
	assert_false(host_state.intx);
	/* The driver suppresses interrupts: no line. */
	put16(ram + 0x2000, VIRTQ_AVAIL_F_NO_INTERRUPT);
	post(1);
	wr(NOTIFY, 2, 0);
	assert_int_equal(dev_state.completed, 2);
	assert_false(host_state.intx);
	/* Enabling MSI-X lowers a raised line. */
	put16(ram + 0x2000, 0);
	post(2);
	wr(NOTIFY, 2, 0);
	assert_true(host_state.intx);
	cfg_write(find_msix_cap() + 3, 1, 0x80);
	assert_false(host_state.intx);
}

static void test_msix(void **state)
{
	unsigned cap = find_msix_cap();
	uint64_t pba = pci_bar_address(&vp.pci, 1) + 0x800;

	cfg_write(cap + 3, 1, 0x80);		/* MSI-X enable */
	/* Vectors the function does not have read back as NO_VECTOR (4.1.5.1.2). */
	wr(CC_MSIX, 2, VIRTIO_PCI_MSIX_VECTORS);
	assert_int_equal(rd(CC_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(CC_MSIX, 2, 0);
	assert_int_equal(rd(CC_MSIX, 2), 0);
	wr(CC_QSELECT, 2, 0);
	wr(CC_QMSIX, 2, 0x1234);
	assert_int_equal(rd(CC_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);

	/* Entries start masked. */
	assert_int_equal(mmio(pci_bar_address(&vp.pci, 1) + 12, 4, false, 0), 1);
	msix_entry(0, 0xfee00000, 0x40, false);
	msix_entry(1, 0xfee01000, 0x41, false);
	assert_int_equal(mmio(pci_bar_address(&vp.pci, 1) + 16, 8, false, 0), 0xfee01000);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue0(1);
	driver_ok();
	post(0);
	wr(NOTIFY, 2, 0);
	assert_int_equal(host_state.msis, 1);
	assert_int_equal(host_state.msi_addr, 0xfee01000);
	assert_int_equal(host_state.msi_data, 0x41);
	assert_int_equal(host_state.intx_calls, 0);

	/* Masked entry: the message waits in the pending bits until unmasked. */
	mmio(pci_bar_address(&vp.pci, 1) + 16 + 12, 4, true, 1);
	post(1);
	wr(NOTIFY, 2, 0);
	assert_int_equal(host_state.msis, 1);
	assert_int_equal(mmio(pba, 8, false, 0), 2);
	mmio(pba, 8, true, 0);			/* read-only */
	assert_int_equal(mmio(pba, 8, false, 0), 2);
	mmio(pci_bar_address(&vp.pci, 1) + 16 + 12, 4, true, 0);
	assert_int_equal(host_state.msis, 2);
	assert_int_equal(mmio(pba, 8, false, 0), 0);

	/* Function mask: the same, released by the config write. */
	cfg_write(cap + 3, 1, 0xc0);
	pthread_mutex_lock(&vd.lock);
	virtio_config_changed(&vd);		/* config vector 0 */
	pthread_mutex_unlock(&vd.lock);
	assert_int_equal(host_state.msis, 2);
	assert_int_equal(mmio(pba, 4, false, 0), 1);
	cfg_write(cap + 3, 1, 0x80);
	assert_int_equal(host_state.msis, 3);
	assert_int_equal(host_state.msi_data, 0x40);

	/* NO_VECTOR: nothing at all. */
	wr(CC_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	pthread_mutex_lock(&vd.lock);
	virtio_config_changed(&vd);
	pthread_mutex_unlock(&vd.lock);
	assert_int_equal(host_state.msis, 3);
	assert_int_equal(mmio(pba, 8, false, 0), 0);
	assert_int_equal(host_state.intx_calls, 0);
	/* Misaligned and out-of-table accesses do nothing. */
	assert_int_equal(mmio(pci_bar_address(&vp.pci, 1) + 2, 4, false, 0), 0);
	assert_int_equal(mmio(pci_bar_address(&vp.pci, 1) + 0x400, 4, false, 0), 0);
}

static void test_reset(void **state)
{
	unsigned cap = find_msix_cap();

	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3));
	setup_queue0(0);
	driver_ok();
	post(0);
	wr(NOTIFY, 2, 0);
	assert_true(host_state.intx);
	/* The driver's reset: status 0. */
	wr(CC_STATUS, 1, 0);
	assert_int_equal(dev_state.resets, 1);
	assert_int_equal(rd(CC_STATUS, 1), 0);
	assert_false(host_state.intx);
	assert_int_equal(vd.driver_features, 0);
	wr(CC_QSELECT, 2, 0);
	assert_int_equal(rd(CC_QENABLE, 2), 0);
	assert_int_equal(rd(CC_QSIZE, 2), VIRTQ_MAX_SIZE);
	assert_int_equal(rd(CC_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(rd(CC_QDESC, 8), 0);
	assert_int_equal(rd(ISR, 1), 0);
	/* Notifications to a reset device go nowhere. */
	wr(NOTIFY, 2, 0);
	assert_int_equal(dev_state.notifies, 1);

	/* A machine reset: the device and the MSI-X state back to power-on. */
	cfg_write(cap + 3, 1, 0x80);
	msix_entry(3, 0xfee00000, 0x33, false);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	pci_host_reset(&bus);
	assert_int_equal(dev_state.resets, 2);
	assert_int_equal(vd.status, 0);
	assert_int_equal(cfg_read(cap + 2, 2), VIRTIO_PCI_MSIX_VECTORS - 1);
	assert_int_equal(pci_bar_address(&vp.pci, 4), PCI_BAR_UNMAPPED);
	assert_int_equal(vp.msix_table[3][3], 1);
	assert_int_equal(vp.msix_table[3][2], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup_and_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
