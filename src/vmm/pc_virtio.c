/* The machine's virtio-pci devices: disks, NICs, console and entropy from machine_config, with their backends, DMA space and interrupt wiring. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "devices/virtio_rng.h"
#include "vmm/machine_priv.h"

/* Device messages shown without --verbose before the rest are left to --verbose. */
#define PC_VIRTIO_QUIET_LINES 8

struct pc_virtio {
	struct machine *m;
	struct dma_space dma;
	struct virtio_pci_host host;
	atomic_uint log_lines;

	unsigned nr_disks;		/* disks opened and devices initialised */
	struct disk disk[MACHINE_MAX_DISKS];
	struct virtio_blk blk[MACHINE_MAX_DISKS];
	struct virtio_pci blk_pci[MACHINE_MAX_DISKS];
	char blk_name[MACHINE_MAX_DISKS][24];	/* "virtio-blk" + any unsigned */

	unsigned nr_nics;		/* backends opened and devices initialised */
	struct netdev *netdev[MACHINE_MAX_NICS];
	struct virtio_net net[MACHINE_MAX_NICS];
	struct virtio_pci net_pci[MACHINE_MAX_NICS];
	char net_name[MACHINE_MAX_NICS][24];
	bool net_inited;		/* net[nr_nics] is initialised but has no backend yet */

	bool has_console, has_rng;
	struct virtio_console console;
	struct virtio_pci console_pci;
	struct virtio_rng rng;
	struct virtio_pci rng_pci;
};

/* Guest RAM only: guestmem_ptr() refuses ROM, reserved ranges, holes and wrapping ranges. */
static void *pc_virtio_dma_map(void *opaque, uint64_t gpa, uint64_t len)
{
	struct machine *m = opaque;

	return guestmem_ptr(&m->mem, gpa, len);
}

/* A device wrote guest RAM: the engine may hold translated code of it. */
static void pc_virtio_dma_written(void *opaque, const void *host, size_t len)
{
	struct machine *m = opaque;
	uint64_t gpa;

	if (guestmem_gpa(&m->mem, host, &gpa))
		rv_vm_note_write(m->vm, gpa, len);
}

static void pc_virtio_lock(void *opaque)
{
	struct machine *m = opaque;

	pthread_mutex_lock(&m->pc.lock);
}

static void pc_virtio_unlock(void *opaque)
{
	struct machine *m = opaque;

	pthread_mutex_unlock(&m->pc.lock);
}

static void pc_virtio_msi(void *opaque, uint64_t addr, uint32_t data)
{
	pc_msi_deliver(opaque, addr, data);
}

static void pc_virtio_intx(void *opaque, struct pci_device *d, bool level)
{
	pc_pci_intx_set(opaque, d, level);
}

/* One line to the caller's log, --verbose or not. */
static void pc_virtio_say(struct machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pc_virtio_say(struct machine *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	m->cfg.log(m->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

/*
 * Needs-reset reasons and host I/O errors: a guest driver bug or a failing
 * image is worth a line on stderr even without --verbose, but a guest
 * that breaks its devices in a loop must not flood it, so only the first
 * few go out unasked; --verbose shows them all.
 */
static void pc_virtio_log(void *opaque, const char *fmt, ...)
{
	struct pc_virtio *pv = opaque;
	struct machine *m = pv->m;
	unsigned n;
	va_list ap;

	if (!m->cfg.log)
		return;
	n = atomic_fetch_add(&pv->log_lines, 1);
	if (!m->cfg.verbose && n >= PC_VIRTIO_QUIET_LINES) {
		if (n == PC_VIRTIO_QUIET_LINES)
			pc_virtio_say(m, "further virtio device messages are shown with --verbose only");
		return;
	}
	va_start(ap, fmt);
	m->cfg.log(m->cfg.log_opaque, fmt, ap);
	va_end(ap);
}

/* A device onto the bus: its transport, the next slot, the log. */
static int pc_virtio_plug(struct pc_virtio *pv, struct virtio_pci *vp, struct virtio_dev *vd,
			  int *slot, char *err, size_t errlen)
{
	struct machine *m = pv->m;
	int ret;

	vd->log = pc_virtio_log;
	vd->log_opaque = pv;
	ret = virtio_pci_init(vp, vd, &pv->host);
	if (ret) {
		snprintf(err, errlen, "cannot set up %s: %s", vd->name, strerror(-ret));
		return ret;
	}
	ret = pci_register(&m->pc.pci, &vp->pci, *slot);
	if (ret < 0) {
		snprintf(err, errlen, "cannot put %s on PCI slot %d: %s", vd->name, *slot,
			 strerror(-ret));
		return ret;
	}
	(*slot)++;
	m->pc.pci_irq_sources = true;
	return 0;
}

/* A NIC's MAC: the configured one, or 52:54:00:12:34:56 + index (QEMU's locally administered default). */
static void pc_virtio_mac(const struct net_config *nc, unsigned i, uint8_t mac[6])
{
	static const uint8_t zero[6];

	if (memcmp(nc->mac, zero, 6)) {
		memcpy(mac, nc->mac, 6);
		return;
	}
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = 0x12;
	mac[4] = 0x34;
	mac[5] = (uint8_t)(0x56 + i);
}

int pc_virtio_create(struct machine *m, char *err, size_t errlen)
{
	const struct machine_config *cfg = &m->cfg;
	struct pc_virtio *pv;
	int slot = 1, ret;
	unsigned i;

	if (!cfg->nr_disks && !cfg->nr_nics && !cfg->virtio_console && !cfg->virtio_rng)
		return 0;
	if (cfg->nr_disks > MACHINE_MAX_DISKS || cfg->nr_nics > MACHINE_MAX_NICS) {
		snprintf(err, errlen, "too many devices: at most %u disks and %u NICs",
			 MACHINE_MAX_DISKS, MACHINE_MAX_NICS);
		return -EINVAL;
	}
	pv = calloc(1, sizeof(*pv));
	if (!pv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->virtio = pv;
	pv->m = m;
	pv->dma = (struct dma_space){ .map = pc_virtio_dma_map, .written = pc_virtio_dma_written, .opaque = m };
	pv->host = (struct virtio_pci_host){
		.lock = pc_virtio_lock,
		.unlock = pc_virtio_unlock,
		.msi = pc_virtio_msi,
		.intx = pc_virtio_intx,
		.opaque = m,
	};
	atomic_init(&pv->log_lines, 0);

	/* Bus order, from slot 1: disks, NICs, console, rng (machine.h). */
	for (i = 0; i < cfg->nr_disks; i++) {
		const struct machine_disk *md = &cfg->disk[i];

		ret = disk_open_format(&pv->disk[i], md->path, md->format, md->readonly, err, errlen);
		if (ret)
			return ret;
		snprintf(pv->blk_name[i], sizeof(pv->blk_name[i]), "virtio-blk%u", i);
		virtio_blk_init(&pv->blk[i], pv->blk_name[i], &pv->disk[i], md->serial, &pv->dma);
		pv->nr_disks++;
		ret = pc_virtio_plug(pv, &pv->blk_pci[i], &pv->blk[i].vd, &slot, err, errlen);
		if (ret)
			return ret;
	}
	for (i = 0; i < cfg->nr_nics; i++) {
		struct net_config nc = cfg->nic[i];
		struct virtio_net *n = &pv->net[i];
		const struct netdev_rx rx = { .receive = virtio_net_receive, .opaque = n };

		pc_virtio_mac(&cfg->nic[i], i, nc.mac);
		snprintf(pv->net_name[i], sizeof(pv->net_name[i]), "virtio-net%u", i);
		virtio_net_init(n, pv->net_name[i], nc.mac, &pv->dma);
		pv->net_inited = true;
		ret = netdev_open(&pv->netdev[i], &nc, &rx, err, errlen);
		if (ret)
			return ret;
		virtio_net_attach(n, pv->netdev[i]);
		pv->net_inited = false;
		pv->nr_nics++;
		ret = pc_virtio_plug(pv, &pv->net_pci[i], &n->vd, &slot, err, errlen);
		if (ret)
			return ret;
	}
	if (cfg->virtio_console) {
		/* hvc0's output goes where COM1's does; input comes from the serial input thread (pc.c). */
		virtio_console_init(&pv->console, "virtio-console0", cfg->serial_fd, &pv->dma);
		pv->has_console = true;
		ret = pc_virtio_plug(pv, &pv->console_pci, &pv->console.vd, &slot, err, errlen);
		if (ret)
			return ret;
	}
	if (cfg->virtio_rng) {
		virtio_rng_init(&pv->rng, "virtio-rng0", &pv->dma);
		pv->has_rng = true;
		ret = pc_virtio_plug(pv, &pv->rng_pci, &pv->rng.vd, &slot, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int pc_virtio_start(struct machine *m)
{
	struct pc_virtio *pv = m->virtio;

	if (!pv)
		return 0;
	for (unsigned i = 0; i < pv->nr_nics; i++) {
		int ret = netdev_start(pv->netdev[i]);

		if (ret)
			return ret;
	}
	return 0;
}

void pc_virtio_stop(struct machine *m)
{
	struct pc_virtio *pv = m->virtio;

	if (!pv)
		return;
	for (unsigned i = 0; i < pv->nr_nics; i++)
		netdev_stop(pv->netdev[i]);
}

void pc_virtio_destroy(struct machine *m)
{
	struct pc_virtio *pv = m->virtio;
	unsigned i;

	if (!pv)
		return;
	/* Backends first (their threads call into the devices), then devices, then the images. */
	for (i = 0; i < pv->nr_nics; i++)
		netdev_close(pv->netdev[i]);
	for (i = 0; i < pv->nr_nics; i++)
		virtio_net_destroy(&pv->net[i]);
	if (pv->net_inited)
		virtio_net_destroy(&pv->net[pv->nr_nics]);
	if (pv->has_console)
		virtio_console_destroy(&pv->console);
	if (pv->has_rng)
		virtio_rng_destroy(&pv->rng);
	for (i = 0; i < pv->nr_disks; i++) {
		virtio_blk_destroy(&pv->blk[i]);
		disk_close(&pv->disk[i]);
	}
	free(pv);
	m->virtio = NULL;
}

size_t pc_virtio_console_receive(struct machine *m, const void *buf, size_t len)
{
	struct pc_virtio *pv = m->virtio;

	if (!pv || !pv->has_console)
		return 0;
	return virtio_console_receive(&pv->console, buf, len);
}
