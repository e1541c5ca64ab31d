/* The transport-independent virtio device core (virtio 1.2, ch. 2-3): status, feature negotiation, queues, interrupts, needs-reset. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtio.h"

void virtio_dev_init(struct virtio_dev *vd, const char *name, uint16_t device_id,
		     uint64_t features, unsigned nr_queues, const struct virtio_dev_ops *ops,
		     void *opaque, const struct dma_space *dma)
{
	unsigned i;

	memset(vd, 0, sizeof(*vd));
	pthread_mutex_init(&vd->lock, NULL);
	vd->name = name;
	vd->device_id = device_id;
	vd->host_features = features | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	vd->nr_queues = nr_queues <= VIRTIO_MAX_QUEUES ? nr_queues : VIRTIO_MAX_QUEUES;
	vd->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&vd->vq[i], VIRTQ_MAX_SIZE);
	vd->ops = ops;
	vd->opaque = opaque;
	vd->dma = dma;
}

void virtio_dev_destroy(struct virtio_dev *vd)
{
	pthread_mutex_destroy(&vd->lock);
}

void virtio_dev_reset(struct virtio_dev *vd)
{
	unsigned i;

	vd->status = 0;
	vd->driver_features = 0;
	vd->isr = 0;
	vd->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&vd->vq[i], VIRTQ_MAX_SIZE);
	if (vd->ops && vd->ops->reset)
		vd->ops->reset(vd);
}

/* 3.1.1 step 5: the device takes only features it offered, and this transport only modern drivers. */
static bool features_acceptable(const struct virtio_dev *vd)
{
	return !(vd->driver_features & ~vd->host_features) &&
	       (vd->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

void virtio_set_status(struct virtio_dev *vd, uint8_t status)
{
	uint8_t old = vd->status;
	unsigned q;

	if (!status) {
		virtio_dev_reset(vd);
		return;
	}
	/* NEEDS_RESET is the device's to set (2.1.2); only a reset clears it. */
	status = (uint8_t)((status & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
	/* A refused FEATURES_OK reads back clear, which tells the driver (3.1.1 step 6). */
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(vd))
		status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	vd->status = status;
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(status & VIRTIO_STATUS_FEATURES_OK)) {
			virtio_needs_reset(vd, "DRIVER_OK without an accepted FEATURES_OK");
			return;
		}
		if (vd->ops && vd->ops->driver_ok)
			vd->ops->driver_ok(vd);
		/*
		 * Drivers may post buffers and notify before DRIVER_OK; the
		 * device ignored those notifications (the queues were not
		 * ready), so look at every queue once now.
		 */
		for (q = 0; q < vd->nr_queues; q++)
			if (virtio_queue_ready(vd, q) && virtq_has_avail(&vd->vq[q]))
				virtio_queue_notify(vd, q);
	}
}

void virtio_queue_enable(struct virtio_dev *vd, unsigned q)
{
	char why[160];

	if (q >= vd->nr_queues)
		return;
	if (virtq_enable(&vd->vq[q], vd->dma, vd->driver_features, why, sizeof(why)) < 0)
		virtio_needs_reset(vd, "queue %u: %s", q, why);
}

void virtio_queue_notify(struct virtio_dev *vd, unsigned q)
{
	if (virtio_queue_ready(vd, q) && vd->ops && vd->ops->queue_notify)
		vd->ops->queue_notify(vd, q);
}

bool virtio_queue_ready(const struct virtio_dev *vd, unsigned q)
{
	return q < vd->nr_queues && (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vd->status & VIRTIO_STATUS_NEEDS_RESET) && vd->vq[q].enabled;
}

static void raise_interrupt(struct virtio_dev *vd, int q)
{
	if (vd->transport && vd->transport->interrupt)
		vd->transport->interrupt(vd->transport_opaque, vd, q);
}

void virtio_queue_interrupt(struct virtio_dev *vd, unsigned q)
{
	if (q >= vd->nr_queues || !virtq_should_interrupt(&vd->vq[q]))
		return;
	vd->isr |= 1;
	raise_interrupt(vd, (int)q);
}

void virtio_config_changed(struct virtio_dev *vd)
{
	vd->config_generation++;
	vd->isr |= 2;
	raise_interrupt(vd, -1);
}

void virtio_needs_reset(struct virtio_dev *vd, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	/* Once per episode: the first reason is the one worth reading. */
	if (vd->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (vd->log)
		vd->log(vd->log_opaque, "%s: needs reset: %s", vd->name ? vd->name : "virtio", why);
	vd->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 2.1.2: with DRIVER_OK set, tell the driver through a configuration change notification. */
	if (vd->status & VIRTIO_STATUS_DRIVER_OK) {
		vd->isr |= 2;
		raise_interrupt(vd, -1);
	}
}

int virtio_pop(struct virtio_dev *vd, unsigned q, struct virtq_elem *e)
{
	char why[160];
	int r;

	if (!virtio_queue_ready(vd, q))
		return 0;
	r = virtq_pop(&vd->vq[q], e, why, sizeof(why));
	if (r < 0)
		virtio_needs_reset(vd, "queue %u: %s", q, why);
	return r;
}

uint64_t virtio_config_bytes(const uint8_t *cfg, size_t cfg_size, unsigned offset, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size && i < 8; i++)
		if (offset < cfg_size && i < cfg_size - offset)
			v |= (uint64_t)cfg[offset + i] << (8 * i);
	return v;
}
