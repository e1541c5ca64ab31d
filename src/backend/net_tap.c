/* A host tap device (IFF_TAP | IFF_NO_PI): guest frames written to it, frames read from it offered to the guest. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backend/errmsg.h"
#include "backend/net_priv.h"

/* Frames read per wakeup before the loop looks at its other work (stop, held frames). */
#define TAP_READ_BATCH 64

struct net_tap {
	int fd;
	bool broken;			/* the fd failed for good: stop polling it rather than spin */
	int poll_idx;			/* its slot in this loop's poll set, or -1 (thread only) */
	uint8_t buf[NET_MAX_FRAME];	/* one frame read from the tap (thread only) */
};

static void tap_poll_fill(struct netdev *nd, bool want_input, int *timeout_ms)
{
	struct net_tap *t = nd->priv;

	/* Writes never wait (a full tap drops the frame), so the fd is polled for input only. */
	t->poll_idx = want_input && !t->broken ? netdev_poll_add(nd, t->fd, POLLIN) : -1;
}

static void tap_poll_dispatch(struct netdev *nd, bool poll_failed)
{
	struct net_tap *t = nd->priv;
	short rev;
	unsigned i;

	if (poll_failed || t->poll_idx < 0)
		return;
	rev = netdev_poll_revents(nd, t->poll_idx);
	if (!(rev & (POLLIN | POLLERR | POLLHUP | POLLNVAL)))
		return;
	for (i = 0; i < TAP_READ_BATCH; i++) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: drained. EIO and the like: the interface went away. */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				t->broken = true;
			return;
		}
		if (n == 0) {
			t->broken = true;
			return;
		}
		/* The device is full: leave the rest in the kernel until it has buffers again. */
		if (!netdev_offer(nd, t->buf, (size_t)n))
			return;
	}
}

static void tap_send(struct netdev *nd, const struct iovec *iov, unsigned n)
{
	struct net_tap *t = nd->priv;
	ssize_t r;

	/* One write is one frame; EAGAIN (the host's queue is full) or any error drops it, as a wire would. */
	do {
		r = writev(t->fd, iov, (int)n);
	} while (r < 0 && errno == EINTR);
}

static void tap_close(struct netdev *nd)
{
	struct net_tap *t = nd->priv;

	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	nd->priv = NULL;
}

static const struct netdev_ops tap_ops = {
	.name = "tap",
	.poll_fill = tap_poll_fill,
	.poll_dispatch = tap_poll_dispatch,
	.send = tap_send,
	.close = tap_close,
};

int net_tap_open(struct netdev **ndp, const struct net_config *cfg, const struct netdev_rx *rx,
		 char *err, size_t errlen)
{
	struct net_tap *t;
	struct ifreq ifr;
	size_t namelen = strnlen(cfg->ifname, sizeof(cfg->ifname));
	int r, e;

	*ndp = NULL;
	if (!namelen || namelen >= IFNAMSIZ)
		return backend_error(err, errlen, -EINVAL, "cannot open tap device '%.*s': %s", (int)namelen,
			       cfg->ifname, namelen ? "name too long" : "no interface name given");
	t = calloc(1, sizeof(*t));
	if (!t)
		return backend_error(err, errlen, -ENOMEM, "cannot open tap device '%s': %s", cfg->ifname,
			       strerror(ENOMEM));
	t->poll_idx = -1;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		e = errno;
		free(t);
		return backend_error(err, errlen, -e, "cannot open tap device '%s': %s", cfg->ifname, strerror(e));
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, cfg->ifname, namelen);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(t->fd);
		free(t);
		return backend_error(err, errlen, -e, "cannot open tap device '%s': %s", cfg->ifname, strerror(e));
	}
	r = netdev_create(ndp, &tap_ops, t, rx, err, errlen);
	if (r < 0) {
		close(t->fd);
		free(t);
	}
	return r;
}
