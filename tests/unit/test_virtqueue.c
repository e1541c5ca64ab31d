/* Unit tests of src/devices/virtqueue.c: split rings built by hand in a flat guest RAM, good chains and every malformed one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/le.h"
#include "devices/virtio.h"
#include "devices/virtqueue.h"
#include "virtio_harness.h"

#define RAM_SIZE 0x10000u
#define QSIZE    8
#define DESC     0x0000u
#define AVAIL    0x1000u
#define USED     0x2000u
#define ITABLE   0x3000u
#define BUF      0x8000u

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct virtq q;
static struct virtq_elem e;
static char why[160];

static struct vh_ram guest = VH_RAM_OVER(guest, ram);
static const struct dma_space *const dma = &guest.dma;
static struct vh_queue drv = { .desc = DESC, .avail = AVAIL, .used = USED };	/* the driver's view of q */

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vh_put_desc(ram, table, i, addr, len, flags, next);
}

static uint16_t avail_idx(void)
{
	return get16(ram + AVAIL + 2);
}

/* The driver makes chain `head` available. */
static void offer(uint16_t head)
{
	vh_avail_push(ram, &drv, head);
}

static void setup_size(uint64_t features, uint16_t size)
{
	memset(ram, 0, sizeof(ram));
	virtq_reset(&q, VIRTQ_MAX_SIZE);
	assert_int_equal(q.size, VIRTQ_MAX_SIZE);
	assert_int_equal(q.msix_vector, VIRTIO_MSI_NO_VECTOR);
	assert_false(q.enabled);
	q.size = drv.size = size;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	assert_int_equal(virtq_enable(&q, dma, features, why, sizeof(why)), 0);
	assert_true(q.enabled);
}

static void setup(uint64_t features)
{
	setup_size(features, QSIZE);
}

static int pop(void)
{
	why[0] = 0;
	return virtq_pop(&q, &e, why, sizeof(why));
}

static void expect_malformed(void)
{
	uint16_t last = q.last_avail;

	assert_int_equal(pop(), -EINVAL);
	assert_true(why[0] != 0);
	assert_int_equal(q.last_avail, last);	/* the bad chain is not consumed */
}

/* pop() yields a chain: its head, how many buffers each way and their total lengths. */
static void expect_chain(uint16_t head, unsigned nr_out, unsigned nr_in, uint32_t out_len, uint32_t in_len)
{
	assert_int_equal(pop(), 1);
	assert_int_equal(e.head, head);
	assert_int_equal(e.nr_out, nr_out);
	assert_int_equal(e.nr_in, nr_in);
	assert_int_equal(e.out_len, out_len);
	assert_int_equal(e.in_len, in_len);
}

static void test_simple_chain(void **state)
{
	uint8_t out[24], in[32];
	unsigned i;

	setup(0);
	assert_false(virtq_has_avail(&q));
	assert_int_equal(pop(), 0);
	for (i = 0; i < 24; i++)
		ram[(i < 16 ? BUF : BUF + 0x100 - 16) + i] = (uint8_t)i;
	put_desc(DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	put_desc(DESC, 5, BUF + 0x100, 8, VIRTQ_DESC_F_NEXT, 2);
	put_desc(DESC, 2, BUF + 0x200, 32, VIRTQ_DESC_F_WRITE, 7);	/* next ignored without NEXT */
	offer(0);
	assert_true(virtq_has_avail(&q));
	expect_chain(0, 2, 1, 24, 32);
	assert_ptr_equal(e.out[0].iov_base, ram + BUF);
	assert_ptr_equal(e.out[1].iov_base, ram + BUF + 0x100);
	assert_ptr_equal(e.in[0].iov_base, ram + BUF + 0x200);
	assert_int_equal(iov_to_buf(e.out, e.nr_out, 0, out, sizeof(out)), 24);
	for (i = 0; i < 24; i++)
		assert_int_equal(out[i], i);
	assert_int_equal(iov_to_buf(e.out, e.nr_out, 20, out, sizeof(out)), 4);
	assert_int_equal(out[0], 20);
	memset(in, 0xab, sizeof(in));
	assert_int_equal(iov_from_buf(e.in, e.nr_in, 4, in, sizeof(in)), 28);
	assert_int_equal(ram[BUF + 0x200 + 3], 0);
	assert_int_equal(ram[BUF + 0x200 + 4], 0xab);
	assert_int_equal(pop(), 0);
	assert_false(virtq_has_avail(&q));

	virtq_push(&q, 0, 32);
	assert_int_equal(get16(ram + USED + 2), 1);
	assert_int_equal(get32(ram + USED + 4), 0);
	assert_int_equal(get32(ram + USED + 8), 32);
	/* Without EVENT_IDX the driver's NO_INTERRUPT flag decides. */
	assert_true(virtq_should_interrupt(&q));
	put16(ram + AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_should_interrupt(&q));
}

static void test_zero_length_skipped(void **state)
{
	setup(0);
	put_desc(DESC, 0, 0xdeadbeef0000ull, 0, VIRTQ_DESC_F_NEXT, 1);	/* nowhere, but empty */
	put_desc(DESC, 1, BUF, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	put_desc(DESC, 2, BUF, 0, 0, 0);				/* empty readable after writable */
	offer(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(e.nr_out, 0);
	assert_int_equal(e.nr_in, 1);
	assert_int_equal(e.in_len, 4);
}

static void test_indirect_chain(void **state)
{
	setup(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	put_desc(ITABLE, 0, BUF, 12, VIRTQ_DESC_F_NEXT, 2);
	put_desc(ITABLE, 2, BUF + 0x40, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(ITABLE, 1, BUF + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
	/* The WRITE flag on the descriptor naming the table is ignored (2.7.5.3.2). */
	put_desc(DESC, 3, ITABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	offer(3);
	expect_chain(3, 1, 2, 12, 101);
	assert_ptr_equal(e.in[1].iov_base, ram + BUF + 0x100);

	/* Direct descriptors, then an indirect one; the table itself unaligned. */
	put_desc(ITABLE + 4, 0, BUF + 0x200, 8, VIRTQ_DESC_F_WRITE, 0);
	put_desc(DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(DESC, 1, ITABLE + 4, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(e.nr_out, 1);
	assert_int_equal(e.nr_in, 1);
	assert_ptr_equal(e.in[0].iov_base, ram + BUF + 0x200);
}

static void test_index_wrap(void **state)
{
	unsigned i;

	setup(0);
	/* Both sides have run 0xfffe chains through the ring. */
	q.last_avail = q.used_idx = 0xfffe;
	put16(ram + AVAIL + 2, 0xfffe);
	put16(ram + USED + 2, 0xfffe);
	for (i = 0; i < 3; i++) {
		put_desc(DESC, i, BUF + 0x10 * i, 16, VIRTQ_DESC_F_WRITE, 0);
		offer((uint16_t)i);
	}
	assert_int_equal(avail_idx(), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pop(), 1);
		assert_int_equal(e.head, i);
		virtq_push(&q, e.head, 16 + i);
	}
	assert_int_equal(pop(), 0);
	assert_int_equal(q.last_avail, 1);
	assert_int_equal(get16(ram + USED + 2), 1);
	/* entries 0xfffe % 8 = 6, 7, then 0 */
	assert_int_equal(get32(ram + USED + 4 + 8 * 6), 0);
	assert_int_equal(get32(ram + USED + 4 + 8 * 7), 1);
	assert_int_equal(get32(ram + USED + 4 + 8 * 0), 2);
	assert_int_equal(get32(ram + USED + 8 + 8 * 0), 18);
}

static void test_malformed_direct(void **state)
{
	/* loop of two */
	setup(0);
	put_desc(DESC, 0, BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(DESC, 1, BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_malformed();
	/* self loop */
	setup(0);
	put_desc(DESC, 0, BUF, 0, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_malformed();
	/* head out of range */
	setup(0);
	offer(QSIZE);
	expect_malformed();
	/* next out of range */
	setup(0);
	put_desc(DESC, 0, BUF, 4, VIRTQ_DESC_F_NEXT, QSIZE);
	offer(0);
	expect_malformed();
	/* readable after writable (2.7.4.2) */
	setup(0);
	put_desc(DESC, 0, BUF, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(DESC, 1, BUF, 4, 0, 0);
	offer(0);
	expect_malformed();
	/* buffers outside RAM: past the end, straddling it, wrapping the address space */
	setup(0);
	put_desc(DESC, 0, RAM_SIZE, 1, 0, 0);
	offer(0);
	expect_malformed();
	setup(0);
	put_desc(DESC, 0, RAM_SIZE - 4, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	expect_malformed();
	setup(0);
	put_desc(DESC, 0, UINT64_MAX - 3, 8, 0, 0);
	offer(0);
	expect_malformed();
	setup(0);
	put_desc(DESC, 0, BUF, UINT32_MAX, 0, 0);
	offer(0);
	expect_malformed();
	/* available index more than a ring ahead */
	setup(0);
	put16(ram + AVAIL + 2, QSIZE + 1);
	expect_malformed();
	setup(0);
	put16(ram + AVAIL + 2, 0xffff);		/* "behind" is far ahead, modulo 2^16 */
	expect_malformed();
	/* exactly a ring ahead is fine */
	setup(0);
	put16(ram + AVAIL + 2, QSIZE);
	assert_int_equal(pop(), 1);
}

static void test_malformed_indirect(void **state)
{
	uint64_t ind = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	unsigned i;

	/* indirect without the feature */
	setup(0);
	put_desc(ITABLE, 0, BUF, 4, 0, 0);
	put_desc(DESC, 0, ITABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	/* nested indirect */
	setup(ind);
	put_desc(ITABLE, 0, ITABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(ITABLE + 0x100, 0, BUF, 4, 0, 0);
	put_desc(DESC, 0, ITABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	/* INDIRECT and NEXT together */
	setup(ind);
	put_desc(ITABLE, 0, BUF, 4, 0, 0);
	put_desc(DESC, 0, ITABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	put_desc(DESC, 1, BUF, 4, 0, 0);
	offer(0);
	expect_malformed();
	/* table lengths: zero, not a multiple of 16, more than VIRTQ_MAX_SEGS entries */
	setup(ind);
	put_desc(DESC, 0, ITABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	setup(ind);
	put_desc(DESC, 0, ITABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	setup(ind);
	put_desc(DESC, 0, ITABLE, 16 * (VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	/* table outside RAM */
	setup(ind);
	put_desc(DESC, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	/* loop inside the table, next outside it */
	setup(ind);
	put_desc(ITABLE, 0, BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(ITABLE, 1, BUF, 4, VIRTQ_DESC_F_NEXT, 0);
	put_desc(DESC, 0, ITABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	setup(ind);
	put_desc(ITABLE, 0, BUF, 4, VIRTQ_DESC_F_NEXT, 2);
	put_desc(DESC, 0, ITABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	/* a buffer outside RAM inside the table */
	setup(ind);
	put_desc(ITABLE, 0, RAM_SIZE, 4, 0, 0);
	put_desc(DESC, 0, ITABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	/* more than VIRTQ_MAX_SEGS buffers in all: a direct one, then a full table */
	setup(ind);
	for (i = 0; i < VIRTQ_MAX_SEGS; i++)
		put_desc(0x4000, i, BUF, 1, i + 1 < VIRTQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	put_desc(DESC, 0, BUF, 1, VIRTQ_DESC_F_NEXT, 1);
	put_desc(DESC, 1, 0x4000, 16 * VIRTQ_MAX_SEGS, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_malformed();
	/* ... while a full table alone is fine */
	setup(ind);
	for (i = 0; i < VIRTQ_MAX_SEGS; i++)
		put_desc(0x4000, i, BUF, 1, i + 1 < VIRTQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	put_desc(DESC, 0, 0x4000, 16 * VIRTQ_MAX_SEGS, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(e.nr_out, VIRTQ_MAX_SEGS);
}

static void test_longest_chain(void **state)
{
	unsigned i;

	/* A chain through every descriptor of a full-size queue is legal; one more is a loop. */
	setup_size(0, VIRTQ_MAX_SIZE);
	for (i = 0; i < VIRTQ_MAX_SIZE; i++)
		put_desc(DESC, i, BUF + i, 1, i + 1 < VIRTQ_MAX_SIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(e.nr_out, VIRTQ_MAX_SIZE);
	put_desc(DESC, VIRTQ_MAX_SIZE - 1, BUF, 1, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_malformed();
}

static void test_enable_checks(void **state)
{
	static const uint16_t bad_sizes[] = { 0, 3, 6, 512 };
	unsigned i;

	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		virtq_reset(&q, VIRTQ_MAX_SIZE);
		q.size = bad_sizes[i];
		q.desc_gpa = DESC, q.avail_gpa = AVAIL, q.used_gpa = USED;
		assert_int_equal(virtq_enable(&q, dma, 0, why, sizeof(why)), -EINVAL);
		assert_false(q.enabled);
	}
	virtq_reset(&q, VIRTQ_MAX_SIZE);
	q.size = QSIZE;
	q.desc_gpa = DESC + 8, q.avail_gpa = AVAIL, q.used_gpa = USED;
	assert_int_equal(virtq_enable(&q, dma, 0, why, sizeof(why)), -EINVAL);
	q.desc_gpa = DESC, q.avail_gpa = AVAIL + 1;
	assert_int_equal(virtq_enable(&q, dma, 0, why, sizeof(why)), -EINVAL);
	q.avail_gpa = AVAIL, q.used_gpa = USED + 2;
	assert_int_equal(virtq_enable(&q, dma, 0, why, sizeof(why)), -EINVAL);
	q.used_gpa = RAM_SIZE - 8;		/* 6 + 8 * 8 bytes do not fit */
	assert_int_equal(virtq_enable(&q, dma, 0, why, sizeof(why)), -EINVAL);
	q.used_gpa = UINT64_MAX - 3;
	assert_int_equal(virtq_enable(&q, dma, 0, why, sizeof(why)), -EINVAL);
	assert_false(q.enabled);
	assert_int_equal(pop(), 0);		/* a disabled queue yields nothing */
	q.used_gpa = USED;
	assert_int_equal(virtq_enable(&q, dma, 0, why, sizeof(why)), 0);
	assert_true(q.enabled);
}

static void test_event_idx(void **state)
{
	uint8_t *avail_event = ram + USED + 4 + 8 * QSIZE;
	uint8_t *used_event = ram + AVAIL + 4 + 2 * QSIZE;
	unsigned i;

	setup(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	put16(avail_event, 0x5555);
	/* An empty ring asks for a notification at the next entry. */
	assert_int_equal(pop(), 0);
	assert_int_equal(get16(avail_event), 0);
	for (i = 0; i < 4; i++) {
		put_desc(DESC, i, BUF, 4, VIRTQ_DESC_F_WRITE, 0);
		offer((uint16_t)i);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 0);
	assert_int_equal(get16(avail_event), 4);

	/* The flags field means nothing with EVENT_IDX (2.7.7.2). */
	put16(ram + AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&q, 0, 4);				/* used_idx 1 */
	assert_true(virtq_should_interrupt(&q));	/* the first one always */
	/* The driver wants an interrupt once entry 2 is used (used_idx passes 2). */
	put16(used_event, 2);
	virtq_push(&q, 1, 4);				/* used_idx 2 */
	assert_false(virtq_should_interrupt(&q));
	virtq_push(&q, 2, 4);				/* used_idx 3: crossed used_event */
	assert_true(virtq_should_interrupt(&q));
	virtq_push(&q, 3, 4);				/* used_idx 4, used_event still 2 */
	assert_false(virtq_should_interrupt(&q));
	/* Nothing pushed since: no interrupt. */
	put16(used_event, 3);
	assert_false(virtq_should_interrupt(&q));
	/* Several pushes at once crossing the event. */
	put16(used_event, 5);
	virtq_push(&q, 0, 4);
	virtq_push(&q, 1, 4);
	virtq_push(&q, 2, 4);				/* used_idx 7, event 5 in [4, 7) */
	assert_true(virtq_should_interrupt(&q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_chain),
		cmocka_unit_test(test_zero_length_skipped),
		cmocka_unit_test(test_indirect_chain),
		cmocka_unit_test(test_index_wrap),
		cmocka_unit_test(test_malformed_direct),
		cmocka_unit_test(test_malformed_indirect),
		cmocka_unit_test(test_longest_chain),
		cmocka_unit_test(test_enable_checks),
		cmocka_unit_test(test_event_idx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
