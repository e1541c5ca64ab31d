/* Unit tests of src/devices/virtio_console.c: transmit to a pipe, host input into receive buffers, emergency write, wrong directions. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_console.h"
#include "virtio_harness.h"

#define RAM_SIZE    (1u << 20)
#define QSIZE       8
#define BUF_BASE    0x10000u

#define RXQ 0
#define TXQ 1

struct fixture {
	struct vh_ram guest;
	uint8_t *ram;			/* guest.bytes */
	struct vh_queue q[2];
	struct vh_irqs irqs;
	struct virtio_console con;
	int pipe[2];
};

/* Without EVENT_IDX every batch interrupts, which the tests count. */
static void bring_up(struct fixture *f)
{
	struct virtio_dev *vd = &f->con.vd;

	vh_driver_start(vd, vd->host_features & ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX), f->q, 2, true);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = vh_ram_alloc(&f->guest, RAM_SIZE);
	f->q[RXQ] = vh_queue_layout(RXQ, QSIZE);
	f->q[TXQ] = vh_queue_layout(TXQ, QSIZE);
	assert_int_equal(pipe(f->pipe), 0);
	virtio_console_init(&f->con, "virtio-console-test", f->pipe[1], &f->guest.dma);
	vh_attach_counter(&f->con.vd, &f->irqs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_console_destroy(&f->con);
	if (f->pipe[0] >= 0)
		close(f->pipe[0]);
	if (f->pipe[1] >= 0)
		close(f->pipe[1]);
	vh_ram_free(&f->guest);
	free(f);
	return 0;
}

static uint16_t add_chain(struct fixture *f, unsigned q, const struct vh_seg *segs, unsigned n)
{
	return vh_add_chain(f->ram, &f->q[q], segs, n);
}

static uint16_t used_idx(struct fixture *f, unsigned q)
{
	return vh_used_idx(f->ram, &f->q[q]);
}

static void expect_used(struct fixture *f, unsigned q, unsigned i, uint32_t id, uint32_t len)
{
	vh_expect_used(f->ram, &f->q[q], i, id, len);
}

static void notify(struct fixture *f, unsigned q)
{
	vh_notify(&f->con.vd, q);
}

static bool needs_reset(struct fixture *f)
{
	return vh_needs_reset(&f->con.vd);
}

static void test_tx_reaches_pipe(void **state)
{
	struct fixture *f = *state;
	char got[64] = { 0 };

	bring_up(f);
	memcpy(f->ram + BUF_BASE, "hello, ", 7);
	memcpy(f->ram + BUF_BASE + 0x100, "world", 5);
	memcpy(f->ram + BUF_BASE + 0x200, "!\n", 2);
	uint16_t h0 = add_chain(f, TXQ, (struct vh_seg[]){ { BUF_BASE, 7, false },
							 { BUF_BASE + 0x100, 5, false } }, 2);
	uint16_t h1 = add_chain(f, TXQ, (struct vh_seg[]){ { BUF_BASE + 0x200, 2, false } }, 1);

	notify(f, TXQ);
	assert_int_equal(read(f->pipe[0], got, sizeof(got)), 14);
	assert_string_equal(got, "hello, world!\n");
	assert_int_equal(used_idx(f, TXQ), 2);
	expect_used(f, TXQ, 0, h0, 0);
	expect_used(f, TXQ, 1, h1, 0);
	assert_int_equal(f->irqs.queue[TXQ], 1);	/* one per batch */
	assert_false(needs_reset(f));
}

struct drain {
	int fd;
	size_t want, got;
	uint8_t *buf;
};

static void *drain_pipe(void *arg)
{
	struct drain *d = arg;

	while (d->got < d->want) {
		ssize_t n = read(d->fd, d->buf + d->got, d->want - d->got);

		if (n <= 0)
			break;
		d->got += (size_t)n;
		usleep(100);	/* a slow reader: the writer meets a full pipe */
	}
	return NULL;
}

/* More than a pipe holds, through a non-blocking write end: short writes and EAGAIN lose nothing. */
static void test_tx_full_nonblocking_pipe(void **state)
{
	struct fixture *f = *state;
	const size_t total = 3 * 0x10000 + 123;
	struct drain d = { .fd = f->pipe[0], .want = total, .buf = malloc(total) };
	pthread_t reader;

	assert_non_null(d.buf);
	assert_int_equal(fcntl(f->pipe[1], F_SETFL, O_NONBLOCK), 0);
	bring_up(f);
	for (size_t i = 0; i < total; i++)
		f->ram[BUF_BASE + i] = (uint8_t)(i * 7 + i / 251);
	add_chain(f, TXQ, (struct vh_seg[]){ { BUF_BASE, 0x10000, false },
					  { BUF_BASE + 0x10000, 2 * 0x10000 + 123, false } }, 2);
	assert_int_equal(pthread_create(&reader, NULL, drain_pipe, &d), 0);
	notify(f, TXQ);
	pthread_join(reader, NULL);
	assert_int_equal(d.got, total);
	assert_memory_equal(d.buf, f->ram + BUF_BASE, total);
	assert_int_equal(used_idx(f, TXQ), 1);
	free(d.buf);
}

/* The reader went away: the bytes are dropped, the chain still completes. */
static void test_tx_broken_pipe(void **state)
{
	struct fixture *f = *state;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	bring_up(f);
	close(f->pipe[0]);
	f->pipe[0] = -1;
	memcpy(f->ram + BUF_BASE, "lost", 4);
	add_chain(f, TXQ, (struct vh_seg[]){ { BUF_BASE, 4, false } }, 1);
	add_chain(f, TXQ, (struct vh_seg[]){ { BUF_BASE, 4, false } }, 1);
	notify(f, TXQ);
	assert_int_equal(used_idx(f, TXQ), 2);
	assert_false(needs_reset(f));
	signal(SIGPIPE, old);
}

static void test_tx_writable_segment_needs_reset(void **state)
{
	struct fixture *f = *state;
	char c;

	bring_up(f);
	add_chain(f, TXQ, (struct vh_seg[]){ { BUF_BASE, 4, false }, { BUF_BASE + 0x100, 4, true } }, 2);
	notify(f, TXQ);
	assert_true(needs_reset(f));
	assert_int_equal(used_idx(f, TXQ), 0);
	assert_true(f->irqs.config >= 1);
	/* nothing was written */
	assert_int_equal(fcntl(f->pipe[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(f->pipe[0], &c, 1), -1);
	/* and no queue runs until a reset */
	add_chain(f, TXQ, (struct vh_seg[]){ { BUF_BASE, 4, false } }, 1);
	notify(f, TXQ);
	assert_int_equal(used_idx(f, TXQ), 0);
	assert_int_equal(virtio_console_receive(&f->con, "x", 1), 0);
}

static void test_rx_fills_buffers(void **state)
{
	struct fixture *f = *state;

	bring_up(f);
	uint16_t h0 = add_chain(f, RXQ, (struct vh_seg[]){ { BUF_BASE, 3, true },
							 { BUF_BASE + 0x100, 2, true } }, 2);
	uint16_t h1 = add_chain(f, RXQ, (struct vh_seg[]){ { BUF_BASE + 0x200, 16, true } }, 1);

	assert_int_equal(virtio_console_receive(&f->con, "abcdefgh", 8), 8);
	assert_int_equal(used_idx(f, RXQ), 2);
	expect_used(f, RXQ, 0, h0, 5);
	assert_memory_equal(f->ram + BUF_BASE, "abc", 3);
	assert_memory_equal(f->ram + BUF_BASE + 0x100, "de", 2);
	expect_used(f, RXQ, 1, h1, 3);
	assert_memory_equal(f->ram + BUF_BASE + 0x200, "fgh", 3);
	assert_int_equal(f->irqs.queue[RXQ], 1);

	/* The ring is empty now: nothing more is taken. */
	assert_int_equal(virtio_console_receive(&f->con, "ij", 2), 0);
	assert_int_equal(used_idx(f, RXQ), 2);
	assert_int_equal(f->irqs.queue[RXQ], 1);
}

/* More input than buffers: the rest stays with the caller; an empty input takes no buffer. */
static void test_rx_partial_and_empty(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;

	bring_up(f);
	add_chain(f, RXQ, (struct vh_seg[]){ { BUF_BASE, 4, true } }, 1);
	assert_int_equal(virtio_console_receive(&f->con, "", 0), 0);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(virtio_console_receive(&f->con, "0123456789", 10), 4);
	vh_used_elem(f->ram, &f->q[RXQ], 0, &id, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(f->ram + BUF_BASE, "0123", 4);
	add_chain(f, RXQ, (struct vh_seg[]){ { BUF_BASE + 0x100, 64, true } }, 1);
	assert_int_equal(virtio_console_receive(&f->con, "456789", 6), 6);
	vh_used_elem(f->ram, &f->q[RXQ], 1, &id, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(f->ram + BUF_BASE + 0x100, "456789", 6);
}

static void test_rx_not_ready(void **state)
{
	struct fixture *f = *state;

	/* before DRIVER_OK */
	assert_int_equal(virtio_console_receive(&f->con, "abc", 3), 0);
	bring_up(f);
	/* no buffers posted */
	assert_int_equal(virtio_console_receive(&f->con, "abc", 3), 0);
	assert_int_equal(f->irqs.queue[RXQ], 0);
	assert_false(needs_reset(f));
}

static void test_rx_readable_segment_needs_reset(void **state)
{
	struct fixture *f = *state;

	bring_up(f);
	add_chain(f, RXQ, (struct vh_seg[]){ { BUF_BASE, 4, false } }, 1);
	assert_int_equal(virtio_console_receive(&f->con, "abc", 3), 0);
	assert_true(needs_reset(f));
	assert_int_equal(used_idx(f, RXQ), 0);
}

static uint64_t config_read(struct fixture *f, unsigned off, unsigned size)
{
	return vh_config_read(&f->con.vd, off, size);
}

static void test_config_and_emergency_write(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *vd = &f->con.vd;
	char got[4] = { 0 };

	assert_true(vd->host_features & VIRTIO_BIT(2));		/* EMERG_WRITE */
	assert_false(vd->host_features & VIRTIO_BIT(0));	/* no SIZE */
	assert_false(vd->host_features & VIRTIO_BIT(1));	/* no MULTIPORT */
	assert_int_equal(vd->nr_queues, 2);
	assert_int_equal(config_read(f, 0, 4), 0);		/* cols, rows */
	assert_int_equal(config_read(f, 4, 4), 1);		/* max_nr_ports */
	assert_int_equal(config_read(f, 8, 4), 0);		/* emerg_wr */
	assert_int_equal(config_read(f, 64, 4), 0);		/* past the end */

	pthread_mutex_lock(&vd->lock);
	vd->ops->config_write(vd, 8, 4, 'O');
	vd->ops->config_write(vd, 8, 1, 'K');
	vd->ops->config_write(vd, 4, 4, 'X');			/* read-only field: ignored */
	vd->ops->config_write(vd, 100, 4, 'Y');			/* out of range: ignored */
	pthread_mutex_unlock(&vd->lock);
	assert_int_equal(read(f->pipe[0], got, sizeof(got)), 2);
	assert_string_equal(got, "OK");
	assert_int_equal(config_read(f, 4, 4), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tx_reaches_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_full_nonblocking_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_broken_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_writable_segment_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fills_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_partial_and_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_not_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_readable_segment_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_and_emergency_write, setup, teardown),
	};

	return cmocka_run_group_tests_name("virtio_console", tests, NULL, NULL);
}
