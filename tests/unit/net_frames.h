/*
 * Ethernet frames a guest sends that slirp answers by itself (an ARP
 * request, a DHCP DISCOVER), for the network unit tests and the virtio-net
 * fuzz target; header-only and free of cmocka, so both can include it.
 */
#ifndef RV_TESTS_UNIT_NET_FRAMES_H
#define RV_TESTS_UNIT_NET_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The guest's address on slirp's network, 10.0.2.15, and the gateway, 10.0.2.2 (host order). */
#define FRAME_GUEST_IP   0x0a00020fu
#define FRAME_GATEWAY_IP 0x0a000202u

/* Length of frame_dhcp_discover(): Ethernet, IPv4, UDP, BOOTP with the full 312-byte options field. */
#define FRAME_DHCP_DISCOVER_LEN (14 + 20 + 8 + 236 + 312)
#define FRAME_ARP_LEN 42

static inline void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t get16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

/* The Internet checksum (RFC 1071) of an even number of bytes. */
static inline uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16be(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Broadcast ARP request from FRAME_GUEST_IP at mac for target_ip (host order); FRAME_ARP_LEN bytes. */
static inline size_t frame_arp_request(uint8_t *f, const uint8_t mac[6], uint32_t target_ip)
{
	uint8_t *a = f + 14;

	memset(f, 0, FRAME_ARP_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	put16be(f + 12, 0x0806);
	put16be(a, 1);			/* Ethernet */
	put16be(a + 2, 0x0800);		/* IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16be(a + 6, 1);		/* request */
	memcpy(a + 8, mac, 6);
	put32be(a + 14, FRAME_GUEST_IP);
	put32be(a + 24, target_ip);
	return FRAME_ARP_LEN;
}

/*
 * DHCP DISCOVER (RFC 2131) from mac with transaction id xid: Ethernet
 * broadcast, IP 0.0.0.0 -> 255.255.255.255, UDP 68 -> 67, asking for a
 * broadcast reply; FRAME_DHCP_DISCOVER_LEN bytes.
 */
static inline size_t frame_dhcp_discover(uint8_t *f, const uint8_t mac[6], uint32_t xid)
{
	const size_t bootp_len = 236 + 312;	/* fixed part + the full options field */
	const size_t ip_len = 20 + 8 + bootp_len;
	uint8_t *ip = f + 14, *udp = ip + 20, *bp = udp + 8, *opt;

	memset(f, 0, 14 + ip_len);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	put16be(f + 12, 0x0800);
	ip[0] = 0x45;
	put16be(ip + 2, (uint16_t)ip_len);
	put16be(ip + 4, 1);
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16be(ip + 10, ip_checksum(ip, 20));
	put16be(udp, 68);
	put16be(udp + 2, 67);
	put16be(udp + 4, (uint16_t)(8 + bootp_len));	/* checksum 0: none */
	bp[0] = 1;		/* BOOTREQUEST */
	bp[1] = 1;		/* Ethernet */
	bp[2] = 6;
	put32be(bp + 4, xid);
	put16be(bp + 10, 0x8000);	/* broadcast reply */
	memcpy(bp + 28, mac, 6);
	opt = bp + 236;
	opt[0] = 99; opt[1] = 130; opt[2] = 83; opt[3] = 99;	/* magic cookie */
	opt[4] = 53; opt[5] = 1; opt[6] = 1;			/* DHCPDISCOVER */
	opt[7] = 255;
	return 14 + ip_len;
}

#endif
