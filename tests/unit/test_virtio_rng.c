/* Unit tests of src/devices/virtio_rng.c: requests filled with random bytes, the per-request cap, wrong directions. */
#include <pthread.h>
#include <stdlib.h>

#include "devices/virtio_rng.h"
#include "virtio_harness.h"

#define RAM_SIZE   (1u << 20)
#define QSIZE      8
#define BUF_BASE   0x10000u
#define REQUESTQ   0
#define RNG_CAP    (64 * 1024)	/* the device's per-request cap */

struct fixture {
	struct vh_ram guest;
	uint8_t *ram;			/* guest.bytes */
	struct vh_queue q;
	struct vh_irqs irqs;
	struct virtio_rng rng;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtio_dev *vd;

	assert_non_null(f);
	f->ram = vh_ram_alloc(&f->guest, RAM_SIZE);
	f->q = vh_queue_layout(REQUESTQ, QSIZE);
	virtio_rng_init(&f->rng, "virtio-rng-test", &f->guest.dma);
	vd = &f->rng.vd;
	vh_attach_counter(vd, &f->irqs);
	/* Without EVENT_IDX every batch interrupts, which the tests count. */
	vh_driver_start(vd, vd->host_features & ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX), &f->q, 1, true);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_rng_destroy(&f->rng);
	vh_ram_free(&f->guest);
	free(f);
	return 0;
}

static uint16_t add_chain(struct fixture *f, const struct vh_seg *segs, unsigned n)
{
	return vh_add_chain(f->ram, &f->q, segs, n);
}

static void notify(struct fixture *f)
{
	vh_notify(&f->rng.vd, REQUESTQ);
}

static void test_requests_filled(void **state)
{
	struct fixture *f = *state;
	uint16_t h0 = add_chain(f, (struct vh_seg[]){ { BUF_BASE, 64, true } }, 1);
	uint16_t h1 = add_chain(f, (struct vh_seg[]){ { BUF_BASE + 0x100, 32, true },
						    { BUF_BASE + 0x200, 32, true } }, 2);

	notify(f);
	assert_int_equal(vh_used_idx(f->ram, &f->q), 2);
	vh_expect_used(f->ram, &f->q, 0, h0, 64);
	vh_expect_used(f->ram, &f->q, 1, h1, 64);
	assert_int_equal(f->irqs.queue[REQUESTQ], 1);	/* one per batch */
	/* 64 random bytes are all zero with probability 2^-512; two requests never match */
	assert_false(vh_all_zero(f->ram + BUF_BASE, 64));
	assert_false(vh_all_zero(f->ram + BUF_BASE + 0x100, 32));
	assert_false(vh_all_zero(f->ram + BUF_BASE + 0x200, 32));
	assert_memory_not_equal(f->ram + BUF_BASE, f->ram + BUF_BASE + 0x100, 32);
	/* nothing outside the buffers was touched */
	assert_true(vh_all_zero(f->ram + BUF_BASE + 64, 0x100 - 64));
	assert_true(vh_all_zero(f->ram + BUF_BASE + 0x100 + 32, 0x100 - 32));
	assert_true(vh_all_zero(f->ram + BUF_BASE + 0x200 + 32, 0x100));
	assert_int_equal(f->rng.vd.status & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* A huge request gets the cap, filled from the start (5.4.6: the device may fill fewer bytes). */
static void test_request_capped(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;

	add_chain(f, (struct vh_seg[]){ { BUF_BASE, 0x8000, true },
				     { BUF_BASE + 0x8000, 0x20000, true } }, 2);
	notify(f);
	vh_used_elem(f->ram, &f->q, 0, &id, &len);
	assert_int_equal(len, RNG_CAP);
	assert_false(vh_all_zero(f->ram + BUF_BASE + RNG_CAP - 64, 64));
	assert_true(vh_all_zero(f->ram + BUF_BASE + RNG_CAP, 0x28000 - RNG_CAP));
}

static void test_readable_segment_needs_reset(void **state)
{
	struct fixture *f = *state;

	add_chain(f, (struct vh_seg[]){ { BUF_BASE, 16, false }, { BUF_BASE + 0x100, 16, true } }, 2);
	notify(f);
	assert_true(f->rng.vd.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vh_used_idx(f->ram, &f->q), 0);
	assert_true(vh_all_zero(f->ram + BUF_BASE + 0x100, 16));
	assert_int_equal(f->irqs.config, 1);

	/* A reset brings the device back. */
	pthread_mutex_lock(&f->rng.vd.lock);
	virtio_set_status(&f->rng.vd, 0);
	pthread_mutex_unlock(&f->rng.vd.lock);
	assert_int_equal(f->rng.vd.status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requests_filled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_segment_needs_reset, setup, teardown),
	};

	return cmocka_run_group_tests_name("virtio_rng", tests, NULL, NULL);
}
