/* The common netdev: the backend's thread and poll loop, its wakeups, and the queue of frames held for the guest. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/errmsg.h"
#include "backend/net_priv.h"

int netdev_create(struct netdev **ndp, const struct netdev_ops *ops, void *priv,
		  const struct netdev_rx *rx, char *err, size_t errlen)
{
	struct netdev *nd;

	*ndp = NULL;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return backend_error(err, errlen, -ENOMEM, "network backend: out of memory");
	/* Room for the wakeup fd at least, so the thread can always be stopped. */
	nd->pfd_cap = 16;
	nd->pfd = calloc(nd->pfd_cap, sizeof(*nd->pfd));
	nd->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!nd->pfd || nd->wake_fd < 0) {
		int e = nd->pfd ? errno : ENOMEM;

		if (nd->wake_fd >= 0)
			close(nd->wake_fd);
		free(nd->pfd);
		free(nd);
		return backend_error(err, errlen, -e, "network backend: %s", strerror(e));
	}
	nd->ops = ops;
	nd->priv = priv;
	nd->rx = *rx;
	atomic_init(&nd->wake_pending, false);
	atomic_init(&nd->rx_kick, false);
	atomic_init(&nd->stop_requested, false);
	atomic_init(&nd->rx_dropped, 0);
	atomic_init(&nd->rx_delivered, 0);
	pthread_mutex_init(&nd->held_lock, NULL);
	*ndp = nd;
	return 0;
}

int netdev_open(struct netdev **nd, const struct net_config *cfg, const struct netdev_rx *rx,
		char *err, size_t errlen)
{
	*nd = NULL;
	switch (cfg->kind) {
	case NET_USER:
		return net_slirp_open(nd, cfg, false, rx, err, errlen);
	case NET_TAP:
		return net_tap_open(nd, cfg, rx, err, errlen);
	}
	return backend_error(err, errlen, -EINVAL, "unknown network backend kind %d", (int)cfg->kind);
}

void netdev_wake(struct netdev *nd)
{
	uint64_t one = 1;

	/* One outstanding write is enough: the thread clears the flag before it looks at anything. */
	if (atomic_exchange(&nd->wake_pending, true))
		return;
	/* Only EAGAIN (counter saturated) can fail here, and then the thread is awake anyway. */
	if (write(nd->wake_fd, &one, sizeof(one)) < 0) {
	}
}

void netdev_rx_ready(struct netdev *nd)
{
	if (!nd)
		return;
	atomic_store(&nd->rx_kick, true);
	netdev_wake(nd);
}

unsigned netdev_held_count(struct netdev *nd)
{
	unsigned n;

	pthread_mutex_lock(&nd->held_lock);
	n = nd->held_count;
	pthread_mutex_unlock(&nd->held_lock);
	return n;
}

/* Append a copy at the tail; newest frames are the ones dropped when full, as a NIC with a full ring does. */
static bool held_push(struct netdev *nd, const void *frame, size_t len)
{
	uint8_t *copy;
	bool ok = false;

	if (len > NET_MAX_FRAME) {
		atomic_fetch_add(&nd->rx_dropped, 1);
		return false;
	}
	copy = malloc(len ? len : 1);
	if (copy)
		memcpy(copy, frame, len);
	pthread_mutex_lock(&nd->held_lock);
	if (copy && nd->held_count < NETDEV_HELD_MAX) {
		unsigned tail = (nd->held_head + nd->held_count) % NETDEV_HELD_MAX;

		nd->held[tail].data = copy;
		nd->held[tail].len = len;
		nd->held_count++;
		ok = true;
	}
	pthread_mutex_unlock(&nd->held_lock);
	if (!ok) {
		free(copy);
		atomic_fetch_add(&nd->rx_dropped, 1);
	}
	return ok;
}

bool netdev_queue(struct netdev *nd, const void *frame, size_t len)
{
	bool ok = held_push(nd, frame, len);

	if (ok)
		netdev_wake(nd);
	return ok;
}

unsigned netdev_deliver_held(struct netdev *nd)
{
	unsigned delivered = 0;

	if (atomic_exchange(&nd->rx_kick, false))
		nd->rx_blocked = false;
	while (!nd->rx_blocked) {
		struct netdev_frame f;

		pthread_mutex_lock(&nd->held_lock);
		if (!nd->held_count) {
			pthread_mutex_unlock(&nd->held_lock);
			break;
		}
		f = nd->held[nd->held_head];
		pthread_mutex_unlock(&nd->held_lock);
		/*
		 * Offered without held_lock: receive() takes the device's lock,
		 * and a vCPU holding that lock appends here through netdev_send.
		 */
		if (!nd->rx.receive(nd->rx.opaque, f.data, f.len)) {
			nd->rx_blocked = true;
			break;
		}
		pthread_mutex_lock(&nd->held_lock);
		nd->held[nd->held_head].data = NULL;
		nd->held_head = (nd->held_head + 1) % NETDEV_HELD_MAX;
		nd->held_count--;
		pthread_mutex_unlock(&nd->held_lock);
		free(f.data);
		atomic_fetch_add(&nd->rx_delivered, 1);
		delivered++;
	}
	return delivered;
}

bool netdev_offer(struct netdev *nd, const void *frame, size_t len)
{
	if (!nd->rx_blocked && !netdev_held_count(nd)) {
		if (nd->rx.receive(nd->rx.opaque, frame, len)) {
			atomic_fetch_add(&nd->rx_delivered, 1);
			return true;
		}
		nd->rx_blocked = true;
	}
	held_push(nd, frame, len);
	return false;
}

int netdev_poll_add(struct netdev *nd, int fd, short events)
{
	if (nd->npfd == nd->pfd_cap) {
		unsigned cap = nd->pfd_cap ? nd->pfd_cap * 2 : 16;
		struct pollfd *p = realloc(nd->pfd, cap * sizeof(*p));

		if (!p)
			return -1;
		nd->pfd = p;
		nd->pfd_cap = cap;
	}
	nd->pfd[nd->npfd].fd = fd;
	nd->pfd[nd->npfd].events = events;
	nd->pfd[nd->npfd].revents = 0;
	return (int)nd->npfd++;
}

short netdev_poll_revents(const struct netdev *nd, int idx)
{
	if (idx < 0 || (unsigned)idx >= nd->npfd)
		return 0;
	return nd->pfd[idx].revents;
}

static void drain_wakeups(struct netdev *nd)
{
	uint64_t count;

	/* Clear the flag first: a wake after this point writes the eventfd again. */
	atomic_store(&nd->wake_pending, false);
	while (read(nd->wake_fd, &count, sizeof(count)) == (ssize_t)sizeof(count)) {
	}
}

static void *netdev_thread(void *arg)
{
	struct netdev *nd = arg;

	for (;;) {
		int timeout = -1, r;
		bool want_input;

		drain_wakeups(nd);
		if (atomic_load(&nd->stop_requested))
			break;
		netdev_deliver_held(nd);
		/* Read the source only when the device can take what it yields. */
		want_input = !nd->rx_blocked && !netdev_held_count(nd);

		nd->npfd = 0;
		netdev_poll_add(nd, nd->wake_fd, POLLIN);
		nd->ops->poll_fill(nd, want_input, &timeout);
		r = poll(nd->pfd, nd->npfd, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		nd->ops->poll_dispatch(nd, r < 0);
	}
	return NULL;
}

int netdev_start(struct netdev *nd)
{
	int r;

	if (nd->running)
		return 0;
	atomic_store(&nd->stop_requested, false);
	/* Held frames may wait from before: look at the queue at once. */
	atomic_store(&nd->rx_kick, true);
	r = pthread_create(&nd->thread, NULL, netdev_thread, nd);
	if (r)
		return -r;
	nd->running = true;
	return 0;
}

void netdev_stop(struct netdev *nd)
{
	if (!nd || !nd->running)
		return;
	atomic_store(&nd->stop_requested, true);
	netdev_wake(nd);
	pthread_join(nd->thread, NULL);
	nd->running = false;
}

void netdev_close(struct netdev *nd)
{
	unsigned i;

	if (!nd)
		return;
	netdev_stop(nd);
	if (nd->ops->close)
		nd->ops->close(nd);
	for (i = 0; i < nd->held_count; i++)
		free(nd->held[(nd->held_head + i) % NETDEV_HELD_MAX].data);
	pthread_mutex_destroy(&nd->held_lock);
	close(nd->wake_fd);
	free(nd->pfd);
	free(nd);
}

void netdev_send(struct netdev *nd, const struct iovec *iov, unsigned n)
{
	if (nd)
		nd->ops->send(nd, iov, n);
}

unsigned netdev_mtu(const struct netdev *nd)
{
	return nd->mtu ? nd->mtu : NET_ETH_MTU;
}
