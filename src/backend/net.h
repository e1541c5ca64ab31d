/* Host network backends for a guest NIC: user networking through libslirp, or a host tap device. */
#ifndef RV_BACKEND_NET_H
#define RV_BACKEND_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define NET_MAX_HOSTFWD 16
#define NET_MAX_FRAME   65536		/* largest Ethernet frame either way */
#define NET_ETH_MTU     1500		/* a tap: the host interface's usual MTU */
/*
 * The user network's link MTU. The guest's frames never reach a wire as
 * such (libslirp terminates TCP and UDP on the host), so the link can
 * carry 64 KiB packets: a TCP stream then costs the guest a few dozen
 * packets per MiB instead of ~700, which is what limits a soft CPU.
 * 65520 is libslirp's IF_MTU_MAX and what passt/pasta use for the same
 * reason.
 */
#define NET_USER_MTU    65520

struct net_hostfwd {
	bool udp;
	uint32_t host_addr;		/* IPv4, host byte order; 127.0.0.1 by default */
	uint16_t host_port;
	uint32_t guest_addr;		/* 0: the guest's DHCP address (10.0.2.15) */
	uint16_t guest_port;
};

enum net_kind { NET_USER, NET_TAP };

struct net_config {
	enum net_kind kind;
	char ifname[16];		/* tap: the host interface (IFNAMSIZ) */
	unsigned nr_hostfwd;		/* user: forwards from the host into the guest */
	struct net_hostfwd hostfwd[NET_MAX_HOSTFWD];
	uint8_t mac[6];			/* the guest NIC's address */
};

/*
 * A backend instance. The guest side is a callback: `receive` offers one
 * frame to the device, which returns false when it has no buffer for it
 * now; the backend then holds the frame (and stops reading its source)
 * until the device calls netdev_rx_ready(). `receive` is only ever called
 * from the backend's own thread, never from inside netdev_send(), so a
 * device may hold its lock while sending.
 */
struct netdev;

struct netdev_rx {
	bool (*receive)(void *opaque, const void *frame, size_t len);
	void *opaque;
};

/*
 * Open the backend the config names: libslirp with DHCP (guest
 * 10.0.2.15, gateway and host 10.0.2.2, DNS 10.0.2.3) and the host
 * forwards bound now (a port in use is an error), or the tap device
 * (IFF_TAP | IFF_NO_PI). Returns 0, or -errno with one line in err.
 */
int netdev_open(struct netdev **nd, const struct net_config *cfg, const struct netdev_rx *rx,
		char *err, size_t errlen);
/* Start / stop the backend's thread (poll loop); stop joins it. Start again after a stop is allowed. */
int netdev_start(struct netdev *nd);
void netdev_stop(struct netdev *nd);
void netdev_close(struct netdev *nd);

/* The link MTU the guest should use (NET_USER_MTU or NET_ETH_MTU). */
unsigned netdev_mtu(const struct netdev *nd);

/* Send one frame from the guest (any thread); a frame the host side cannot take is dropped, as on a wire. */
void netdev_send(struct netdev *nd, const struct iovec *iov, unsigned n);
/* The device has new receive buffers: deliver held frames (wakes the backend thread). */
void netdev_rx_ready(struct netdev *nd);

#endif
