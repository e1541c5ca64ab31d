/* Inside the network backends: the common netdev (thread, wakeups, held frames) and the per-backend vtable. */
#ifndef RV_BACKEND_NET_PRIV_H
#define RV_BACKEND_NET_PRIV_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backend/net.h"

/*
 * Frames waiting for the guest. A guest that posts receive buffers slowly
 * (the soft CPU) meets bursts far larger than its ring: a TCP window's
 * worth of segments from slirp. Every frame dropped here costs the guest a
 * retransmission, so the bound is generous; frames are stored at their own
 * size, so 1024 ordinary frames are about 1.5 MiB.
 */
#define NETDEV_HELD_MAX 1024

struct netdev;

/* What a backend does; every callback but send runs on the backend's thread. */
struct netdev_ops {
	const char *name;
	/*
	 * Before poll(): add the backend's descriptors with netdev_poll_add()
	 * and lower *timeout_ms (-1: no limit) for its timers. `want_input`
	 * false means the device has no room: read nothing from the source.
	 */
	void (*poll_fill)(struct netdev *nd, bool want_input, int *timeout_ms);
	/* After poll(): handle what is ready (netdev_poll_revents); poll_failed when poll() itself failed. */
	void (*poll_dispatch)(struct netdev *nd, bool poll_failed);
	/* A frame from the guest, any thread; never calls rx->receive. */
	void (*send)(struct netdev *nd, const struct iovec *iov, unsigned n);
	/* Free the backend's state (the thread is stopped). */
	void (*close)(struct netdev *nd);
};

struct netdev_frame {
	uint8_t *data;
	size_t len;
};

struct netdev {
	const struct netdev_ops *ops;
	void *priv;				/* the backend's state */
	struct netdev_rx rx;
	unsigned mtu;				/* the link MTU; the backend sets it at open */

	/* the thread and how it is woken */
	int wake_fd;				/* eventfd */
	atomic_bool wake_pending;		/* an eventfd write is outstanding: coalesce */
	atomic_bool rx_kick;			/* netdev_rx_ready() since the thread last looked */
	atomic_bool stop_requested;
	pthread_t thread;
	bool running;

	/*
	 * Frames for the guest that wait for buffers, oldest first. Any
	 * thread appends (slirp's output runs on the vCPU thread inside
	 * netdev_send); only the backend thread (or, with no thread, the
	 * owner) removes, so the head stays put while it is being offered
	 * without the lock held.
	 */
	pthread_mutex_t held_lock;
	struct netdev_frame held[NETDEV_HELD_MAX];
	unsigned held_head, held_count;
	bool rx_blocked;			/* receive() said no: wait for rx_ready (thread only) */
	atomic_uint_fast64_t rx_dropped;	/* frames for the guest lost to a full queue */
	atomic_uint_fast64_t rx_delivered;	/* frames the device took */

	/* the poll set, rebuilt each loop: [0] is wake_fd (thread only) */
	struct pollfd *pfd;
	unsigned npfd, pfd_cap;
};

/*
 * Make a netdev around a backend (its ops and state); the backends' open
 * functions use it, and tests use it to plug in a fake backend. On failure
 * nothing is kept (priv is the caller's to free). Returns 0 or -errno.
 */
int netdev_create(struct netdev **nd, const struct netdev_ops *ops, void *priv,
		  const struct netdev_rx *rx, char *err, size_t errlen);

/* The backends. restricted (slirp): the guest reaches only slirp's own services and the forwards. */
int net_slirp_open(struct netdev **nd, const struct net_config *cfg, bool restricted,
		   const struct netdev_rx *rx, char *err, size_t errlen);
int net_tap_open(struct netdev **nd, const struct net_config *cfg, const struct netdev_rx *rx,
		 char *err, size_t errlen);

/* For backends. */
/* Wake the thread (any thread, any lock held): it re-reads the wakeup flags and rebuilds its poll set. */
void netdev_wake(struct netdev *nd);
/* Copy a frame for the guest into the held queue and wake the thread (any thread). False: queue full, dropped. */
bool netdev_queue(struct netdev *nd, const void *frame, size_t len);
/*
 * Offer a frame the thread has just read (backend thread only): straight
 * to the device when nothing waits before it, else queued. Returns whether
 * the source may be read further (false once the device has no room).
 */
bool netdev_offer(struct netdev *nd, const void *frame, size_t len);
/*
 * Give held frames to the device until it has no room or none is left.
 * The backend thread does this each loop; with no thread running
 * (fuzzing) the owner may call it. Returns the number delivered.
 */
unsigned netdev_deliver_held(struct netdev *nd);
/* Frames in the held queue now. */
unsigned netdev_held_count(struct netdev *nd);
/* Poll-set helpers for poll_fill / poll_dispatch: index of the added fd (or -1), and its revents. */
int netdev_poll_add(struct netdev *nd, int fd, short events);
short netdev_poll_revents(const struct netdev *nd, int idx);

#endif
