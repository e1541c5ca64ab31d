/* Unit tests of src/devices/virtio_blk.c: requests built by hand in a flat guest RAM, on temporary image files. */
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

#include "common/le.h"
#include "devices/virtio_blk.h"
#include "virtio_harness.h"

#define RAM_SIZE   (1u << 20)
#define QSIZE      16
#define DESC_GPA   0x1000
#define AVAIL_GPA  0x2000
#define USED_GPA   0x3000
#define HDR_GPA    0x10000
#define DATA_GPA   0x20000
#define STATUS_GPA 0x80000

#define DISK_SIZE  (64 * 1024)

#define F_RO           5
#define F_FLUSH        9
#define F_DISCARD      13
#define F_WRITE_ZEROES 14

#define T_IN           0
#define T_OUT          1
#define T_FLUSH        4
#define T_GET_ID       8
#define T_DISCARD      11
#define T_WRITE_ZEROES 13
#define S_OK     0
#define S_IOERR  1
#define S_UNSUPP 2

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static struct vh_ram guest = VH_RAM_OVER(guest, ram);
static struct vh_irqs irqs;

static void quiet_log(void *opaque, const char *fmt, ...)
{
	(*(unsigned *)opaque)++;
}

/* One device on one image, driven as a driver would. */
struct rig {
	char path[64];
	struct disk disk;
	struct virtio_blk blk;
	struct vh_queue q;
	unsigned logged;
};

static struct rig rig = {
	.q = { .desc = DESC_GPA, .avail = AVAIL_GPA, .used = USED_GPA, .size = QSIZE },
};

/* Sector k of a new image holds k + 1 in every byte. */
static uint8_t sector_pattern(uint64_t off)
{
	return (uint8_t)(off / 512 + 1);
}

/* A new driver on empty RAM taking the offered features in `want`. */
static void driver_start(uint64_t want)
{
	struct virtio_dev *vd = &rig.blk.vd;

	memset(ram, 0, sizeof(ram));
	memset(&irqs, 0, sizeof(irqs));
	vh_driver_start(vd, (vd->host_features & want) | VIRTIO_BIT(VIRTIO_F_VERSION_1), &rig.q, 1, true);
}

static void rig_open(bool readonly, const char *serial, uint64_t want)
{
	char err[512];

	vh_make_image(rig.path, sizeof(rig.path), "blk", DISK_SIZE, sector_pattern);
	assert_int_equal(disk_open(&rig.disk, rig.path, readonly, err, sizeof(err)), 0);
	virtio_blk_init(&rig.blk, "virtio-blk-test", &rig.disk, serial, &guest.dma);
	rig.logged = 0;
	rig.blk.vd.log = quiet_log;
	rig.blk.vd.log_opaque = &rig.logged;
	vh_attach_counter(&rig.blk.vd, &irqs);
	driver_start(want);
}

static void rig_close(void)
{
	virtio_blk_destroy(&rig.blk);
	disk_close(&rig.disk);
	unlink(rig.path);
}

/* Write a chain's descriptors starting at table entry `first` and make it available (no notify). */
static void post(const struct vh_seg *s, unsigned n, uint16_t first)
{
	vh_post_chain(ram, &rig.q, first, s, n);
}

static void notify(void)
{
	vh_notify(&rig.blk.vd, 0);
}

static uint16_t used_idx(void)
{
	return vh_used_idx(ram, &rig.q);
}

/* Submit one chain and return its used length, or -1 if the device did not complete it. */
static int64_t submit(const struct vh_seg *s, unsigned n)
{
	uint16_t before = used_idx();
	uint32_t id, len;

	post(s, n, 0);
	notify();
	if (used_idx() == before)
		return -1;
	assert_int_equal(used_idx(), (uint16_t)(before + 1));
	vh_used_elem(ram, &rig.q, before, &id, &len);
	assert_int_equal(id, 0);	/* head 0 */
	return len;
}

static void put_header(uint64_t gpa, uint32_t type, uint64_t sector)
{
	put32(ram + gpa, type);
	put32(ram + gpa + 4, 0);
	put64(ram + gpa + 8, sector);
}

/* The common shape: header, one data segment (if len), status byte. */
static int64_t request(uint32_t type, uint64_t sector, uint32_t len, bool data_write)
{
	struct vh_seg s[3];
	unsigned n = 0;

	put_header(HDR_GPA, type, sector);
	ram[STATUS_GPA] = 0xee;
	s[n++] = (struct vh_seg){ HDR_GPA, 16, false };
	if (len)
		s[n++] = (struct vh_seg){ DATA_GPA, len, data_write };
	s[n++] = (struct vh_seg){ STATUS_GPA, 1, true };
	return submit(s, n);
}

/* request() that must complete with used length `used` and status byte `status`. */
static void expect_request(uint32_t type, uint64_t sector, uint32_t len, bool data_write, int64_t used,
			   uint8_t status)
{
	assert_int_equal(request(type, sector, len, data_write), used);
	assert_int_equal(ram[STATUS_GPA], status);
}

/* The discard / write-zeroes segment (5.2.6) at DATA_GPA. */
static void dwz(uint64_t sector, uint32_t nsect, uint32_t flags)
{
	put64(ram + DATA_GPA, sector);
	put32(ram + DATA_GPA + 8, nsect);
	put32(ram + DATA_GPA + 12, flags);
}

static void file_read(uint8_t *buf, size_t len, off_t at)
{
	int fd = open(rig.path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, at), (ssize_t)len);
	close(fd);
}

static const uint64_t ALL = ~0ull;

static void test_config_and_features(void **state)
{
	struct virtio_dev *vd;

	rig_open(false, NULL, ALL);
	vd = &rig.blk.vd;
	assert_int_equal(vd->device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(vd->nr_queues, 1);
	assert_true(vd->host_features & VIRTIO_BIT(F_FLUSH));
	assert_false(vd->host_features & VIRTIO_BIT(F_RO));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_int_equal(!!(vd->host_features & VIRTIO_BIT(F_DISCARD)), rig.disk.can_discard);
	assert_int_equal(vh_config_read(vd, 0, 8), DISK_SIZE / 512);
	assert_int_equal(vh_config_read(vd, 0, 4), DISK_SIZE / 512);
	assert_int_equal(vh_config_read(vd, 4, 4), 0);
	assert_int_equal(vh_config_read(vd, 12, 4), VIRTQ_MAX_SEGS - 2);	/* seg_max */
	assert_int_equal(vh_config_read(vd, 20, 4), 512);	/* blk_size */
	assert_int_equal(vh_config_read(vd, 21, 1), 2);
	assert_int_equal(vh_config_read(vd, 32, 1), 1);	/* writeback: FLUSH negotiated */
	assert_int_equal(vh_config_read(vd, 34, 2), 1);	/* num_queues */
	if (rig.disk.can_discard) {
		assert_int_equal(vh_config_read(vd, 40, 4), 1);	/* max_discard_seg */
		assert_int_equal(vh_config_read(vd, 52, 4), 1);	/* max_write_zeroes_seg */
		assert_int_equal(vh_config_read(vd, 56, 1), 1);	/* write_zeroes_may_unmap */
	}
	/* past the structure, and straddling its end */
	assert_int_equal(vh_config_read(vd, 200, 4), 0);
	assert_int_equal(vh_config_read(vd, 0xfffffffe, 8), 0);
	/* writes are ignored */
	vh_config_write(vd, 0, 8, 5);
	assert_int_equal(vh_config_read(vd, 0, 8), DISK_SIZE / 512);

	/* a driver without FLUSH gets write-through, and sees it */
	driver_start(ALL & ~VIRTIO_BIT(F_FLUSH));
	assert_int_equal(vh_config_read(vd, 32, 1), 0);
	rig_close();

	rig_open(true, NULL, ALL);
	vd = &rig.blk.vd;
	assert_true(vd->host_features & VIRTIO_BIT(F_RO));
	assert_false(vd->host_features & (VIRTIO_BIT(F_DISCARD) | VIRTIO_BIT(F_WRITE_ZEROES)));
	rig_close();
}

static void test_write_then_read(void **state)
{
	uint8_t file[1536];
	struct vh_seg s[5];

	rig_open(false, NULL, ALL);
	/* OUT of 3 sectors at sector 5: the header split 8 + 8, the second half sharing a segment with data. */
	put_header(HDR_GPA, T_OUT, 5);
	memcpy(ram + 0x40000, ram + HDR_GPA + 8, 8);		/* sector, then data right after it */
	for (unsigned i = 0; i < 1536; i++)
		ram[0x40008 + i] = (uint8_t)(i * 13 + 1);
	ram[STATUS_GPA] = 0xee;
	s[0] = (struct vh_seg){ HDR_GPA, 8, false };
	s[1] = (struct vh_seg){ 0x40000, 8 + 1000, false };
	s[2] = (struct vh_seg){ 0x40000 + 1008, 536, false };
	s[3] = (struct vh_seg){ STATUS_GPA, 1, true };
	assert_int_equal(submit(s, 4), 1);
	assert_int_equal(ram[STATUS_GPA], S_OK);
	assert_int_equal(irqs.queue[0], 1);
	file_read(file, sizeof(file), 5 * 512);
	assert_memory_equal(file, ram + 0x40008, sizeof(file));

	/* IN of sectors 4..7 into two segments, the second also holding the status byte */
	memset(ram + DATA_GPA, 0, 4096);
	put_header(HDR_GPA, T_IN, 4);
	s[0] = (struct vh_seg){ HDR_GPA, 16, false };
	s[1] = (struct vh_seg){ DATA_GPA, 700, true };
	s[2] = (struct vh_seg){ DATA_GPA + 700, 2048 - 700 + 1, true };
	ram[DATA_GPA + 2048] = 0xee;
	assert_int_equal(submit(s, 3), 2048 + 1);
	assert_int_equal(ram[DATA_GPA + 2048], S_OK);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(ram[DATA_GPA + i], 5);		/* sector 4 as made */
	assert_memory_equal(ram + DATA_GPA + 512, ram + 0x40008, 1536);

	/* a flush completes with OK after the write */
	expect_request(T_FLUSH, 0, 0, false, 1, S_OK);
	rig_close();
}

static void test_batch_one_interrupt(void **state)
{
	rig_open(false, NULL, ALL & ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	/* three flushes posted (descriptors 0-1, 2-3, 4-5), one notification */
	for (unsigned i = 0; i < 3; i++) {
		struct vh_seg s[2] = { { HDR_GPA + 32 * i, 16, false }, { STATUS_GPA + i, 1, true } };

		put_header(HDR_GPA + 32 * i, T_FLUSH, 0);
		ram[STATUS_GPA + i] = 0xee;
		post(s, 2, (uint16_t)(2 * i));
	}
	notify();
	assert_int_equal(used_idx(), 3);
	assert_int_equal(irqs.queue[0], 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(ram[STATUS_GPA + i], S_OK);
		assert_int_equal(get32(ram + USED_GPA + 4 + 8 * i), 2 * i);
	}
	rig_close();
}

static void test_get_id(void **state)
{
	rig_open(false, "disk-serial-7", ALL);
	memset(ram + DATA_GPA, 0xff, 20);
	expect_request(T_GET_ID, 0, 20, true, 21, S_OK);
	assert_memory_equal(ram + DATA_GPA, "disk-serial-7\0\0\0\0\0\0\0", 20);
	rig_close();

	/* 20 characters fill the field without a terminator; longer ones are cut */
	rig_open(false, "0123456789abcdefghijKLMN", ALL);
	assert_int_equal(request(T_GET_ID, 0, 20, true), 21);
	assert_memory_equal(ram + DATA_GPA, "0123456789abcdefghij", 20);
	/* no serial: all NULs */
	virtio_blk_destroy(&rig.blk);
	virtio_blk_init(&rig.blk, "virtio-blk-test", &rig.disk, NULL, &guest.dma);
	vh_attach_counter(&rig.blk.vd, &irqs);
	driver_start(ALL);
	memset(ram + DATA_GPA, 0xff, 20);
	assert_int_equal(request(T_GET_ID, 0, 20, true), 21);
	assert_memory_equal(ram + DATA_GPA, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	rig_close();
}

static void test_out_of_range(void **state)
{
	uint8_t before[DISK_SIZE], after[DISK_SIZE];

	rig_open(false, NULL, ALL);
	file_read(before, sizeof(before), 0);
	/* the last sector is fine, one more is not */
	expect_request(T_IN, DISK_SIZE / 512 - 1, 512, true, 513, S_OK);
	expect_request(T_IN, DISK_SIZE / 512 - 1, 1024, true, 1, S_IOERR);
	expect_request(T_OUT, DISK_SIZE / 512, 512, false, 1, S_IOERR);
	/* sectors whose byte offset overflows 64 bits */
	expect_request(T_OUT, UINT64_MAX / 512 + 2, 512, false, 1, S_IOERR);
	expect_request(T_IN, UINT64_MAX, 512, true, 1, S_IOERR);
	/* data that is not whole sectors */
	expect_request(T_OUT, 0, 100, false, 1, S_IOERR);
	expect_request(T_IN, 0, 513, true, 1, S_IOERR);
	file_read(after, sizeof(after), 0);
	assert_memory_equal(before, after, sizeof(before));
	/* the device still works */
	assert_false(rig.blk.vd.status & VIRTIO_STATUS_NEEDS_RESET);
	expect_request(T_FLUSH, 0, 0, false, 1, S_OK);
	rig_close();
}

static void test_read_only(void **state)
{
	uint8_t before[DISK_SIZE], after[DISK_SIZE];

	rig_open(true, NULL, ALL);
	file_read(before, sizeof(before), 0);
	memset(ram + DATA_GPA, 0x5a, 4096);
	/* 5.2.6.2: IOERR for a write when RO is offered, and no data written */
	expect_request(T_OUT, 0, 4096, false, 1, S_IOERR);
	dwz(0, 8, 0);
	expect_request(T_DISCARD, 0, 16, false, 1, S_IOERR);
	expect_request(T_WRITE_ZEROES, 0, 16, false, 1, S_IOERR);
	/* reads and flushes work */
	expect_request(T_IN, 1, 512, true, 513, S_OK);
	assert_int_equal(ram[DATA_GPA + 100], 2);
	expect_request(T_FLUSH, 0, 0, false, 1, S_OK);
	file_read(after, sizeof(after), 0);
	assert_memory_equal(before, after, sizeof(before));
	rig_close();
}

static void test_unsupported(void **state)
{
	rig_open(false, NULL, ALL);
	expect_request(42, 0, 0, false, 1, S_UNSUPP);
	assert_int_equal(request(10, 0, 8, true), 1);			/* GET_LIFETIME: not offered */
	assert_int_equal(ram[STATUS_GPA], S_UNSUPP);
	assert_int_equal(request(0x80000001u, 0, 512, false), 1);	/* legacy barrier bit */
	assert_int_equal(ram[STATUS_GPA], S_UNSUPP);
	assert_false(rig.blk.vd.status & VIRTIO_STATUS_NEEDS_RESET);
	/* discard and write-zeroes when the driver did not negotiate them */
	driver_start(ALL & ~(VIRTIO_BIT(F_DISCARD) | VIRTIO_BIT(F_WRITE_ZEROES)));
	dwz(0, 8, 0);
	expect_request(T_DISCARD, 0, 16, false, 1, S_UNSUPP);
	expect_request(T_WRITE_ZEROES, 0, 16, false, 1, S_UNSUPP);
	rig_close();
}

static void test_discard_write_zeroes(void **state)
{
	uint8_t file[DISK_SIZE];

	rig_open(false, NULL, ALL);
	if (!rig.disk.can_discard) {
		print_message("(no hole punching on /tmp: discard and write-zeroes not offered)\n");
		rig_close();
		return;
	}
	dwz(16, 8, 0);
	expect_request(T_WRITE_ZEROES, 0, 16, false, 1, S_OK);
	dwz(40, 16, 1);							/* with unmap */
	expect_request(T_WRITE_ZEROES, 0, 16, false, 1, S_OK);
	dwz(64, 8, 0);
	expect_request(T_DISCARD, 0, 16, false, 1, S_OK);
	file_read(file, sizeof(file), 0);
	assert_int_equal(file[16 * 512 - 1], 16);
	assert_true(vh_all_zero(file + 16 * 512, 8 * 512));
	assert_int_equal(file[24 * 512], 25);
	assert_true(vh_all_zero(file + 40 * 512, 16 * 512));
	assert_int_equal(file[56 * 512], 57);
	assert_int_equal(file[72 * 512], 73);

	/* 5.2.6.2: unmap on a discard, or an unknown flag, is UNSUPP */
	dwz(0, 8, 1);
	expect_request(T_DISCARD, 0, 16, false, 1, S_UNSUPP);
	dwz(0, 8, 2);
	expect_request(T_WRITE_ZEROES, 0, 16, false, 1, S_UNSUPP);
	/* out of range, two segments, half a segment: IOERR */
	dwz(DISK_SIZE / 512 - 4, 8, 0);
	expect_request(T_WRITE_ZEROES, 0, 16, false, 1, S_IOERR);
	dwz(0xffffffffffffff00ull, 0x100, 0);
	expect_request(T_DISCARD, 0, 16, false, 1, S_IOERR);
	expect_request(T_DISCARD, 0, 32, false, 1, S_IOERR);
	expect_request(T_WRITE_ZEROES, 0, 8, false, 1, S_IOERR);
	/* nothing else changed */
	file_read(file, sizeof(file), 0);
	assert_int_equal(file[0], 1);
	assert_int_equal(file[DISK_SIZE - 1], DISK_SIZE / 512);
	rig_close();
}

/* A malformed chain puts the device into needs-reset, is not completed, and stops the queue. */
static void expect_needs_reset(const struct vh_seg *s, unsigned n)
{
	unsigned logged = rig.logged;

	assert_int_equal(submit(s, n), -1);
	assert_true(rig.blk.vd.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(irqs.config, 1);
	assert_int_equal(rig.logged, logged + 1);
	/* nothing more is served until the driver resets the device */
	put_header(HDR_GPA + 64, T_FLUSH, 0);
	struct vh_seg ok[2] = { { HDR_GPA + 64, 16, false }, { STATUS_GPA + 8, 1, true } };

	post(ok, 2, 8);
	notify();
	assert_int_equal(used_idx(), 0);
	/* a reset brings it back */
	driver_start(ALL);
	assert_false(rig.blk.vd.status & VIRTIO_STATUS_NEEDS_RESET);
	expect_request(T_FLUSH, 0, 0, false, 1, S_OK);
	driver_start(ALL);
}

static void test_malformed_directions(void **state)
{
	uint8_t before[DISK_SIZE], after[DISK_SIZE];

	rig_open(false, NULL, ALL);
	file_read(before, sizeof(before), 0);
	/* header too short */
	put_header(HDR_GPA, T_FLUSH, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 8, false }, { STATUS_GPA, 1, true } }, 2);
	/* no writable status byte */
	put_header(HDR_GPA, T_OUT, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16, false }, { DATA_GPA, 512, false } }, 2);
	/* the header writable */
	put_header(HDR_GPA, T_IN, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16, true }, { STATUS_GPA, 1, true } }, 2);
	/* IN with device-readable data */
	put_header(HDR_GPA, T_IN, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16, false }, { DATA_GPA, 512, false },
					   { STATUS_GPA, 1, true } }, 3);
	/* OUT with writable data before the status */
	put_header(HDR_GPA, T_OUT, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16, false }, { DATA_GPA, 512, true },
					   { STATUS_GPA, 1, true } }, 3);
	/* OUT whose data shares the header's segment, plus a writable data segment */
	put_header(HDR_GPA, T_OUT, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16 + 512, false }, { DATA_GPA, 513, true } }, 2);
	/* GET_ID with readable data */
	put_header(HDR_GPA, T_GET_ID, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16 + 20, false }, { DATA_GPA, 21, true } }, 2);
	/* WRITE_ZEROES with a writable range */
	put_header(HDR_GPA, T_WRITE_ZEROES, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16, false }, { DATA_GPA, 17, true } }, 2);
	file_read(after, sizeof(after), 0);
	assert_memory_equal(before, after, sizeof(before));
	rig_close();
}

/* The chain walker's own refusals reach the device as needs-reset too (a descriptor outside RAM). */
static void test_bad_buffer(void **state)
{
	rig_open(false, NULL, ALL);
	put_header(HDR_GPA, T_IN, 0);
	expect_needs_reset((struct vh_seg[]){ { HDR_GPA, 16, false }, { RAM_SIZE - 256, 512, true },
					   { STATUS_GPA, 1, true } }, 3);
	rig_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_and_features),
		cmocka_unit_test(test_write_then_read),
		cmocka_unit_test(test_batch_one_interrupt),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_discard_write_zeroes),
		cmocka_unit_test(test_malformed_directions),
		cmocka_unit_test(test_bad_buffer),
	};

	return cmocka_run_group_tests_name("virtio_blk", tests, NULL, NULL);
}
