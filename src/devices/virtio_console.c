/* virtio-console (virtio 1.2, 5.3) with one port and no multiport: transmitq to a host fd, host input into receiveq. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_console.h"

/* Feature bits (5.3.3). F_SIZE is not offered: the device has no real size to give. */
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Queues without VIRTIO_CONSOLE_F_MULTIPORT (5.3.2): port 0's receive and transmit queues. */
#define CONSOLE_RXQ 0
#define CONSOLE_TXQ 1

/* Configuration layout (5.3.4): le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. */
#define CONSOLE_CFG_MAX_NR_PORTS 4
#define CONSOLE_CFG_EMERG_WR     8
#define CONSOLE_CFG_SIZE         12

static struct virtio_console *console_of(struct virtio_dev *vd)
{
	return vd->opaque;
}

/*
 * Write all of buf to fd: a pipe or a terminal may take it in pieces, and
 * a non-blocking one may refuse for a while (EAGAIN: wait until it drains)
 * — console output must never be lost. A hard error (EPIPE when the reader
 * went away, EIO) drops the rest; the guest cannot do better about it.
 */
static void console_write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return;
		} else {
			return;
		}
	}
}

/* The guest wrote to hvc0: each chain's readable bytes go to out_fd in order (5.3.6.2). */
static void console_transmit(struct virtio_console *c)
{
	struct virtio_dev *vd = &c->vd;
	struct virtq_elem *e = &c->elem;
	unsigned pushed = 0;

	while (virtio_pop(vd, CONSOLE_TXQ, e) > 0) {
		if (e->nr_in > 0) {
			/* 5.3.6.2: transmit buffers are device-readable only. */
			virtio_needs_reset(vd, "%s: transmitq chain %u has %u device-writable segments",
					   vd->name, e->head, e->nr_in);
			break;
		}
		if (c->out_fd >= 0) {
			for (unsigned i = 0; i < e->nr_out; i++)
				console_write_all(c->out_fd, e->out[i].iov_base, e->out[i].iov_len);
		}
		/* Nothing is written into a transmit buffer: used length 0. */
		virtq_push(&vd->vq[CONSOLE_TXQ], e->head, 0);
		pushed++;
	}
	if (pushed)
		virtio_queue_interrupt(vd, CONSOLE_TXQ);
}

static void console_queue_notify(struct virtio_dev *vd, unsigned q)
{
	/*
	 * Only the transmitq has work on a notify. A receiveq notify means new
	 * empty buffers; the host input side finds them when it next calls
	 * virtio_console_receive().
	 */
	if (q == CONSOLE_TXQ)
		console_transmit(console_of(vd));
}

static void console_config_read(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t *data)
{
	/*
	 * cols and rows only mean something with F_SIZE, max_nr_ports only with
	 * F_MULTIPORT (5.3.4); report a single port anyway, as QEMU does.
	 * emerg_wr is write-only and reads as 0.
	 */
	uint8_t cfg[CONSOLE_CFG_SIZE] = { [CONSOLE_CFG_MAX_NR_PORTS] = 1 };

	*data = virtio_config_bytes(cfg, CONSOLE_CFG_SIZE, offset, size);
}

static void console_config_write(struct virtio_dev *vd, unsigned offset, unsigned size, uint64_t data)
{
	struct virtio_console *c = console_of(vd);

	/*
	 * Emergency write (5.3.6.1): a byte written to emerg_wr goes out at once,
	 * queues or not (early consoles use it before the driver is up, so it
	 * does not wait for the feature to be negotiated). The other fields are
	 * read-only.
	 */
	if (size > 8 || offset > CONSOLE_CFG_EMERG_WR || offset + size <= CONSOLE_CFG_EMERG_WR)
		return;
	uint8_t byte = (uint8_t)(data >> (8 * (CONSOLE_CFG_EMERG_WR - offset)));

	if (c->out_fd >= 0)
		console_write_all(c->out_fd, &byte, 1);
}

static void console_reset(struct virtio_dev *vd)
{
	/* No state outside the queues: each chain is completed within the call that takes it. */
}

static const struct virtio_dev_ops console_ops = {
	.reset = console_reset,
	.config_read = console_config_read,
	.config_write = console_config_write,
	.queue_notify = console_queue_notify,
};

void virtio_console_init(struct virtio_console *c, const char *name, int out_fd,
			 const struct dma_space *dma)
{
	memset(c, 0, sizeof(*c));
	c->out_fd = out_fd;
	virtio_dev_init(&c->vd, name, VIRTIO_ID_CONSOLE,
			VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE),
			2, &console_ops, c, dma);
}

size_t virtio_console_receive(struct virtio_console *c, const void *buf, size_t len)
{
	struct virtio_dev *vd = &c->vd;
	struct virtq_elem *e = &c->elem;
	const uint8_t *p = buf;
	size_t taken = 0;
	unsigned pushed = 0;

	pthread_mutex_lock(&vd->lock);
	if (!virtio_queue_ready(vd, CONSOLE_RXQ))
		goto out;
	/* Look before popping: a chain taken from the ring must go back with bytes in it. */
	while (taken < len && virtq_has_avail(&vd->vq[CONSOLE_RXQ])) {
		if (virtio_pop(vd, CONSOLE_RXQ, e) <= 0)
			break;
		if (e->nr_out > 0) {
			/* 5.3.6.1: receive buffers are device-writable only. */
			virtio_needs_reset(vd, "%s: receiveq chain %u has %u device-readable segments",
					   vd->name, e->head, e->nr_out);
			break;
		}
		size_t n = iov_from_buf(e->in, e->nr_in, 0, p + taken, len - taken);

		virtq_note_written(&vd->vq[CONSOLE_RXQ], e, n);
		virtq_push(&vd->vq[CONSOLE_RXQ], e->head, (uint32_t)n);
		pushed++;
		taken += n;
	}
	if (pushed)
		virtio_queue_interrupt(vd, CONSOLE_RXQ);
out:
	pthread_mutex_unlock(&vd->lock);
	return taken;
}

void virtio_console_destroy(struct virtio_console *c)
{
	/* out_fd belongs to the caller. */
	virtio_dev_destroy(&c->vd);
}
