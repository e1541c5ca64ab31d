/* User networking through libslirp: DHCP, DNS and NAT for the guest at 10.0.2.15, and forwards from host ports into it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slirp/libslirp.h>

#include "backend/errmsg.h"
#include "backend/net_priv.h"

/*
 * libslirp is not thread-safe, and it keeps process-wide state (its notion
 * of the current time is a global), so one lock serializes every call into
 * it for all instances: the backend thread's poll loop and the vCPU threads
 * that send frames.
 */
static pthread_mutex_t slirp_lock = PTHREAD_MUTEX_INITIALIZER;

/* 10.0.2.0/24: the addresses QEMU's user networking has always used, and guests' docs assume. */
#define SLIRP_NET     0x0a000200u
#define SLIRP_MASK    0xffffff00u
#define SLIRP_HOST    0x0a000202u
#define SLIRP_DNS     0x0a000203u
#define SLIRP_DHCP    0x0a00020fu

/* The shortest Ethernet frame (without FCS); shorter guest frames are zero-padded up to it. */
#define ETH_MIN_FRAME 60

/* Timers slirp asks for (IPv6 router advertisements): armed ones are checked each loop. */
struct slirp_timer {
	struct slirp_timer *next;
	SlirpTimerCb cb;		/* timer_new() style, or NULL for timer_new_opaque() */
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;		/* -1 when not armed */
};

struct net_slirp {
	Slirp *slirp;
	struct netdev *nd;
	struct slirp_timer *timers;	/* slirp_lock */
	bool want_input;		/* this loop reads slirp's sockets (thread only) */
	uint8_t tx[NET_MAX_FRAME];	/* a guest frame gathered for slirp_input (slirp_lock) */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* slirp callbacks: all run with slirp_lock held, on whichever thread called into slirp. */

/*
 * A frame for the guest. This runs inside slirp_input() on a vCPU thread
 * that holds the device's lock, or inside the poll loop with slirp_lock
 * held: calling the device from here could deadlock either way, so the
 * frame is only queued and the backend thread delivers it.
 */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *ns = opaque;

	netdev_queue(ns->nd, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	/* Malformed guest packets are slirp's to drop; a backend has nowhere to print. */
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return now_ns();
}

static struct slirp_timer *timer_add(struct net_slirp *ns)
{
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->expire_ms = -1;
	t->next = ns->timers;
	ns->timers = t;
	return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_timer *t = timer_add(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct slirp_timer *t = timer_add(opaque);

	if (t) {
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *ns = opaque;
	struct slirp_timer **p;

	for (p = &ns->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct net_slirp *ns = opaque;
	struct slirp_timer *t = timer;

	if (!t)
		return;
	t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
	/* The thread may be asleep with a longer timeout. */
	netdev_wake(ns->nd);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	/* The poll set is rebuilt from slirp_pollfds_fill() every loop. */
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
	struct net_slirp *ns = opaque;

	netdev_wake(ns->nd);
}

static const SlirpCb slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* Fire the armed timers that are due (slirp_lock held); a callback may free or re-arm any timer. */
static void run_timers(struct net_slirp *ns)
{
	int64_t now = now_ns() / 1000000;
	unsigned fired = 0;
	struct slirp_timer *t;

restart:
	for (t = ns->timers; t && fired < 64; t = t->next) {
		if (t->expire_ms < 0 || t->expire_ms > now)
			continue;
		t->expire_ms = -1;
		fired++;
		if (t->cb)
			t->cb(t->cb_opaque);
		else
			slirp_handle_timer(ns->slirp, t->id, t->cb_opaque);
		goto restart;
	}
}

/* Milliseconds until the next armed timer, or -1 (slirp_lock held). */
static int next_timer_ms(const struct net_slirp *ns)
{
	int64_t now = now_ns() / 1000000, best = -1;
	const struct slirp_timer *t;

	for (t = ns->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		if (best < 0 || t->expire_ms < best)
			best = t->expire_ms;
	}
	if (best < 0)
		return -1;
	if (best <= now)
		return 0;
	return best - now > 60000 ? 60000 : (int)(best - now);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *ns = opaque;
	short ev = 0;

	/* With the device full, leave host sockets unread: their data waits in the kernel, not in our queue. */
	if (!ns->want_input)
		events &= ~(SLIRP_POLL_IN | SLIRP_POLL_PRI);
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	/* POLLERR and POLLHUP are always reported; nothing asked for means not polled at all. */
	if (!ev)
		return -1;
	return netdev_poll_add(ns->nd, fd, ev);
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *ns = opaque;
	short r = netdev_poll_revents(ns->nd, idx);
	int ev = 0;

	/* POLLNVAL (a socket slirp_input closed since the fill) reports nothing. */
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void slirp_poll_fill(struct netdev *nd, bool want_input, int *timeout_ms)
{
	struct net_slirp *ns = nd->priv;
	uint32_t t = UINT32_MAX;	/* slirp lowers it to 1 s at most, less for its TCP timers */
	int tt;

	ns->want_input = want_input;
	pthread_mutex_lock(&slirp_lock);
	slirp_pollfds_fill(ns->slirp, &t, add_poll, ns);
	tt = next_timer_ms(ns);
	pthread_mutex_unlock(&slirp_lock);
	if (t > 1000)
		t = 1000;
	if (tt < 0 || (uint32_t)tt > t)
		tt = (int)t;
	if (*timeout_ms < 0 || tt < *timeout_ms)
		*timeout_ms = tt;
}

static void slirp_poll_dispatch(struct netdev *nd, bool poll_failed)
{
	struct net_slirp *ns = nd->priv;

	pthread_mutex_lock(&slirp_lock);
	slirp_pollfds_poll(ns->slirp, poll_failed, get_revents, ns);
	run_timers(ns);
	pthread_mutex_unlock(&slirp_lock);
}

static void slirp_send(struct netdev *nd, const struct iovec *iov, unsigned n)
{
	struct net_slirp *ns = nd->priv;
	size_t len = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > NET_MAX_FRAME - len)
			return;		/* larger than any frame: dropped, as on a wire */
		len += iov[i].iov_len;
	}
	pthread_mutex_lock(&slirp_lock);
	/*
	 * Always through our own buffer: slirp reads a full ARP header
	 * without checking the frame's length, so a short frame must not
	 * end at the edge of the caller's memory.
	 */
	for (i = 0, len = 0; i < n; i++) {
		memcpy(ns->tx + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (len < ETH_MIN_FRAME)
		memset(ns->tx + len, 0, ETH_MIN_FRAME - len);
	slirp_input(ns->slirp, ns->tx, (int)len);
	pthread_mutex_unlock(&slirp_lock);
	/* slirp_input may have opened a socket (a new connection) the poll set must now include. */
	netdev_wake(nd);
}

static void slirp_close(struct netdev *nd)
{
	struct net_slirp *ns = nd->priv;
	struct slirp_timer *t, *next;

	if (!ns)
		return;
	pthread_mutex_lock(&slirp_lock);
	if (ns->slirp)
		slirp_cleanup(ns->slirp);
	pthread_mutex_unlock(&slirp_lock);
	for (t = ns->timers; t; t = next) {
		next = t->next;
		free(t);
	}
	free(ns);
	nd->priv = NULL;
}

static const struct netdev_ops slirp_ops = {
	.name = "user",
	.poll_fill = slirp_poll_fill,
	.poll_dispatch = slirp_poll_dispatch,
	.send = slirp_send,
	.close = slirp_close,
};

static struct in_addr in4(uint32_t host_order)
{
	struct in_addr a = { .s_addr = htonl(host_order) };

	return a;
}

int net_slirp_open(struct netdev **ndp, const struct net_config *cfg, bool restricted,
		   const struct netdev_rx *rx, char *err, size_t errlen)
{
	SlirpConfig sc;
	struct net_slirp *ns;
	struct netdev *nd;
	unsigned i;
	int r;

	*ndp = NULL;
	if (cfg->nr_hostfwd > NET_MAX_HOSTFWD)
		return backend_error(err, errlen, -EINVAL, "too many host forwards (at most %d)", NET_MAX_HOSTFWD);
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return backend_error(err, errlen, -ENOMEM, "user network: out of memory");
	r = netdev_create(&nd, &slirp_ops, ns, rx, err, errlen);
	if (r < 0) {
		free(ns);
		return r;
	}
	ns->nd = nd;

	memset(&sc, 0, sizeof(sc));
	/* Version 4 has every field set here; a newer header only adds fields. */
	sc.version = SLIRP_CONFIG_VERSION_MAX < 4 ? SLIRP_CONFIG_VERSION_MAX : 4;
	sc.restricted = restricted;
	sc.in_enabled = true;
	sc.vnetwork = in4(SLIRP_NET);
	sc.vnetmask = in4(SLIRP_MASK);
	sc.vhost = in4(SLIRP_HOST);
	sc.in6_enabled = false;
	sc.vdhcp_start = in4(SLIRP_DHCP);
	sc.vnameserver = in4(SLIRP_DNS);
	sc.disable_host_loopback = false;	/* 10.0.2.2 reaches the host's 127.0.0.1 */
	sc.enable_emu = false;
	sc.if_mtu = NET_USER_MTU;
	sc.if_mru = NET_USER_MTU;
	nd->mtu = NET_USER_MTU;

	pthread_mutex_lock(&slirp_lock);
	ns->slirp = slirp_new(&sc, &slirp_callbacks, ns);
	if (!ns->slirp) {
		pthread_mutex_unlock(&slirp_lock);
		netdev_close(nd);
		return backend_error(err, errlen, -ENOMEM, "user network: libslirp refused its configuration");
	}
	for (i = 0; i < cfg->nr_hostfwd; i++) {
		const struct net_hostfwd *f = &cfg->hostfwd[i];
		char host[INET_ADDRSTRLEN];
		struct in_addr h = in4(f->host_addr);

		errno = 0;
		if (slirp_add_hostfwd(ns->slirp, f->udp, h, f->host_port, in4(f->guest_addr),
				      f->guest_port) < 0) {
			int e = errno ? errno : EADDRINUSE;

			pthread_mutex_unlock(&slirp_lock);
			inet_ntop(AF_INET, &h, host, sizeof(host));
			netdev_close(nd);
			return backend_error(err, errlen, -e, "cannot forward %s %s:%u: %s", f->udp ? "udp" : "tcp",
				       host, f->host_port, strerror(e));
		}
	}
	pthread_mutex_unlock(&slirp_lock);
	*ndp = nd;
	return 0;
}
