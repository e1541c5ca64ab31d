/* Unit tests of src/backend/disk.c: open errors and locking, vectored I/O, flush, discard and write-zeroes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend/disk.h"
#include "virtio_harness.h"

/* A byte pattern never zero over 512 bytes, for images made by vh_make_image(). */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + 3);
}

/* A temporary image of `size` bytes of pattern(); its name goes to path. */
static void make_image(char *path, size_t pathlen, uint64_t size)
{
	vh_make_image(path, pathlen, "disk", size, pattern);
}

static void test_missing_file(void **state)
{
	struct disk d;
	char err[512];

	assert_int_equal(disk_open(&d, "/tmp/ringvm-no-such-image.raw", false, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "disk image '/tmp/ringvm-no-such-image.raw': No such file or directory");
	assert_null(strchr(err, '\n'));
}

static void test_not_a_file(void **state)
{
	struct disk d;
	char err[512];

	assert_int_equal(disk_open(&d, "/tmp", true, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file or a block device"));
}

static void test_lock_two_writers(void **state)
{
	struct disk a, b;
	char path[64], err[512], want[600];

	make_image(path, sizeof(path), 64 * 1024);
	assert_int_equal(disk_open(&a, path, false, err, sizeof(err)), 0);
	/* flock() locks belong to the open file description: a second open in one process conflicts too. */
	assert_int_equal(disk_open(&b, path, false, err, sizeof(err)), -EWOULDBLOCK);
	snprintf(want, sizeof(want), "disk image '%s' is in use by another process (locked)", path);
	assert_string_equal(err, want);
	/* a reader is refused while a writer holds it */
	assert_int_equal(disk_open(&b, path, true, err, sizeof(err)), -EWOULDBLOCK);
	disk_close(&a);
	/* and the lock goes with the close */
	assert_int_equal(disk_open(&b, path, false, err, sizeof(err)), 0);
	disk_close(&b);
	unlink(path);
}

static void test_lock_readers(void **state)
{
	struct disk a, b, c;
	char path[64], err[512];

	make_image(path, sizeof(path), 64 * 1024);
	assert_int_equal(disk_open(&a, path, true, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&b, path, true, err, sizeof(err)), 0);
	assert_true(a.readonly && b.readonly);
	assert_false(a.can_discard || a.can_write_zeroes);
	/* no writer while readers hold it */
	assert_int_equal(disk_open(&c, path, false, err, sizeof(err)), -EWOULDBLOCK);
	disk_close(&a);
	disk_close(&b);
	unlink(path);
}

static void test_size_rounded_down(void **state)
{
	struct disk d;
	char path[64], err[512];

	make_image(path, sizeof(path), 3 * 512 + 100);
	assert_int_equal(disk_open(&d, path, false, err, sizeof(err)), 0);
	assert_int_equal(d.size, 3 * 512);
	disk_close(&d);
	unlink(path);
}

static void test_readv_writev(void **state)
{
	struct disk d;
	char path[64], err[512];
	uint8_t a[100], b[924], c[1024], back[2048];
	struct iovec out[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct iovec in[2] = { { back, 7 }, { back + 7, sizeof(back) - 7 } };

	make_image(path, sizeof(path), 64 * 1024);
	assert_int_equal(disk_open(&d, path, false, err, sizeof(err)), 0);
	assert_int_equal(d.size, 64 * 1024);
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	memset(c, 0x33, sizeof(c));
	assert_int_equal(disk_writev(&d, out, 3, 4096), 0);
	assert_int_equal(disk_flush(&d), 0);
	memset(back, 0, sizeof(back));
	assert_int_equal(disk_readv(&d, in, 2, 4096), 0);
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + 100, b, sizeof(b));
	assert_memory_equal(back + 1024, c, sizeof(c));
	/* the last bytes of the disk, and not one past them */
	assert_int_equal(disk_readv(&d, in, 2, 64 * 1024 - sizeof(back)), 0);
	assert_int_equal(disk_readv(&d, in, 2, 64 * 1024 - sizeof(back) + 512), -EINVAL);
	assert_int_equal(disk_writev(&d, out, 3, UINT64_MAX - 100), -EINVAL);
	disk_close(&d);

	/* a read-only disk reads, and refuses writes */
	assert_int_equal(disk_open(&d, path, true, err, sizeof(err)), 0);
	memset(back, 0, sizeof(back));
	assert_int_equal(disk_readv(&d, in, 2, 4096), 0);
	assert_memory_equal(back + 1024, c, sizeof(c));
	assert_int_equal(disk_writev(&d, out, 3, 0), -EROFS);
	assert_int_equal(disk_discard(&d, 0, 512), -EROFS);
	assert_int_equal(disk_write_zeroes(&d, 0, 512, false), -EROFS);
	disk_close(&d);
	unlink(path);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void read_range(struct disk *d, uint8_t *buf, size_t len, uint64_t offset)
{
	struct iovec iov = { buf, len };

	assert_int_equal(disk_readv(d, &iov, 1, offset), 0);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct disk d;
	char path[64], err[512];
	static uint8_t buf[128 * 1024];

	make_image(path, sizeof(path), 256 * 1024);
	assert_int_equal(disk_open(&d, path, false, err, sizeof(err)), 0);
	if (d.can_discard) {
		assert_int_equal(disk_discard(&d, 8192, 65536), 0);
		read_range(&d, buf, 65536 + 8192, 4096);
		assert_false(all_zero(buf, 4096));			/* before: untouched */
		assert_true(all_zero(buf + 4096, 65536));		/* the range: zeroes */
		assert_false(all_zero(buf + 4096 + 65536, 4096));	/* after: untouched */
	} else {
		print_message("(this filesystem cannot punch holes: discard not tested)\n");
		assert_int_equal(disk_discard(&d, 8192, 65536), -EOPNOTSUPP);
	}
	/* write-zeroes always zeroes, whatever path it takes: both modes, unaligned edges */
	assert_int_equal(disk_write_zeroes(&d, 100 * 1024 + 512, 3 * 512, false), 0);
	assert_int_equal(disk_write_zeroes(&d, 200 * 1024, 20 * 1024, true), 0);
	read_range(&d, buf, 4096, 100 * 1024);
	assert_false(all_zero(buf, 512));
	assert_true(all_zero(buf + 512, 3 * 512));
	assert_false(all_zero(buf + 4 * 512, 512));
	read_range(&d, buf, 24 * 1024, 198 * 1024);
	assert_false(all_zero(buf, 2048));
	assert_true(all_zero(buf + 2048, 20 * 1024));
	assert_false(all_zero(buf + 22 * 1024, 2048));
	/* out of range */
	assert_int_equal(disk_discard(&d, 256 * 1024 - 512, 1024), -EINVAL);
	assert_int_equal(disk_write_zeroes(&d, UINT64_MAX - 511, 512, false), -EINVAL);
	/* the file keeps its size */
	assert_int_equal(lseek(d.fd, 0, SEEK_END), 256 * 1024);
	disk_close(&d);
	unlink(path);
}

/* The zero-buffer fallback, as on a filesystem without fallocate(): many chunks, and a tail. */
static void test_write_zeroes_fallback(void **state)
{
	struct disk d;
	char path[64], err[512];
	static uint8_t buf[2 * 1024 * 1024];

	make_image(path, sizeof(path), sizeof(buf));
	assert_int_equal(disk_open(&d, path, false, err, sizeof(err)), 0);
	d.can_write_zeroes = false;
	assert_int_equal(disk_write_zeroes(&d, 512, sizeof(buf) - 1024, false), 0);
	read_range(&d, buf, sizeof(buf), 0);
	assert_false(all_zero(buf, 512));
	assert_true(all_zero(buf + 512, sizeof(buf) - 1024));
	assert_false(all_zero(buf + sizeof(buf) - 512, 512));
	disk_close(&d);
	unlink(path);
}

/* format=raw is what disk_open() does; a raw image is never taken for qcow2, nor qcow2 for raw (tests/unit/test_qcow2.c). */
static void test_open_format(void **state)
{
	struct disk d;
	char path[64], err[512], want[600];
	uint8_t back[512];
	struct iovec iov = { back, sizeof(back) };

	make_image(path, sizeof(path), 64 * 1024 + 100);
	assert_int_equal(disk_open_format(&d, path, DISK_FORMAT_RAW, false, err, sizeof(err)), 0);
	assert_null(d.qcow2);
	assert_int_equal(d.size, 64 * 1024);
	assert_int_equal(disk_readv(&d, &iov, 1, 512), 0);
	for (unsigned i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], pattern(512 + i));
	disk_close(&d);
	/* the same file as qcow2: refused with one line, and the lock is released */
	assert_int_equal(disk_open_format(&d, path, DISK_FORMAT_QCOW2, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "disk image '%s' is not a qcow2 image (no QFI\\xfb magic)", path);
	assert_string_equal(err, want);
	assert_int_equal(disk_open(&d, path, false, err, sizeof(err)), 0);
	disk_close(&d);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_lock_two_writers),
		cmocka_unit_test(test_lock_readers),
		cmocka_unit_test(test_size_rounded_down),
		cmocka_unit_test(test_readv_writev),
		cmocka_unit_test(test_discard_and_write_zeroes),
		cmocka_unit_test(test_write_zeroes_fallback),
		cmocka_unit_test(test_open_format),
	};

	return cmocka_run_group_tests_name("disk", tests, NULL, NULL);
}
