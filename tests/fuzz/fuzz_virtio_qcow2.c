/*
 * Fuzz target: the qcow2 image parser and its read/write paths. The input
 * is a 1-byte flags field, a 32-byte program of four requests, and then
 * the image file itself, which goes into a memfd opened through /proc
 * like a file with format qcow2. Flags: bit 7 opens it read-only; bit 6
 * "template" mode overwrites the header with a valid one (version from
 * bit 5, cluster size from bits 0-1) so that the fuzzer spends its time
 * in the tables (L1, L2, refcounts) the input still controls; with bit 4
 * too, the tables start out as a fresh image's (an empty L1 table, one
 * refcount block counting the first four clusters), so that writes reach
 * allocation at once.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/disk.h"

#define FLAG_READONLY	0x80
#define FLAG_TEMPLATE	0x40
#define FLAG_V3		0x20
#define FLAG_FRESH	0x10
#define PROG_LEN	32
#define NR_OPS		4
#define MAX_IO		(8 * 1024)
#define MAX_IMAGE	(1u << 20)

static uint8_t io_buf[MAX_IO];

static void put_be(uint8_t *p, unsigned bytes, uint64_t v)
{
	for (unsigned i = bytes; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * A header that passes every check: L1 table in cluster 1, refcount table
 * in cluster 2 (one cluster), a virtual size of up to 1 MiB taken from
 * the input; the tables' contents stay as the input has them.
 */
static size_t template_header(uint8_t *img, size_t len, uint8_t flags)
{
	static const unsigned bits[4] = { 9, 10, 12, 16 };
	unsigned cb = bits[flags & 3];
	uint64_t cs = 1ull << cb, size = ((uint64_t)img[24] << 12 | img[25] << 4) % (MAX_IMAGE + 1);
	uint64_t per_l1 = 1ull << (2 * cb - 3), l1_size = (size + per_l1 - 1) / per_l1;

	if (len < 3 * cs)
		len = 3 * cs;	/* the caller's buffer holds MAX_IMAGE + 4 clusters of 64 KiB */
	put_be(img + 0, 4, 0x514649fb);
	put_be(img + 4, 4, flags & FLAG_V3 ? 3 : 2);
	put_be(img + 8, 12, 0);				/* backing file offset and size */
	put_be(img + 20, 4, cb);
	put_be(img + 24, 8, size);
	put_be(img + 32, 4, 0);				/* no encryption */
	put_be(img + 36, 4, l1_size);
	put_be(img + 40, 8, cs);
	put_be(img + 48, 8, 2 * cs);
	put_be(img + 56, 4, 1);
	put_be(img + 60, 12, 0);			/* no snapshots */
	if (flags & FLAG_V3) {
		put_be(img + 72, 8, 0);			/* incompatible features */
		put_be(img + 96, 4, 4);			/* 16-bit refcounts */
		put_be(img + 100, 4, 104);
	}
	if (flags & FLAG_FRESH) {
		if (len < 4 * cs)
			len = 4 * cs;
		memset(img + cs, 0, 3 * cs);
		put_be(img + 2 * cs, 8, 3 * cs);	/* refcount table[0]: the block in cluster 3 */
		for (unsigned i = 0; i < 4; i++)
			put_be(img + 3 * cs + 2 * i, 2, 1);
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t img[MAX_IMAGE + 4 * 65536];
	char path[64], err[512];
	const uint8_t *prog;
	size_t len;
	uint8_t flags;
	struct disk d;
	int fd;

	if (size < 1 + PROG_LEN)
		return 0;
	flags = data[0];
	prog = data + 1;
	len = size - 1 - PROG_LEN;
	if (len > MAX_IMAGE)
		len = MAX_IMAGE;
	memset(img, 0, sizeof(img));
	memcpy(img, data + 1 + PROG_LEN, len);
	if ((flags & FLAG_TEMPLATE) && len >= 104)
		len = template_header(img, len, flags);

	fd = memfd_create("ringvm-fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0 || write(fd, img, len) != (ssize_t)len) {
		perror("fuzz_virtio_qcow2: memfd");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if (disk_open_format(&d, path, DISK_FORMAT_QCOW2, flags & FLAG_READONLY, err, sizeof(err)) < 0) {
		if (!err[0] || strchr(err, '\n'))
			abort();	/* every refusal is one line */
	} else {
		if (!d.qcow2)
			abort();
		for (unsigned i = 0; i < NR_OPS && d.size; i++) {
			const uint8_t *op = prog + 8 * i;
			uint64_t off = ((uint64_t)op[1] << 24 | (uint64_t)op[2] << 16 | op[3] << 8 | op[4]) % d.size;
			size_t n = (size_t)(op[5] << 8 | op[6]) % MAX_IO + 1;
			struct iovec iov = { io_buf, n };

			if (n > d.size - off)
				n = iov.iov_len = (size_t)(d.size - off);
			switch (op[0] & 3) {
			case 0:
				(void)disk_readv(&d, &iov, 1, off);
				break;
			case 1:
				memset(io_buf, op[7], n);
				(void)disk_writev(&d, &iov, 1, off);
				break;
			case 2:
				(void)disk_write_zeroes(&d, off, n, op[7] & 1);
				break;
			default:
				(void)disk_flush(&d);
				break;
			}
		}
		disk_close(&d);
	}
	close(fd);
	return 0;
}
