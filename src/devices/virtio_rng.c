/* virtio-rng (virtio 1.2, 5.4): each request's writable buffers filled from the host's getrandom(). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "devices/virtio_rng.h"

#define RNG_REQUESTQ 0

/*
 * The most one request gets. The device may fill fewer bytes than offered
 * (5.4.6: the used length says how many), and a cap keeps a vCPU's exit
 * short when a guest offers megabytes.
 */
#define RNG_MAX_PER_REQUEST (64 * 1024)

/* Fill buf with random bytes; returns how many were filled from its start (len unless getrandom fails). */
static size_t rng_fill(uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	return done;
}

/* Fill a request's writable segments in order, up to the cap; returns the bytes filled from the start. */
static size_t rng_fill_request(const struct virtq_elem *e)
{
	size_t filled = 0;

	for (unsigned i = 0; i < e->nr_in && filled < RNG_MAX_PER_REQUEST; i++) {
		size_t want = e->in[i].iov_len;

		if (want > RNG_MAX_PER_REQUEST - filled)
			want = RNG_MAX_PER_REQUEST - filled;
		size_t got = rng_fill(e->in[i].iov_base, want);

		filled += got;
		/* The used length counts bytes from the start: stop at the first gap, never report unfilled memory. */
		if (got < want)
			break;
	}
	return filled;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct virtio_rng *r = vd->opaque;
	struct virtq_elem *e = &r->elem;
	unsigned pushed = 0;

	if (q != RNG_REQUESTQ)
		return;
	while (virtio_pop(vd, RNG_REQUESTQ, e) > 0) {
		if (e->nr_out > 0) {
			/* 5.4.6.1: the driver offers device-writable buffers only. */
			virtio_needs_reset(vd, "%s: requestq chain %u has %u device-readable segments",
					   vd->name, e->head, e->nr_out);
			break;
		}
		size_t filled = rng_fill_request(e);

		if (filled < e->in_len && filled < RNG_MAX_PER_REQUEST && vd->log)
			vd->log(vd->log_opaque, "%s: getrandom failed (%s); request %u gets %zu bytes",
				vd->name, strerror(errno), e->head, filled);
		virtq_note_written(&vd->vq[RNG_REQUESTQ], e, filled);
		virtq_push(&vd->vq[RNG_REQUESTQ], e->head, (uint32_t)filled);
		pushed++;
	}
	if (pushed)
		virtio_queue_interrupt(vd, RNG_REQUESTQ);
}

static void rng_reset(struct virtio_dev *vd)
{
	/* No state outside the queue: each request completes within the notify that takes it. */
}

static void rng_config_read(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t *data)
{
	*data = 0;	/* 5.4.4: no device configuration */
}

static void rng_config_write(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t data)
{
}

static const struct virtio_dev_ops rng_ops = {
	.reset = rng_reset,
	.config_read = rng_config_read,
	.config_write = rng_config_write,
	.queue_notify = rng_queue_notify,
};

void virtio_rng_init(struct virtio_rng *r, const char *name, const struct dma_space *dma)
{
	memset(r, 0, sizeof(*r));
	virtio_dev_init(&r->vd, name, VIRTIO_ID_RNG,
			VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
			1, &rng_ops, r, dma);
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	virtio_dev_destroy(&r->vd);
}
