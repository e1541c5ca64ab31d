/* Unit tests of src/backend/qcow2.c through the disk API, with qemu-img as the oracle (check, convert, snapshot). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend/disk.h"

#define IMG_SIZE (8u << 20)

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ringvm-test-qcow2-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Run a shell command quietly; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have_qemu_img(void)
{
	return sh("qemu-img --version >/dev/null 2>&1") == 0;
}

#define NEED_QEMU_IMG()                                         \
	do {                                                    \
		if (!have_qemu_img()) {                         \
			print_message("qemu-img missing\n");     \
			skip();                                 \
		}                                               \
	} while (0)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Write buf to the disk at offset as up to three iovecs split at odd places; mirror it in ref. */
static void write_both(struct disk *d, uint8_t *ref, const uint8_t *buf, size_t len, uint64_t offset)
{
	size_t a = len / 3, b = len / 2;
	struct iovec iov[3] = {
		{ (void *)buf, a }, { (void *)(buf + a), b - a }, { (void *)(buf + b), len - b },
	};

	assert_int_equal(disk_writev(d, iov, 3, offset), 0);
	memcpy(ref + offset, buf, len);
}

/* The whole disk read back (in two odd iovecs) equals ref. */
static void check_disk(struct disk *d, const uint8_t *ref)
{
	uint8_t *back = malloc(IMG_SIZE);
	struct iovec iov[2] = { { back, 12345 }, { back + 12345, IMG_SIZE - 12345 } };

	assert_non_null(back);
	memset(back, 0xee, IMG_SIZE);
	assert_int_equal(disk_readv(d, iov, 2, 0), 0);
	assert_memory_equal(back, ref, IMG_SIZE);
	free(back);
}

/* qemu-img check is clean, and qemu-img convert (of snapshot `snap`, or the active layer) equals ref. */
static void check_with_qemu(const char *img, const char *snap, const uint8_t *ref)
{
	char out[128];
	uint8_t *back = malloc(IMG_SIZE);
	int fd;

	assert_non_null(back);
	assert_int_equal(sh("qemu-img check -q '%s'", img), 0);
	snprintf(out, sizeof(out), "%s/out.raw", dir);
	if (snap)
		assert_int_equal(sh("qemu-img convert -U -l snapshot.name=%s -O raw '%s' '%s'", snap, img, out), 0);
	else
		assert_int_equal(sh("qemu-img convert -U -O raw '%s' '%s'", img, out), 0);
	fd = open(out, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, IMG_SIZE, 0), IMG_SIZE);
	close(fd);
	assert_memory_equal(back, ref, IMG_SIZE);
	free(back);
	unlink(out);
}

/* Random writes at odd offsets, many spanning clusters, some long; then the image checks out. */
static void random_writes(struct disk *d, uint8_t *ref, unsigned count, size_t max_len)
{
	uint8_t *buf = malloc(max_len);

	assert_non_null(buf);
	for (unsigned i = 0; i < count; i++) {
		size_t len = 1 + rnd() % max_len;
		uint64_t off = rnd() % (IMG_SIZE - len + 1);

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rnd() | 1;	/* never zero: an unwritten byte shows */
		write_both(d, ref, buf, len, off);
	}
	free(buf);
}

static void roundtrip(const char *opts, unsigned count, size_t max_len)
{
	char img[128], err[512];
	uint8_t *ref = calloc(1, IMG_SIZE);
	struct disk d;

	NEED_QEMU_IMG();
	assert_non_null(ref);
	rng_state = 0x9e3779b97f4a7c15ull ^ strlen(opts);
	snprintf(img, sizeof(img), "%s/rt.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s '%s' %u", opts, img, IMG_SIZE), 0);

	assert_int_equal(disk_open_format(&d, img, DISK_FORMAT_QCOW2, false, err, sizeof(err)), 0);
	assert_int_equal(d.size, IMG_SIZE);
	assert_false(d.can_discard || d.can_write_zeroes);
	check_disk(&d, ref);			/* a new image reads as zeroes */
	random_writes(&d, ref, count, max_len);
	/* the first and last bytes, and a rewrite of an allocated cluster in place */
	write_both(&d, ref, (const uint8_t *)"\x5a", 1, 0);
	write_both(&d, ref, (const uint8_t *)"\xa5", 1, IMG_SIZE - 1);
	write_both(&d, ref, (const uint8_t *)"hello", 5, 1);
	/* write-zeroes falls back to written zeroes; discard is not offered */
	assert_int_equal(disk_write_zeroes(&d, 1000, 5000, true), 0);
	memset(ref + 1000, 0, 5000);
	assert_int_equal(disk_discard(&d, 0, 512), -EOPNOTSUPP);
	check_disk(&d, ref);
	assert_int_equal(disk_flush(&d), 0);
	disk_close(&d);
	check_with_qemu(img, NULL, ref);

	/* reopened, it still reads the same; read-only refuses writes */
	assert_int_equal(disk_open_format(&d, img, DISK_FORMAT_QCOW2, true, err, sizeof(err)), 0);
	check_disk(&d, ref);
	assert_int_equal(disk_writev(&d, &(struct iovec){ ref, 512 }, 1, 0), -EROFS);
	disk_close(&d);
	unlink(img);
	free(ref);
}

static void test_v3_64k(void **state)
{
	roundtrip("-o cluster_size=65536", 300, 200000);
}

static void test_v3_4k(void **state)
{
	roundtrip("-o cluster_size=4096", 300, 40000);
}

static void test_v2_4k(void **state)
{
	roundtrip("-o compat=0.10,cluster_size=4096", 200, 40000);
}

static void test_v2_64k(void **state)
{
	roundtrip("-o compat=0.10,cluster_size=65536", 100, 300000);
}

/* 512-byte clusters: many L2 tables and new refcount blocks made at the end of the file. */
static void test_v3_512(void **state)
{
	roundtrip("-o cluster_size=512", 100, 20000);
}

/* 64-bit refcounts (refcount_order 6) */
static void test_refcount_bits_64(void **state)
{
	roundtrip("-o cluster_size=4096,refcount_bits=64", 100, 30000);
}

/* A snapshot shares clusters: our writes copy them, the snapshot keeps its data, refcounts stay exact. */
static void test_snapshot_cow(void **state)
{
	char img[128], err[512];
	uint8_t *ref = calloc(1, IMG_SIZE), *snap_ref = malloc(IMG_SIZE);
	struct disk d;

	NEED_QEMU_IMG();
	assert_non_null(ref);
	assert_non_null(snap_ref);
	rng_state = 12345;
	snprintf(img, sizeof(img), "%s/snap.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 '%s' %u", img, IMG_SIZE), 0);
	assert_int_equal(disk_open_format(&d, img, DISK_FORMAT_QCOW2, false, err, sizeof(err)), 0);
	random_writes(&d, ref, 100, 50000);
	disk_close(&d);
	memcpy(snap_ref, ref, IMG_SIZE);
	assert_int_equal(sh("qemu-img snapshot -c s1 '%s'", img), 0);

	assert_int_equal(disk_open_format(&d, img, DISK_FORMAT_QCOW2, false, err, sizeof(err)), 0);
	random_writes(&d, ref, 100, 50000);
	check_disk(&d, ref);
	disk_close(&d);
	check_with_qemu(img, NULL, ref);
	check_with_qemu(img, "s1", snap_ref);
	unlink(img);
	free(ref);
	free(snap_ref);
}

/* preallocation=metadata: every cluster is allocated up front (reading zeroes); writes go in place. */
static void test_preallocated(void **state)
{
	char img[128], err[512];
	uint8_t *ref = calloc(1, IMG_SIZE);
	struct disk d;

	NEED_QEMU_IMG();
	assert_non_null(ref);
	rng_state = 777;
	snprintf(img, sizeof(img), "%s/prealloc.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o preallocation=metadata,cluster_size=4096 '%s' %u",
			    img, IMG_SIZE), 0);
	assert_int_equal(disk_open_format(&d, img, DISK_FORMAT_QCOW2, false, err, sizeof(err)), 0);
	check_disk(&d, ref);
	random_writes(&d, ref, 100, 30000);
	check_disk(&d, ref);
	disk_close(&d);
	check_with_qemu(img, NULL, ref);
	unlink(img);
	free(ref);
}

/* The format is never probed: a qcow2 file opened without format=qcow2 is raw bytes. */
static void test_no_probing(void **state)
{
	char img[128], err[512];
	struct stat st;
	uint8_t magic[4];
	struct disk d;

	NEED_QEMU_IMG();
	snprintf(img, sizeof(img), "%s/probe.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 '%s' %u", img, IMG_SIZE), 0);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(disk_open(&d, img, true, err, sizeof(err)), 0);
	assert_null(d.qcow2);
	assert_int_equal(d.size, (uint64_t)st.st_size & ~511ull);
	assert_int_equal(disk_readv(&d, &(struct iovec){ magic, 4 }, 1, 0), 0);
	assert_memory_equal(magic, "QFI\xfb", 4);
	disk_close(&d);
	unlink(img);
}

/* disk_open_format() of img fails with ret and an error line containing want. */
static void expect_refused(const char *img, bool readonly, int ret, const char *want)
{
	char err[512];
	struct disk d;

	err[0] = 0;
	assert_int_equal(disk_open_format(&d, img, DISK_FORMAT_QCOW2, readonly, err, sizeof(err)), ret);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_null(strchr(err, '\n'));
}

static void patch(const char *img, uint64_t off, const void *bytes, size_t len)
{
	int fd = open(img, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_refusals(void **state)
{
	char img[128], base[128];

	NEED_QEMU_IMG();
	snprintf(base, sizeof(base), "%s/base.raw", dir);
	snprintf(img, sizeof(img), "%s/top.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f raw '%s' 1M", base), 0);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b '%s' -F raw '%s'", base, img), 0);
	expect_refused(img, false, -EINVAL, "has a backing file");
	expect_refused(img, true, -EINVAL, "has a backing file");
	/* a raw file is not qcow2 */
	expect_refused(base, true, -EINVAL, "is not a qcow2 image");

	assert_int_equal(sh("qemu-img create -q -f qcow2 '%s' 1M", img), 0);
	patch(img, 79, "\x01", 1);			/* incompatible_features: dirty */
	expect_refused(img, false, -EINVAL, "qemu-img check -r all");
	patch(img, 79, "\x02", 1);			/* corrupt */
	expect_refused(img, true, -EINVAL, "marked corrupt");
	patch(img, 79, "\x04", 1);			/* external data file */
	expect_refused(img, false, -EINVAL, "external data file");
	patch(img, 79, "\x20", 1);			/* unknown */
	expect_refused(img, false, -EINVAL, "unknown qcow2 incompatible features 0x20");
	patch(img, 79, "\x00", 1);
	patch(img, 23, "\x1e", 1);			/* cluster_bits 30 */
	expect_refused(img, false, -EINVAL, "cluster_bits 30 is outside 9..21");
	patch(img, 23, "\x10", 1);
	patch(img, 35, "\x01", 1);			/* crypt_method AES */
	expect_refused(img, false, -EINVAL, "is encrypted");
	patch(img, 35, "\x00", 1);
	patch(img, 40, "\x7f\xff\xff\xff\xff\xff\x00\x00", 8);	/* L1 table offset past the end */
	expect_refused(img, false, -EINVAL, "L1 table offset");
	patch(img, 40, "\x00\x00\x00\x00\x00\x03\x00\x00", 8);
	patch(img, 24, "\x00\x00\x01\x00\x00\x00\x00\x00", 8);	/* size 1 TiB, L1 of one entry */
	expect_refused(img, false, -EINVAL, "does not fit the size");
	patch(img, 24, "\x00\x00\x00\x00\x00\x10\x00\x00", 8);
	patch(img, 48, "\xff\xff\xff\xff\xff\xff\x00\x00", 8);	/* refcount table offset: overflow */
	expect_refused(img, false, -EINVAL, "refcount table");
	patch(img, 48, "\x00\x00\x00\x00\x00\x01\x00\x00", 8);
	patch(img, 4, "\x00\x00\x00\x04", 4);		/* version 4 */
	expect_refused(img, false, -EINVAL, "qcow2 version 4");
	patch(img, 4, "\x00\x00\x00\x03", 4);
	patch(img, 0, "QFI\xfa", 4);
	expect_refused(img, false, -EINVAL, "is not a qcow2 image");
	patch(img, 0, "QFI\xfb", 4);
	/* the restored image opens and checks clean */
	assert_int_equal(sh("qemu-img check -q '%s'", img), 0);
	{
		char err[512];
		struct disk d;

		assert_int_equal(disk_open_format(&d, img, DISK_FORMAT_QCOW2, false, err, sizeof(err)), 0);
		assert_int_equal(d.size, 1u << 20);
		disk_close(&d);
	}
	unlink(img);
	unlink(base);
}

/* qcow2 images are locked like raw ones. */
static void test_lock(void **state)
{
	char img[128], err[512];
	struct disk a, b;

	NEED_QEMU_IMG();
	snprintf(img, sizeof(img), "%s/lock.qcow2", dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 '%s' 1M", img), 0);
	assert_int_equal(disk_open_format(&a, img, DISK_FORMAT_QCOW2, false, err, sizeof(err)), 0);
	assert_int_equal(disk_open_format(&b, img, DISK_FORMAT_QCOW2, true, err, sizeof(err)), -EWOULDBLOCK);
	assert_non_null(strstr(err, "in use by another process"));
	disk_close(&a);
	unlink(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v3_64k),
		cmocka_unit_test(test_v3_4k),
		cmocka_unit_test(test_v2_4k),
		cmocka_unit_test(test_v2_64k),
		cmocka_unit_test(test_v3_512),
		cmocka_unit_test(test_refcount_bits_64),
		cmocka_unit_test(test_snapshot_cow),
		cmocka_unit_test(test_preallocated),
		cmocka_unit_test(test_no_probing),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_lock),
	};

	return cmocka_run_group_tests_name("qcow2", tests, setup, teardown);
}
