/* Unit tests of src/cli/options.c and options_virtio.c: every form of --disk, --net, --console and --rng, and every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* The CLI is not in libringvm.a: build the parser into this test. */
#include "cli/options.c"
#include "cli/options_virtio.c"

#define MAX_ARGS 48

static struct run_options opts;
static char err[512];
static char *argv_copy[MAX_ARGS + 1];
static int argc_copy;

static void free_args(void)
{
	for (int i = 0; i < argc_copy; i++)
		free(argv_copy[i]);
	argc_copy = 0;
}

/* Parse "run --kernel k" followed by the given arguments (NULL-terminated), on writable copies as main() gets them. */
static int parse(const char *first, ...)
{
	va_list ap;
	const char *a;

	free_args();
	argv_copy[argc_copy++] = strdup("run");
	argv_copy[argc_copy++] = strdup("--kernel");
	argv_copy[argc_copy++] = strdup("k");
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc_copy < MAX_ARGS);
		argv_copy[argc_copy++] = strdup(a);
	}
	va_end(ap);
	argv_copy[argc_copy] = NULL;
	err[0] = '\0';
	return options_parse(argc_copy, argv_copy, &opts, err, sizeof(err));
}

/* The parse must fail with a message that contains `want`. */
#define assert_parse_error(want, ...) do {					\
	assert_int_equal(parse(__VA_ARGS__, NULL), -1);				\
	if (!strstr(err, (want)))						\
		fail_msg("error '%s' does not contain '%s'", err, (want));	\
	assert_null(strchr(err, '\n'));						\
} while (0)

static int teardown(void **state)
{
	free_args();
	return 0;
}

static void test_defaults(void **state)
{
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(opts.nr_disks, 0);
	assert_int_equal(opts.nr_nics, 0);
	assert_false(opts.virtio_console);
	assert_false(opts.rng);
	assert_false(opts.cpu_svm);	/* SVM is off until nested SVM is complete */
}

static void test_cpu_svm(void **state)
{
	assert_int_equal(parse("--cpu", "svm=on", NULL), 0);
	assert_true(opts.cpu_svm);
	assert_int_equal(parse("--cpu", "svm=off", NULL), 0);
	assert_false(opts.cpu_svm);
	assert_int_equal(parse("--cpu", "svm=on,svm=off", NULL), 0);
	assert_false(opts.cpu_svm);
	assert_int_equal(parse("--cpu=svm=on", NULL), 0);
	assert_true(opts.cpu_svm);
	assert_parse_error("--cpu 'svm=yes': give svm=on or svm=off", "--cpu", "svm=yes");
	assert_parse_error("--cpu 'vmx=on'", "--cpu", "svm=on,vmx=on");
	assert_parse_error("--cpu '': give svm=on", "--cpu", "");
	assert_parse_error("--cpu '': give svm=on", "--cpu", "svm=on,");
	assert_parse_error("needs a value", "--cpu");
}

static void test_disk_bare(void **state)
{
	assert_int_equal(parse("--disk", "a.img", NULL), 0);
	assert_int_equal(opts.nr_disks, 1);
	assert_string_equal(opts.disk[0].path, "a.img");
	assert_false(opts.disk[0].readonly);
	assert_null(opts.disk[0].serial);
}

static void test_disk_bare_with_commas(void **state)
{
	/* No '=': the whole value is the path, commas taken as they are (",," too). */
	assert_int_equal(parse("--disk", "a,b,,c.img", NULL), 0);
	assert_string_equal(opts.disk[0].path, "a,b,,c.img");
}

static void test_disk_keyed(void **state)
{
	assert_int_equal(parse("--disk", "path=x.img", "--disk", "path=y.img,readonly=on,serial=SER 01",
			       "--disk", "readonly=off,path=z.img", NULL), 0);
	assert_int_equal(opts.nr_disks, 3);
	assert_string_equal(opts.disk[0].path, "x.img");
	assert_false(opts.disk[0].readonly);
	assert_null(opts.disk[0].serial);
	assert_string_equal(opts.disk[1].path, "y.img");
	assert_true(opts.disk[1].readonly);
	assert_string_equal(opts.disk[1].serial, "SER 01");
	assert_string_equal(opts.disk[2].path, "z.img");
	assert_false(opts.disk[2].readonly);
}

static void test_disk_escaped_commas(void **state)
{
	assert_int_equal(parse("--disk", "path=a,,b.img,serial=x,,y", NULL), 0);
	assert_string_equal(opts.disk[0].path, "a,b.img");
	assert_string_equal(opts.disk[0].serial, "x,y");
	/* A trailing ",," is a comma at the end of the path. */
	assert_int_equal(parse("--disk", "path=a,,", NULL), 0);
	assert_string_equal(opts.disk[0].path, "a,");
	/* ",,," is a literal comma and then the separator. */
	assert_int_equal(parse("--disk", "path=a,,,readonly=on", NULL), 0);
	assert_string_equal(opts.disk[0].path, "a,");
	assert_true(opts.disk[0].readonly);
	/* The value runs to the next single comma; '=' inside it is plain text. */
	assert_int_equal(parse("--disk", "path=a=b", NULL), 0);
	assert_string_equal(opts.disk[0].path, "a=b");
}

static void test_disk_serial_limits(void **state)
{
	assert_int_equal(parse("--disk", "path=a,serial=12345678901234567890", NULL), 0);
	assert_string_equal(opts.disk[0].serial, "12345678901234567890");
	assert_int_equal(parse("--disk", "path=a,serial= !~", NULL), 0);
	assert_parse_error("longer than 20 bytes", "--disk", "path=a,serial=123456789012345678901");
	assert_parse_error("--disk: serial is empty", "--disk", "path=a,serial=");
	assert_parse_error("not printable ASCII", "--disk", "path=a,serial=a\tb");
	assert_parse_error("byte 0x7f", "--disk", "path=a,serial=a\x7f");
	assert_parse_error("byte 0xc3", "--disk", "path=a,serial=\xc3\xa9");
}

static void test_disk_errors(void **state)
{
	assert_parse_error("--disk: unknown key 'foo'", "--disk", "path=x,foo=1");
	assert_parse_error("--disk: unknown key 'foo'", "--disk", "foo=1,path=x");
	assert_parse_error("--disk: unknown key 'file'", "--disk", "file=x");
	assert_parse_error("--disk: empty path", "--disk", "");
	assert_parse_error("--disk: empty path", "--disk", "path=");
	assert_parse_error("--disk: empty path", "--disk", "path=,readonly=on");
	assert_parse_error("--disk: no path=FILE given", "--disk", "readonly=on");
	assert_parse_error("--disk: no path=FILE given", "--disk", "serial=abc");
	assert_parse_error("--disk: 'path' given twice", "--disk", "path=a,path=b");
	assert_parse_error("--disk: 'readonly' given twice", "--disk", "path=a,readonly=on,readonly=off");
	assert_parse_error("--disk: 'serial' given twice", "--disk", "path=a,serial=1,serial=2");
	assert_parse_error("--disk: readonly 'yes': give on or off", "--disk", "path=a,readonly=yes");
	assert_parse_error("--disk: readonly '': give on or off", "--disk", "path=a,readonly=");
	assert_parse_error("--disk: key 'readonly' needs a value", "--disk", "path=a,readonly");
	assert_parse_error("--disk: unknown key 'ro'", "--disk", "path=a,ro");
	assert_parse_error("--disk: empty item", "--disk", "path=a,");
	assert_parse_error("--disk: empty item", "--disk", ",path=a");
	assert_parse_error("--disk: empty item", "--disk", "path=a,,,,readonly=on,");
	assert_parse_error("'--disk' needs a value", "--disk");
}

static void test_disk_count(void **state)
{
	char *names[MACHINE_MAX_DISKS + 1];
	char **argv;
	int argc = 0;

	argv = calloc(3 + 2 * (MACHINE_MAX_DISKS + 1) + 1, sizeof(*argv));
	argv[argc++] = "run";
	argv[argc++] = "--kernel";
	argv[argc++] = "k";
	for (int i = 0; i < MACHINE_MAX_DISKS; i++) {
		assert_true(asprintf(&names[i], "path=d%d.img,serial=s%d", i, i) > 0);
		argv[argc++] = "--disk";
		argv[argc++] = names[i];
	}
	assert_int_equal(options_parse(argc, argv, &opts, err, sizeof(err)), 0);
	assert_int_equal(opts.nr_disks, MACHINE_MAX_DISKS);
	assert_string_equal(opts.disk[MACHINE_MAX_DISKS - 1].path, "d7.img");
	assert_string_equal(opts.disk[MACHINE_MAX_DISKS - 1].serial, "s7");
	names[MACHINE_MAX_DISKS] = strdup("one-too-many.img");
	argv[argc++] = "--disk";
	argv[argc++] = names[MACHINE_MAX_DISKS];
	assert_int_equal(options_parse(argc, argv, &opts, err, sizeof(err)), -1);
	assert_string_equal(err, "--disk: more than 8 disks");
	for (int i = 0; i <= MACHINE_MAX_DISKS; i++)
		free(names[i]);
	free(argv);
}

static void test_disk_twice(void **state)
{
	/* The same image read-write twice would only trip over its own lock. */
	assert_parse_error("--disk: 'a.img' given twice", "--disk", "a.img", "--disk", "path=a.img");
	assert_parse_error("given twice", "--disk", "a.img", "--disk", "path=a.img,readonly=on");
	assert_parse_error("given twice", "--disk", "path=a.img,readonly=on", "--disk", "a.img");
	/* Read-only twice is fine: shared locks. */
	assert_int_equal(parse("--disk", "path=a.img,readonly=on", "--disk", "path=a.img,readonly=on",
			       NULL), 0);
	assert_int_equal(opts.nr_disks, 2);
}

static void assert_mac(const uint8_t *mac, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
		       uint8_t e, uint8_t f)
{
	const uint8_t want[6] = { a, b, c, d, e, f };

	assert_memory_equal(mac, want, 6);
}

static void test_net_user(void **state)
{
	assert_int_equal(parse("--net", "user", NULL), 0);
	assert_int_equal(opts.nr_nics, 1);
	assert_int_equal(opts.nic[0].kind, NET_USER);
	assert_int_equal(opts.nic[0].nr_hostfwd, 0);
	assert_mac(opts.nic[0].mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
}

static void test_net_hostfwd(void **state)
{
	const struct net_hostfwd *f;

	assert_int_equal(parse("--net", "user,hostfwd=tcp::2222-:22,hostfwd=udp:0.0.0.0:5353-10.0.2.15:53,"
			       "hostfwd=tcp:127.0.0.2:65535-10.0.2.99:1,hostfwd=::8080-:80", NULL), 0);
	assert_int_equal(opts.nic[0].nr_hostfwd, 4);
	f = &opts.nic[0].hostfwd[0];
	assert_false(f->udp);
	assert_int_equal(f->host_addr, 0x7f000001);
	assert_int_equal(f->host_port, 2222);
	assert_int_equal(f->guest_addr, 0);
	assert_int_equal(f->guest_port, 22);
	f = &opts.nic[0].hostfwd[1];
	assert_true(f->udp);
	assert_int_equal(f->host_addr, 0);
	assert_int_equal(f->host_port, 5353);
	assert_int_equal(f->guest_addr, 0x0a00020f);
	assert_int_equal(f->guest_port, 53);
	f = &opts.nic[0].hostfwd[2];
	assert_int_equal(f->host_addr, 0x7f000002);
	assert_int_equal(f->host_port, 65535);
	assert_int_equal(f->guest_addr, 0x0a000263);
	assert_int_equal(f->guest_port, 1);
	/* An empty protocol is TCP, as in QEMU. */
	f = &opts.nic[0].hostfwd[3];
	assert_false(f->udp);
	assert_int_equal(f->host_port, 8080);
	assert_int_equal(f->guest_port, 80);
}

static void test_net_hostfwd_errors(void **state)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{ "user,hostfwd=", "not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" },
		{ "user,hostfwd=tcp:2222-:22", "not [tcp|udp]" },
		{ "user,hostfwd=tcp::2222:22", "not [tcp|udp]" },
		{ "user,hostfwd=tcp::2222-22", "not [tcp|udp]" },
		{ "user,hostfwd=tcp::2222-:123456", "guest port '123456' is not from 1 to 65535" },
		{ "user,hostfwd=tcp::2222-:12345678901234567890", "not [tcp|udp]" },
		{ "user,hostfwd=tcp:1.2.3.4.5.6.7.8:1-:2", "host address '1.2.3.4.5.6.7.8' is not" },
		{ "user,hostfwd=tcp:1.2.3.4.5.6.7.8.1.2.3.4.5.6.7.8.1.2.3.4.5.6.7.8.1.2.3.4.5.6.7.8.9:1-:2",
		  "not [tcp|udp]" },
		{ "user,hostfwd=sctp::1-:2", "--net: hostfwd 'sctp::1-:2': protocol 'sctp' is not tcp or udp" },
		{ "user,hostfwd=tcp:localhost:1-:2", "host address 'localhost' is not an IPv4 address" },
		{ "user,hostfwd=tcp:1.2.3:1-:2", "host address '1.2.3' is not an IPv4 address" },
		{ "user,hostfwd=tcp::1-10.0.2:2", "guest address '10.0.2' is not an IPv4 address" },
		{ "user,hostfwd=tcp::1-192.168.1.5:2", "guest address '192.168.1.5' is not in 10.0.2.0/24" },
		{ "user,hostfwd=tcp::0-:22", "host port '0' is not from 1 to 65535" },
		{ "user,hostfwd=tcp::65536-:22", "host port '65536' is not from 1 to 65535" },
		{ "user,hostfwd=tcp::-:22", "host port '' is not from 1 to 65535" },
		{ "user,hostfwd=tcp::+22-:22", "host port '+22'" },
		{ "user,hostfwd=tcp::22-:", "guest port '' is not from 1 to 65535" },
		{ "user,hostfwd=tcp::22-:0", "guest port '0' is not from 1 to 65535" },
		{ "user,hostfwd=tcp::22-:2x", "guest port '2x' is not from 1 to 65535" },
		{ "user,hostfwd=tcp::22- :22", "guest address ' ' is not an IPv4 address" },
		{ "user,hostfwd", "--net: key 'hostfwd' needs a value" },
		{ "tap,ifname=t0,hostfwd=tcp::1-:2", "--net: unknown key 'hostfwd' for tap" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse("--net", cases[i].value, NULL), -1);
		if (!strstr(err, cases[i].want))
			fail_msg("%s: error '%s' does not contain '%s'", cases[i].value, err, cases[i].want);
		assert_true(!strncmp(err, "--net: ", 7));
	}
}

static void test_net_hostfwd_count(void **state)
{
	char value[1024] = "user";

	for (int i = 0; i < NET_MAX_HOSTFWD; i++)
		snprintf(value + strlen(value), sizeof(value) - strlen(value), ",hostfwd=tcp::%d-:%d",
			 1000 + i, i + 1);
	assert_int_equal(parse("--net", value, NULL), 0);
	assert_int_equal(opts.nic[0].nr_hostfwd, NET_MAX_HOSTFWD);
	assert_int_equal(opts.nic[0].hostfwd[NET_MAX_HOSTFWD - 1].host_port, 1000 + NET_MAX_HOSTFWD - 1);
	strcat(value, ",hostfwd=tcp::2000-:1");
	assert_parse_error("--net: more than 16 hostfwd on one NIC", "--net", value);
}

static void test_net_tap(void **state)
{
	assert_int_equal(parse("--net", "tap,ifname=tap0", NULL), 0);
	assert_int_equal(opts.nic[0].kind, NET_TAP);
	assert_string_equal(opts.nic[0].ifname, "tap0");
	assert_int_equal(parse("--net", "tap,ifname=abcdefghijklmno,mac=02:00:00:00:00:01", NULL), 0);
	assert_string_equal(opts.nic[0].ifname, "abcdefghijklmno");
	assert_mac(opts.nic[0].mac, 0x02, 0, 0, 0, 0, 0x01);
}

static void test_net_tap_errors(void **state)
{
	assert_parse_error("--net: tap needs ifname=NAME", "--net", "tap");
	assert_parse_error("--net: tap needs ifname=NAME", "--net", "tap,mac=52:54:00:00:00:01");
	assert_parse_error("--net: empty ifname", "--net", "tap,ifname=");
	assert_parse_error("--net: ifname 'abcdefghijklmnop' is longer than 15 bytes", "--net",
			   "tap,ifname=abcdefghijklmnop");
	assert_parse_error("not a valid interface name", "--net", "tap,ifname=a/b");
	assert_parse_error("not a valid interface name", "--net", "tap,ifname=a:1");
	assert_parse_error("not a valid interface name", "--net", "tap,ifname=a b");
	assert_parse_error("not a valid interface name", "--net", "tap,ifname=.");
	assert_parse_error("not a valid interface name", "--net", "tap,ifname=..");
	assert_parse_error("--net: 'ifname' given twice", "--net", "tap,ifname=a,ifname=b");
	assert_parse_error("--net: unknown key 'ifname' for user", "--net", "user,ifname=tap0");
	assert_parse_error("--net: key 'ifname' needs a value", "--net", "tap,ifname");
	assert_parse_error("--net: tap 'tap0' given twice", "--net", "tap,ifname=tap0", "--net",
			   "tap,ifname=tap0");
}

static void test_net_mac(void **state)
{
	uint8_t mac[6];

	assert_int_equal(options_parse_mac("52:54:00:AB:cd:Ef", mac), 0);
	assert_mac(mac, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef);
	assert_int_equal(options_parse_mac("02-00-00-00-00-ff", mac), 0);
	assert_mac(mac, 0x02, 0, 0, 0, 0, 0xff);
	assert_int_equal(options_parse_mac("", mac), -1);
	assert_int_equal(options_parse_mac("52:54:00:12:34", mac), -1);
	assert_int_equal(options_parse_mac("52:54:00:12:34:", mac), -1);
	assert_int_equal(options_parse_mac("52:54:00:12:34:5", mac), -1);
	assert_int_equal(options_parse_mac("52:54:00:12:34:567", mac), -1);
	assert_int_equal(options_parse_mac("52:54:00:12:34:56:", mac), -1);
	assert_int_equal(options_parse_mac("52:54:00:12:34:56:78", mac), -1);
	assert_int_equal(options_parse_mac("52:54-00:12:34:56", mac), -1);
	assert_int_equal(options_parse_mac("52.54.00.12.34.56", mac), -1);
	assert_int_equal(options_parse_mac("5:54:00:12:34:56", mac), -1);
	assert_int_equal(options_parse_mac("g2:54:00:12:34:56", mac), -1);
	assert_int_equal(options_parse_mac("525400123456", mac), -1);

	assert_int_equal(parse("--net", "user,mac=02:11:22:33:44:55", NULL), 0);
	assert_mac(opts.nic[0].mac, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
	assert_parse_error("--net: mac '52:54:00:12:34' is not six hex bytes", "--net", "user,mac=52:54:00:12:34");
	assert_parse_error("--net: mac '01:00:5e:00:00:01' is a multicast address", "--net",
			   "user,mac=01:00:5e:00:00:01");
	assert_parse_error("multicast", "--net", "user,mac=ff:ff:ff:ff:ff:ff");
	assert_parse_error("multicast", "--net", "user,mac=53:54:00:12:34:56");
	assert_parse_error("--net: mac '00:00:00:00:00:00' is the null address", "--net",
			   "user,mac=00:00:00:00:00:00");
	assert_parse_error("--net: 'mac' given twice", "--net", "user,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02");
	assert_parse_error("--net: key 'mac' needs a value", "--net", "user,mac");
}

static void test_net_default_macs(void **state)
{
	assert_int_equal(parse("--net", "user", "--net", "tap,ifname=t1", "--net", "user,mac=02:00:00:00:00:09",
			       "--net", "tap,ifname=t3", NULL), 0);
	assert_int_equal(opts.nr_nics, 4);
	assert_mac(opts.nic[0].mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
	assert_mac(opts.nic[1].mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x57);
	assert_mac(opts.nic[2].mac, 0x02, 0, 0, 0, 0, 0x09);
	assert_mac(opts.nic[3].mac, 0x52, 0x54, 0x00, 0x12, 0x34, 0x59);
	/* A given MAC that is another NIC's default is refused, whichever comes first. */
	assert_parse_error("--net: NICs 0 and 1 have the same mac 52:54:00:12:34:57", "--net",
			   "user,mac=52:54:00:12:34:57", "--net", "user");
	assert_parse_error("have the same mac 02:00:00:00:00:01", "--net", "user,mac=02:00:00:00:00:01",
			   "--net", "tap,ifname=x,mac=02:00:00:00:00:01");
}

static void test_net_errors(void **state)
{
	assert_parse_error("--net: unknown backend 'bridge' (give user or tap)", "--net", "bridge");
	assert_parse_error("--net: unknown backend ''", "--net", "");
	assert_parse_error("--net: unknown backend 'hostfwd=tcp::1-:2'", "--net", "hostfwd=tcp::1-:2,user");
	assert_parse_error("--net: unknown backend 'User'", "--net", "User");
	assert_parse_error("--net: unknown key 'foo' for user", "--net", "user,foo=1");
	assert_parse_error("--net: unknown key 'foo'", "--net", "user,foo");
	assert_parse_error("--net: empty item", "--net", "user,");
	/* ",," is a literal comma, as in QEMU: here it glues the backend to the next key. */
	assert_parse_error("--net: unknown backend 'user,mac=02:00:00:00:00:01'", "--net",
			   "user,,mac=02:00:00:00:00:01");
	assert_parse_error("--net: more than 4 NICs", "--net", "user", "--net", "user", "--net", "user",
			   "--net", "user", "--net", "user");
	assert_parse_error("'--net' needs a value", "--net");
}

static void test_console_rng(void **state)
{
	assert_int_equal(parse("--console", "virtio", "--rng", NULL), 0);
	assert_true(opts.virtio_console);
	assert_true(opts.rng);
	assert_int_equal(parse("--console", "virtio", "--console", "serial", NULL), 0);
	assert_false(opts.virtio_console);
	assert_false(opts.rng);
	assert_parse_error("--console 'hvc0': give serial or virtio", "--console", "hvc0");
	assert_parse_error("--console '': give serial or virtio", "--console", "");
	assert_parse_error("'--console' needs a value", "--console");
	assert_parse_error("option '--rng' takes no value", "--rng=1");
	assert_parse_error("unknown option '--rngs'", "--rngs");
}

static void test_decompress(void **state)
{
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(opts.decompress, MACHINE_DECOMPRESS_DEFAULT);
	assert_int_equal(parse("--decompress", "guest", NULL), 0);
	assert_int_equal(opts.decompress, MACHINE_DECOMPRESS_GUEST);
	assert_int_equal(parse("--decompress=host", "--boot-entry", "64", NULL), 0);
	assert_int_equal(opts.decompress, MACHINE_DECOMPRESS_HOST);
	/* The 32-bit entry is the compressed kernel's: guest, or not given. */
	assert_int_equal(parse("--decompress", "guest", "--boot-entry", "32", NULL), 0);
	assert_int_equal(parse("--boot-entry", "32", NULL), 0);
	assert_int_equal(opts.decompress, MACHINE_DECOMPRESS_DEFAULT);
	assert_parse_error("--decompress host needs the 64-bit entry", "--boot-entry", "32",
			   "--decompress", "host");
	assert_parse_error("--decompress 'Host': give host or guest", "--decompress", "Host");
	assert_parse_error("--decompress '': give host or guest", "--decompress", "");
	assert_parse_error("'--decompress' needs a value", "--decompress");
}

static void test_everything(void **state)
{
	assert_int_equal(parse("--disk", "root.img", "--net", "user,hostfwd=tcp::8080-:80", "--disk",
			       "path=data.img,readonly=on,serial=DATA", "--console", "virtio", "--rng",
			       "--net", "tap,ifname=tap7", "--mem", "512M", NULL), 0);
	assert_int_equal(opts.nr_disks, 2);
	assert_string_equal(opts.disk[0].path, "root.img");
	assert_string_equal(opts.disk[1].path, "data.img");
	assert_int_equal(opts.nr_nics, 2);
	assert_int_equal(opts.nic[0].kind, NET_USER);
	assert_int_equal(opts.nic[1].kind, NET_TAP);
	assert_true(opts.virtio_console);
	assert_true(opts.rng);
	assert_int_equal(opts.mem, 512ull << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_cpu_svm, teardown),
		cmocka_unit_test_teardown(test_decompress, teardown),
		cmocka_unit_test_teardown(test_disk_bare, teardown),
		cmocka_unit_test_teardown(test_disk_bare_with_commas, teardown),
		cmocka_unit_test_teardown(test_disk_keyed, teardown),
		cmocka_unit_test_teardown(test_disk_escaped_commas, teardown),
		cmocka_unit_test_teardown(test_disk_serial_limits, teardown),
		cmocka_unit_test_teardown(test_disk_errors, teardown),
		cmocka_unit_test_teardown(test_disk_count, teardown),
		cmocka_unit_test_teardown(test_disk_twice, teardown),
		cmocka_unit_test_teardown(test_net_user, teardown),
		cmocka_unit_test_teardown(test_net_hostfwd, teardown),
		cmocka_unit_test_teardown(test_net_hostfwd_errors, teardown),
		cmocka_unit_test_teardown(test_net_hostfwd_count, teardown),
		cmocka_unit_test_teardown(test_net_tap, teardown),
		cmocka_unit_test_teardown(test_net_tap_errors, teardown),
		cmocka_unit_test_teardown(test_net_mac, teardown),
		cmocka_unit_test_teardown(test_net_default_macs, teardown),
		cmocka_unit_test_teardown(test_net_errors, teardown),
		cmocka_unit_test_teardown(test_console_rng, teardown),
		cmocka_unit_test_teardown(test_everything, teardown),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
