/* Unit tests of src/vmm/bus.c: overlap refusal, offsets, all-ones for unclaimed reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/bus.h"

struct probe {
	uint64_t last_offset;
	unsigned last_size;
	bool last_write;
	uint64_t last_data;
	unsigned calls;
};

static void probe_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct probe *p = opaque;

	p->last_offset = offset;
	p->last_size = size;
	p->last_write = is_write;
	p->calls++;
	if (is_write)
		p->last_data = *data;
	else
		*data = 0x40 + offset;
}

static void test_overlaps_refused(void **state)
{
	struct bus bus;
	struct probe p = { 0 };

	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, probe_access, &p, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, probe_access, &p, "dup"), -EBUSY);
	assert_int_equal(bus_register(&bus, 0x3f0, 9, probe_access, &p, "tail"), -EBUSY);
	assert_int_equal(bus_register(&bus, 0x3ff, 1, probe_access, &p, "last"), -EBUSY);
	assert_int_equal(bus_register(&bus, 0x3f0, 0x20, probe_access, &p, "cover"), -EBUSY);
	assert_int_equal(bus_register(&bus, 0x3f0, 8, probe_access, &p, "below"), 0);
	assert_int_equal(bus_register(&bus, 0x400, 1, probe_access, &p, "above"), 0);
	assert_int_equal(bus_register(&bus, 0x10, 0, probe_access, &p, "empty"), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, probe_access, &p, "wrap"), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 1, probe_access, &p, "top"), 0);
	assert_int_equal(bus.count, 4);
	for (unsigned i = 1; i < bus.count; i++)
		assert_true(bus.range[i - 1].base + bus.range[i - 1].len <= bus.range[i].base);
	bus_free(&bus);
}

static void test_dispatch_offsets(void **state)
{
	struct bus bus;
	struct probe a = { 0 }, b = { 0 };
	uint64_t data;

	bus_init(&bus);
	/* Register out of order: the map sorts itself. */
	assert_int_equal(bus_register(&bus, 0xf4, 4, probe_access, &b, "b"), 0);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, probe_access, &a, "a"), 0);
	for (unsigned i = 0; i < 200; i++)	/* many ranges exercise the binary search */
		assert_int_equal(bus_register(&bus, 0x1000 + i * 16, 8, probe_access, &b, "x"), 0);

	data = 'A';
	assert_int_equal(bus_access(&bus, 0x3f8, 1, true, &data), 0);
	assert_int_equal(a.last_offset, 0);
	assert_true(a.last_write);
	assert_int_equal(a.last_data, 'A');
	assert_int_equal(bus_access(&bus, 0x3fd, 1, false, &data), 0);
	assert_int_equal(a.last_offset, 5);
	assert_int_equal(data, 0x45);
	assert_int_equal(bus_access(&bus, 0xf7, 4, true, &data), 0);
	assert_int_equal(b.last_offset, 3);
	assert_int_equal(b.last_size, 4);
	assert_int_equal(bus_access(&bus, 0x1000 + 77 * 16 + 7, 1, false, &data), 0);
	assert_int_equal(b.last_offset, 7);
	assert_null(bus_find(&bus, 0x1000 + 77 * 16 + 8));
	bus_free(&bus);
}

static void test_unclaimed_all_ones(void **state)
{
	struct bus bus;
	struct probe a = { 0 };
	uint64_t data;

	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, probe_access, &a, "a"), 0);
	data = 0;
	assert_int_equal(bus_access(&bus, 0x3f7, 1, false, &data), -ENOENT);
	assert_int_equal(data, 0xff);
	assert_int_equal(bus_access(&bus, 0x400, 2, false, &data), -ENOENT);
	assert_int_equal(data, 0xffff);
	assert_int_equal(bus_access(&bus, 0x1234, 4, false, &data), -ENOENT);
	assert_int_equal(data, 0xffffffffu);
	assert_int_equal(bus_access(&bus, 0xfee00000, 8, false, &data), -ENOENT);
	assert_true(data == UINT64_MAX);
	data = 0x55;
	assert_int_equal(bus_access(&bus, 0x1234, 1, true, &data), -ENOENT);
	assert_int_equal(a.calls, 0);
	bus_free(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlaps_refused),
		cmocka_unit_test(test_dispatch_offsets),
		cmocka_unit_test(test_unclaimed_all_ones),
	};

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
