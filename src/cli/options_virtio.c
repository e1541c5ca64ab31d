/* The values of --disk and --net (QEMU-style key=value lists, MAC addresses, host forwards), and checks across them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "cli/options.h"

/*
 * The next item of a comma-separated list, NUL-terminated in place, with
 * ",," turned into one literal comma (QEMU's escaping). *cursor moves past
 * the item's comma, and becomes NULL after the last item.
 */
static char *next_item(char **cursor)
{
	char *start = *cursor, *r = start, *w = start;

	for (;;) {
		if (*r == ',' && r[1] == ',') {
			*w++ = ',';
			r += 2;
		} else if (*r == ',') {
			*w = '\0';
			*cursor = r + 1;
			return start;
		} else if (*r == '\0') {
			*w = '\0';
			*cursor = NULL;
			return start;
		} else {
			*w++ = *r++;
		}
	}
}

/* Split "key=value" at its first '='; -1 when there is none. */
static int split_key(char *item, char **value)
{
	char *eq = strchr(item, '=');

	if (!eq)
		return -1;
	*eq = '\0';
	*value = eq + 1;
	return 0;
}

/* An item of a key=value list that is not one: a stray comma, a known key without value, or an unknown word. */
static void bad_item(const char *opt, const char *item, const char *const *keys,
		     char *err, size_t errlen)
{
	if (!item[0]) {
		snprintf(err, errlen, "%s: empty item (a stray comma?)", opt);
		return;
	}
	for (; *keys; keys++) {
		if (!strcmp(item, *keys)) {
			snprintf(err, errlen, "%s: key '%s' needs a value (%s=...)", opt, item, item);
			return;
		}
	}
	snprintf(err, errlen, "%s: unknown key '%s'", opt, item);
}

static int parse_on_off(const char *text, bool *value)
{
	if (!strcmp(text, "on"))
		*value = true;
	else if (!strcmp(text, "off"))
		*value = false;
	else
		return -1;
	return 0;
}

static int check_disk_serial(const char *serial, char *err, size_t errlen)
{
	size_t len = strlen(serial);

	if (!len) {
		snprintf(err, errlen, "--disk: serial is empty");
		return -1;
	}
	if (len > RUN_DISK_SERIAL_MAX) {
		snprintf(err, errlen, "--disk: serial '%s' is longer than %d bytes", serial,
			 RUN_DISK_SERIAL_MAX);
		return -1;
	}
	for (const char *c = serial; *c; c++) {
		/* The guest shows it in /sys/block/vdX/serial: printable ASCII only. */
		if (*c < 0x20 || *c > 0x7e) {
			snprintf(err, errlen,
				 "--disk: serial has byte 0x%02x, not printable ASCII",
				 (unsigned char)*c);
			return -1;
		}
	}
	return 0;
}

int options_parse_disk(char *text, struct machine_disk *disk, char *err, size_t errlen)
{
	static const char *const keys[] = { "path", "readonly", "serial", "format", NULL };
	bool has_readonly = false, has_format = false;
	char *cursor = text;

	memset(disk, 0, sizeof(*disk));
	/* No '=' anywhere: a bare path, taken as it is (commas and all). */
	if (!strchr(text, '=')) {
		if (!text[0]) {
			snprintf(err, errlen, "--disk: empty path");
			return -1;
		}
		disk->path = text;
		return 0;
	}
	while (cursor) {
		char *item = next_item(&cursor), *value;

		if (split_key(item, &value)) {
			bad_item("--disk", item, keys, err, errlen);
			return -1;
		}
		if (!strcmp(item, "path")) {
			if (disk->path) {
				snprintf(err, errlen, "--disk: 'path' given twice");
				return -1;
			}
			if (!value[0]) {
				snprintf(err, errlen, "--disk: empty path");
				return -1;
			}
			disk->path = value;
		} else if (!strcmp(item, "readonly")) {
			if (has_readonly) {
				snprintf(err, errlen, "--disk: 'readonly' given twice");
				return -1;
			}
			if (parse_on_off(value, &disk->readonly)) {
				snprintf(err, errlen, "--disk: readonly '%s': give on or off", value);
				return -1;
			}
			has_readonly = true;
		} else if (!strcmp(item, "serial")) {
			if (disk->serial) {
				snprintf(err, errlen, "--disk: 'serial' given twice");
				return -1;
			}
			if (check_disk_serial(value, err, errlen))
				return -1;
			disk->serial = value;
		} else if (!strcmp(item, "format")) {
			if (has_format) {
				snprintf(err, errlen, "--disk: 'format' given twice");
				return -1;
			}
			/* Named by the user, never guessed from the image: see enum disk_format. */
			if (!strcmp(value, "raw")) {
				disk->format = DISK_FORMAT_RAW;
			} else if (!strcmp(value, "qcow2")) {
				disk->format = DISK_FORMAT_QCOW2;
			} else {
				snprintf(err, errlen, "--disk: format '%s': give raw or qcow2", value);
				return -1;
			}
			has_format = true;
		} else {
			snprintf(err, errlen, "--disk: unknown key '%s'", item);
			return -1;
		}
	}
	if (!disk->path) {
		snprintf(err, errlen, "--disk: no path=FILE given");
		return -1;
	}
	return 0;
}

int options_parse_mac(const char *text, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";
	char sep = 0;

	for (unsigned i = 0; i < 6; i++) {
		const char *hi, *lo;

		if (!text[0] || !text[1])
			return -1;
		hi = strchr(hex, text[0] | 0x20);	/* | 0x20: lower case, digits unchanged */
		lo = strchr(hex, text[1] | 0x20);
		if (!hi || !lo)
			return -1;
		mac[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
		text += 2;
		if (i == 5)
			break;
		/* One separator, ':' or '-', the same all along. */
		if (*text != ':' && *text != '-')
			return -1;
		if (sep && *text != sep)
			return -1;
		sep = *text++;
	}
	return *text ? -1 : 0;
}

/* Copy text up to sep into buf (NUL-terminated) and move past sep; -1 without sep or if too long. */
static int take_field(const char **text, char sep, char *buf, size_t size)
{
	const char *end = strchr(*text, sep);
	size_t len;

	if (!end)
		return -1;
	len = (size_t)(end - *text);
	if (len >= size)
		return -1;
	memcpy(buf, *text, len);
	buf[len] = '\0';
	*text = end + 1;
	return 0;
}

/* A TCP/UDP port: decimal digits only, 1 to 65535. */
static int parse_port(const char *text, uint16_t *port)
{
	unsigned long v = 0;

	if (!text[0] || strlen(text) > 5)
		return -1;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An IPv4 address in dotted-quad form, or the default when empty; host byte order. */
static int parse_ipv4(const char *text, uint32_t dflt, uint32_t *addr)
{
	struct in_addr in;

	if (!text[0]) {
		*addr = dflt;
		return 0;
	}
	if (inet_pton(AF_INET, text, &in) != 1)
		return -1;
	*addr = ntohl(in.s_addr);
	return 0;
}

#define NET_USER_PREFIX 0x0a000200u	/* 10.0.2.0/24: libslirp's default network */

int options_parse_hostfwd(const char *text, struct net_hostfwd *fwd, char *err, size_t errlen)
{
	char proto[16], host[64], hport[16], guest[64], gport[16];
	const char *p = text;

	memset(fwd, 0, sizeof(*fwd));
	if (take_field(&p, ':', proto, sizeof(proto)) || take_field(&p, ':', host, sizeof(host)) ||
	    take_field(&p, '-', hport, sizeof(hport)) || take_field(&p, ':', guest, sizeof(guest)) ||
	    strlen(p) >= sizeof(gport)) {
		snprintf(err, errlen,
			 "--net: hostfwd '%s': not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
			 text);
		return -1;
	}
	strcpy(gport, p);
	/* An empty protocol is TCP, as in QEMU. */
	if (!strcmp(proto, "udp"))
		fwd->udp = true;
	else if (proto[0] && strcmp(proto, "tcp")) {
		snprintf(err, errlen, "--net: hostfwd '%s': protocol '%s' is not tcp or udp",
			 text, proto);
		return -1;
	}
	if (parse_ipv4(host, 0x7f000001u, &fwd->host_addr)) {
		snprintf(err, errlen, "--net: hostfwd '%s': host address '%s' is not an IPv4 address",
			 text, host);
		return -1;
	}
	if (parse_ipv4(guest, 0, &fwd->guest_addr)) {
		snprintf(err, errlen, "--net: hostfwd '%s': guest address '%s' is not an IPv4 address",
			 text, guest);
		return -1;
	}
	/* The guest lives on the user network; an address elsewhere could never be reached. */
	if (fwd->guest_addr && (fwd->guest_addr & 0xffffff00u) != NET_USER_PREFIX) {
		snprintf(err, errlen, "--net: hostfwd '%s': guest address '%s' is not in 10.0.2.0/24",
			 text, guest);
		return -1;
	}
	if (parse_port(hport, &fwd->host_port)) {
		snprintf(err, errlen, "--net: hostfwd '%s': host port '%s' is not from 1 to 65535",
			 text, hport);
		return -1;
	}
	if (parse_port(gport, &fwd->guest_port)) {
		snprintf(err, errlen, "--net: hostfwd '%s': guest port '%s' is not from 1 to 65535",
			 text, gport);
		return -1;
	}
	return 0;
}

/* As the kernel's dev_valid_name(): 1 to size - 1 bytes (IFNAMSIZ), not "." or "..", no '/', ':' or white space. */
static int check_ifname(const char *name, size_t size, char *err, size_t errlen)
{
	size_t len = strlen(name);

	if (!len) {
		snprintf(err, errlen, "--net: empty ifname");
		return -1;
	}
	if (len >= size) {
		snprintf(err, errlen, "--net: ifname '%s' is longer than %zu bytes", name, size - 1);
		return -1;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/: \t\n\v\f\r")) {
		snprintf(err, errlen, "--net: ifname '%s' is not a valid interface name", name);
		return -1;
	}
	return 0;
}

int options_parse_net(char *text, unsigned index, struct net_config *nic, char *err, size_t errlen)
{
	static const char *const user_keys[] = { "hostfwd", "mac", NULL };
	static const char *const tap_keys[] = { "ifname", "mac", NULL };
	const char *const *keys;
	char *cursor = text, *kind;
	bool has_mac = false;

	memset(nic, 0, sizeof(*nic));
	kind = next_item(&cursor);
	if (!strcmp(kind, "user")) {
		nic->kind = NET_USER;
		keys = user_keys;
	} else if (!strcmp(kind, "tap")) {
		nic->kind = NET_TAP;
		keys = tap_keys;
	} else {
		snprintf(err, errlen, "--net: unknown backend '%s' (give user or tap)", kind);
		return -1;
	}
	while (cursor) {
		char *item = next_item(&cursor), *value;

		if (split_key(item, &value)) {
			bad_item("--net", item, keys, err, errlen);
			return -1;
		}
		if (!strcmp(item, "mac")) {
			if (has_mac) {
				snprintf(err, errlen, "--net: 'mac' given twice");
				return -1;
			}
			if (options_parse_mac(value, nic->mac)) {
				snprintf(err, errlen,
					 "--net: mac '%s' is not six hex bytes like 52:54:00:12:34:56",
					 value);
				return -1;
			}
			/* Bit 0 of the first byte: a group address, which no NIC may have as its own. */
			if (nic->mac[0] & 1) {
				snprintf(err, errlen, "--net: mac '%s' is a multicast address", value);
				return -1;
			}
			if (!(nic->mac[0] | nic->mac[1] | nic->mac[2] | nic->mac[3] | nic->mac[4] |
			      nic->mac[5])) {
				snprintf(err, errlen, "--net: mac '%s' is the null address", value);
				return -1;
			}
			has_mac = true;
		} else if (nic->kind == NET_USER && !strcmp(item, "hostfwd")) {
			if (nic->nr_hostfwd == NET_MAX_HOSTFWD) {
				snprintf(err, errlen, "--net: more than %d hostfwd on one NIC",
					 NET_MAX_HOSTFWD);
				return -1;
			}
			if (options_parse_hostfwd(value, &nic->hostfwd[nic->nr_hostfwd], err, errlen))
				return -1;
			nic->nr_hostfwd++;
		} else if (nic->kind == NET_TAP && !strcmp(item, "ifname")) {
			if (nic->ifname[0]) {
				snprintf(err, errlen, "--net: 'ifname' given twice");
				return -1;
			}
			if (check_ifname(value, sizeof(nic->ifname), err, errlen))
				return -1;
			strcpy(nic->ifname, value);
		} else {
			snprintf(err, errlen, "--net: unknown key '%s' for %s", item, kind);
			return -1;
		}
	}
	if (nic->kind == NET_TAP && !nic->ifname[0]) {
		snprintf(err, errlen, "--net: tap needs ifname=NAME");
		return -1;
	}
	if (!has_mac) {
		static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

		memcpy(nic->mac, base, sizeof(base));
		nic->mac[5] = (uint8_t)(base[5] + index);
	}
	return 0;
}

int options_check_devices(const struct run_options *opts, char *err, size_t errlen)
{
	for (unsigned i = 0; i < opts->nr_disks; i++) {
		for (unsigned j = 0; j < i; j++) {
			const struct machine_disk *a = &opts->disk[j], *b = &opts->disk[i];

			if (strcmp(a->path, b->path) || (a->readonly && b->readonly))
				continue;
			snprintf(err, errlen,
				 "--disk: '%s' given twice (an image can be attached twice only read-only)",
				 b->path);
			return -1;
		}
	}
	for (unsigned i = 0; i < opts->nr_nics; i++) {
		for (unsigned j = 0; j < i; j++) {
			const struct net_config *a = &opts->nic[j], *b = &opts->nic[i];

			if (!memcmp(a->mac, b->mac, sizeof(a->mac))) {
				snprintf(err, errlen,
					 "--net: NICs %u and %u have the same mac %02x:%02x:%02x:%02x:%02x:%02x",
					 j, i, b->mac[0], b->mac[1], b->mac[2], b->mac[3], b->mac[4],
					 b->mac[5]);
				return -1;
			}
			if (a->kind == NET_TAP && b->kind == NET_TAP && !strcmp(a->ifname, b->ifname)) {
				snprintf(err, errlen, "--net: tap '%s' given twice", b->ifname);
				return -1;
			}
		}
	}
	return 0;
}
