/*
 * Fuzz target: virtio-blk's request parser on a 64 KiB in-memory disk. The
 * input is the guest's RAM (rings, descriptors, headers, data; see
 * virtio_fuzz.h). Bits of its flags byte: 7 picks the read-only disk, 6
 * "guided" mode (guided_image), which writes requests described by a
 * short program into the rings, so the fuzzer reaches every request
 * handler quickly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/le.h"
#include "devices/virtio_blk.h"
#include "virtio_fuzz.h"

#define FUZZ_DISK_SIZE (64 * 1024)
#define FLAG_GUIDED    0x40
#define FLAG_READONLY  0x80

static struct virtio_blk blk;
static struct disk disk_rw, disk_ro;

/* An image in a memfd (tmpfs: hole punching, no ZERO_RANGE), opened through /proc like a file. */
static void open_disk(struct disk *d, bool readonly)
{
	char path[64], err[512];
	int fd = memfd_create(readonly ? "ringvm-fuzz-blk-ro" : "ringvm-fuzz-blk-rw", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, FUZZ_DISK_SIZE) < 0) {
		perror("fuzz_virtio_blk: memfd");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (disk_open(d, path, readonly, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_virtio_blk: %s\n", err);
		abort();
	}
	close(fd);	/* the disk holds its own descriptor */
}

/*
 * Guided mode: random bytes rarely make a chain the parser accepts, so
 * the image gets up to four requests built from a 64-byte program at
 * PROG_OFFSET, written into queue 0's rings where fuzz_virtio_start()
 * places them, before its DRIVER_OK serves them. Each request is one
 * contiguous region [header 16][data][status 1]; the program picks the
 * type, sector, data length (whole sectors or not), where descriptors cut
 * the region (header split, header or status sharing a segment with
 * data, several data segments), wrong directions, a missing status byte
 * and indirect tables. A descriptor's direction is that of its first
 * byte, so a shared segment also makes the mixed-direction cases.
 */
#define PROG_OFFSET  0x40
#define PROG_REQ_LEN 15
#define REQ_BASE(r)  (0x4000u + 0x8000u * (r))
#define INDIRECT(r)  (0x2000u + 0x100u * (r))

struct cut_list {
	uint32_t at[12];
	unsigned n;
};

static void cut(struct cut_list *c, uint32_t at)
{
	if (c->n < 12 && (!c->n || at > c->at[c->n - 1]))
		c->at[c->n++] = at;
}

static void put_desc(uint8_t *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put64(d, addr);
	put32(d + 8, len);
	put16(d + 12, flags);
	put16(d + 14, next);
}

/* Build request r from its program bytes p; returns descriptors used in the main table (0 if no room). */
static unsigned guided_request(uint8_t *ram, const uint8_t *p, unsigned r, uint8_t *table, unsigned first,
			       unsigned room)
{
	static const uint32_t types[8] = { 0, 1, 4, 8, 11, 13, 10, 0 };
	uint32_t type = (p[0] & 7) == 7 ? p[1] : types[p[0] & 7];
	uint64_t sector = p[2] | (uint64_t)p[3] << 56;
	uint32_t data_len, status_at, base = REQ_BASE(r);
	unsigned nseg = 1 + (p[6] & 3), i, ndesc;
	bool data_readable = type != 0 && type != 8, indirect = p[6] & 0x80;
	struct cut_list c = { .n = 0 };
	uint8_t *region = ram + base, *chain;

	if (type == 11 || type == 13) {
		unsigned segs = 1 + (p[12] & 1);

		data_len = 16 * segs;
		for (i = 0; i < segs; i++) {
			put64(region + 16 + 16 * i, (p[7] + 8 * i) | (uint64_t)p[8] << 56);
			put32(region + 16 + 16 * i + 8, p[9] | (uint32_t)p[10] << 8 | (uint32_t)(p[13] & 0x80) << 24);
			put32(region + 16 + 16 * i + 12, p[11] & 0x83);
		}
	} else if (type == 8) {
		data_len = (p[13] & 1) ? p[14] % 32 : 20;
	} else {
		data_len = 512u * (p[4] & 31) + ((p[4] & 0x20) ? p[5] : 0);
	}
	put32(region, type);
	put32(region + 4, 0);
	put64(region + 8, sector);
	status_at = 16 + data_len;
	region[status_at] = 0xee;

	/* Where descriptors start: the header (maybe split), the data pieces, the status byte. */
	cut(&c, 0);
	if (p[6] & 4)
		cut(&c, 8);
	if (!(p[6] & 8))
		cut(&c, 16);
	for (i = 1; i < nseg; i++)
		cut(&c, 16 + data_len * i / nseg);
	if (!(p[6] & 0x10))
		cut(&c, status_at);
	ndesc = c.n;

	if (indirect) {
		if (!room)
			return 0;
		chain = ram + INDIRECT(r);
		put_desc(table + 16 * first, INDIRECT(r), 16 * ndesc, 4, 0);
	} else {
		if (ndesc > room)
			return 0;
		chain = table + 16 * first;
	}
	for (i = 0; i < ndesc; i++) {
		uint32_t from = c.at[i], to = i + 1 < ndesc ? c.at[i + 1] : status_at + 1;
		bool writable;
		uint16_t flags, next = (uint16_t)(indirect ? i + 1 : first + i + 1);

		if (from < 16)
			writable = false;
		else if (from < status_at)
			writable = !data_readable ^ !!(p[6] & 0x20);
		else
			writable = !(p[6] & 0x40);
		flags = (uint16_t)((i + 1 < ndesc ? 1 : 0) | (writable ? 2 : 0));
		put_desc(chain + 16 * i, base + from, to - from, flags, next);
	}
	return indirect ? 1 : ndesc;
}

static void guided_image(uint8_t *ram, const struct fuzz_ctl *c)
{
	unsigned n = fuzz_queue_size(c->queue_size[0]), used = 0, reqs = 0, r;
	uint8_t *desc = ram + FUZZ_QUEUE_BASE(0), *avail = desc + 16 * n;
	const uint8_t *prog = ram + PROG_OFFSET;

	if (!n || n > VIRTQ_MAX_SIZE)
		return;
	for (r = 0; r < 1 + (prog[0] & 3); r++) {
		unsigned got = guided_request(ram, prog + 1 + PROG_REQ_LEN * r, r, desc, used, n - used);

		if (!got)
			break;
		put16(avail + 4 + 2 * reqs, (uint16_t)used);
		used += got;
		reqs++;
	}
	put16(avail, 0);
	put16(avail + 2, (uint16_t)reqs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool opened;
	struct fuzz_ctl c = fuzz_ctl_of(data, size);
	struct disk *d;

	/* Opened once per process: two memfds, since one file cannot be both locked shared and exclusive. */
	if (!opened) {
		open_disk(&disk_rw, false);
		open_disk(&disk_ro, true);
		opened = true;
	}
	d = (c.flags & FLAG_READONLY) ? &disk_ro : &disk_rw;
	/* Every input starts from a zeroed disk, so a finding replays alone. */
	if (!d->readonly && (ftruncate(d->fd, 0) < 0 || ftruncate(d->fd, FUZZ_DISK_SIZE) < 0))
		abort();

	if (c.flags & FLAG_GUIDED) {
		static uint8_t image[FUZZ_RAM_SIZE];

		size = size < sizeof(image) ? size : sizeof(image);
		memset(image, 0, sizeof(image));
		memcpy(image, data, size);
		guided_image(image, &c);
		data = image;
		size = sizeof(image);
	}
	virtio_blk_init(&blk, "blk-fuzz", d, "fuzz-serial", &fuzz_dma);
	fuzz_virtio_drive(&blk.vd, data, size);
	virtio_blk_destroy(&blk);
	return 0;
}
