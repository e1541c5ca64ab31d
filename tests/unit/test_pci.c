/* Unit tests of src/devices/pci.c: mechanism #1 through the port callbacks, empty slots, BAR sizing, capabilities, reset, BAR lookup and assignment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/pci.h"

/* What a guest does: OUT dword to 0xCF8, then IN/OUT of `size` at 0xCFC + (offset & 3). */
static uint32_t cfg_read(struct pci_host *h, unsigned slot, unsigned fn, unsigned off, unsigned size)
{
	uint64_t v = 0x80000000u | slot << 11 | fn << 8 | (off & 0xfc);

	pci_host_addr_access(h, 0, 4, true, &v);
	v = 0;
	pci_host_data_access(h, off & 3, size, false, &v);
	return (uint32_t)v;
}

static void cfg_write(struct pci_host *h, unsigned slot, unsigned fn, unsigned off, unsigned size,
		      uint32_t value)
{
	uint64_t v = 0x80000000u | slot << 11 | fn << 8 | (off & 0xfc);

	pci_host_addr_access(h, 0, 4, true, &v);
	v = value;
	pci_host_data_access(h, off & 3, size, true, &v);
}

static void test_host_bridge(void **state)
{
	struct pci_host h;
	uint64_t v;

	pci_host_init(&h);
	assert_int_equal(cfg_read(&h, 0, 0, 0, 4), 0x12378086);
	assert_int_equal(cfg_read(&h, 0, 0, 0, 2), 0x8086);
	assert_int_equal(cfg_read(&h, 0, 0, 2, 2), 0x1237);
	assert_int_equal(cfg_read(&h, 0, 0, 3, 1), 0x12);
	/* class 06 00 00 (host bridge), revision 2 */
	assert_int_equal(cfg_read(&h, 0, 0, 8, 4), 0x06000002);
	assert_int_equal(cfg_read(&h, 0, 0, 0x0b, 1), 0x06);
	assert_int_equal(cfg_read(&h, 0, 0, PCI_HEADER_TYPE, 1), 0);
	/* CONFIG_ADDRESS reads back what Linux's pci_check_type1() wrote */
	v = 0x80000000u;
	pci_host_addr_access(&h, 0, 4, true, &v);
	v = 0;
	pci_host_addr_access(&h, 0, 4, false, &v);
	assert_int_equal(v, 0x80000000u);
	/* read-only IDs */
	cfg_write(&h, 0, 0, 0, 4, 0);
	assert_int_equal(cfg_read(&h, 0, 0, 0, 4), 0x12378086);
}

static void test_empty_and_disabled(void **state)
{
	struct pci_host h;
	uint64_t v;

	pci_host_init(&h);
	assert_int_equal(cfg_read(&h, 1, 0, 0, 4), 0xffffffffu);
	assert_int_equal(cfg_read(&h, 31, 7, 0, 2), 0xffff);
	assert_int_equal(cfg_read(&h, 0, 1, 0, 4), 0xffffffffu);	/* function 1 of the bridge */
	/* bus 1 does not exist */
	v = 0x80010000u;
	pci_host_addr_access(&h, 0, 4, true, &v);
	pci_host_data_access(&h, 0, 4, false, &v);
	assert_int_equal(v, 0xffffffffu);
	/* enable bit clear: no config cycle */
	v = 0;
	pci_host_addr_access(&h, 0, 4, true, &v);
	pci_host_data_access(&h, 0, 4, false, &v);
	assert_int_equal(v, 0xffffffffu);
	/* byte access to 0xCF8 is not CONFIG_ADDRESS */
	v = 0x80000000u;
	pci_host_addr_access(&h, 0, 4, true, &v);
	v = 0x12;
	pci_host_addr_access(&h, 0, 1, true, &v);
	pci_host_addr_access(&h, 0, 4, false, &v);
	assert_int_equal(v, 0x80000000u);
}

static void test_bars(void **state)
{
	struct pci_host h;
	struct pci_device d;

	pci_host_init(&h);
	pci_device_init(&d, "test", 0x1af4, 0x1000, 0x020000, 0);
	assert_int_equal(pci_bar_init(&d, 0, 0x20, PCI_BAR_IO), 0);
	assert_int_equal(pci_bar_init(&d, 1, 0x1000, 0), 0);
	assert_int_equal(pci_bar_init(&d, 2, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci_bar_init(&d, 5, 0x3000, 0), -EINVAL);	/* not a power of two */
	assert_int_equal(pci_bar_init(&d, 5, 2, PCI_BAR_IO), -EINVAL);
	assert_int_equal(pci_bar_init(&d, 5, 0x1000, PCI_BAR_MEM64), -EINVAL);	/* no BAR 6 */
	pci_set_interrupt_pin(&d, 1);
	assert_int_equal(pci_register(&h, &d, -1), 1);
	assert_int_equal(pci_register(&h, &d, 1), -EBUSY);
	assert_int_equal(cfg_read(&h, 1, 0, 0, 4), 0x10001af4);

	/* sizing: write all ones, read the mask with the type bits */
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0, 4), 0x1);
	cfg_write(&h, 1, 0, PCI_BAR0, 4, 0xffffffffu);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0, 4), 0xffffffe1u);
	cfg_write(&h, 1, 0, PCI_BAR0 + 4, 4, 0xffffffffu);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0 + 4, 4), 0xfffff000u);
	cfg_write(&h, 1, 0, PCI_BAR0 + 8, 4, 0xffffffffu);
	cfg_write(&h, 1, 0, PCI_BAR0 + 12, 4, 0xffffffffu);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0 + 8, 4), 0xffffc00cu);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0 + 12, 4), 0xffffffffu);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0 + 16, 4), 0);	/* unimplemented BAR */
	cfg_write(&h, 1, 0, PCI_BAR0 + 16, 4, 0xffffffffu);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0 + 16, 4), 0);

	/* program addresses; decoding follows COMMAND */
	cfg_write(&h, 1, 0, PCI_BAR0, 4, 0xc040);
	cfg_write(&h, 1, 0, PCI_BAR0 + 4, 4, 0xfebf1000u);
	cfg_write(&h, 1, 0, PCI_BAR0 + 8, 4, 0x00004000u);
	cfg_write(&h, 1, 0, PCI_BAR0 + 12, 4, 0x1);
	assert_true(pci_bar_address(&d, 0) == PCI_BAR_UNMAPPED);
	cfg_write(&h, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | 0x8000);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(pci_bar_address(&d, 0), 0xc040);
	assert_int_equal(pci_bar_address(&d, 1), 0xfebf1000u);
	assert_int_equal(pci_bar_address(&d, 2), 0x100004000ull);
	assert_true(pci_bar_address(&d, 3) == PCI_BAR_UNMAPPED);

	/* interrupt pin read-only, line writable */
	assert_int_equal(cfg_read(&h, 1, 0, PCI_INTERRUPT_PIN, 1), 1);
	cfg_write(&h, 1, 0, PCI_INTERRUPT_LINE, 2, 0x040b);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_INTERRUPT_LINE, 2), 0x010b);

	/* reset: back to the registered contents */
	pci_host_reset(&h);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0, 4), 0x1);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_COMMAND, 2), 0);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_INTERRUPT_LINE, 1), 0);
}

static void test_capabilities(void **state)
{
	struct pci_host h;
	struct pci_device d;
	int a, b;

	pci_host_init(&h);
	pci_device_init(&d, "caps", 0x1af4, 0x1041, 0x018000, 1);
	a = pci_add_capability(&d, 0x09, 16);	/* vendor-specific */
	b = pci_add_capability(&d, 0x11, 12);	/* MSI-X */
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x50);
	assert_int_equal(pci_register(&h, &d, 3), 3);
	assert_true(cfg_read(&h, 3, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(&h, 3, 0, PCI_CAPABILITY_LIST, 1), 0x50);
	assert_int_equal(cfg_read(&h, 3, 0, 0x50, 2), 0x4011);	/* id 0x11, next 0x40 */
	assert_int_equal(cfg_read(&h, 3, 0, 0x40, 2), 0x0009);	/* id 9, end of list */
	assert_int_equal(pci_add_capability(&d, 0x05, 200), -ENOSPC);
}

/* A device with the virtio transport's BAR shapes: 4 KiB 32-bit at BAR1, 16 KiB 64-bit at BAR4. */
static void virtio_like(struct pci_device *d, const char *name)
{
	pci_device_init(d, name, 0x1af4, 0x1042, 0x018000, 1);
	assert_int_equal(pci_bar_init(d, 1, 0x1000, 0), 0);
	assert_int_equal(pci_bar_init(d, 4, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
}

static void test_find_mem_bar(void **state)
{
	struct pci_host h;
	struct pci_device d, *found = NULL;
	unsigned bar = 99;
	uint64_t off = 0;

	pci_host_init(&h);
	virtio_like(&d, "find");
	assert_int_equal(pci_bar_init(&d, 0, 0x20, PCI_BAR_IO), 0);
	assert_int_equal(pci_register(&h, &d, 2), 2);
	cfg_write(&h, 2, 0, PCI_BAR0, 4, 0xc000);
	cfg_write(&h, 2, 0, PCI_BAR0 + 4, 4, 0xc0001000u);
	cfg_write(&h, 2, 0, PCI_BAR0 + 16, 4, 0xc0004000u);
	cfg_write(&h, 2, 0, PCI_BAR0 + 20, 4, 0);
	/* memory space off: nothing decodes */
	assert_false(pci_find_mem_bar(&h, 0xc0001000u, &found, &bar, &off));
	cfg_write(&h, 2, 0, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_true(pci_find_mem_bar(&h, 0xc0001000u, &found, &bar, &off));
	assert_ptr_equal(found, &d);
	assert_int_equal(bar, 1);
	assert_int_equal(off, 0);
	assert_true(pci_find_mem_bar(&h, 0xc0001fffu, &found, &bar, &off));
	assert_int_equal(bar, 1);
	assert_int_equal(off, 0xfff);
	assert_false(pci_find_mem_bar(&h, 0xc0002000u, &found, &bar, &off));
	assert_true(pci_find_mem_bar(&h, 0xc0007ffcu, &found, &bar, &off));
	assert_int_equal(bar, 4);
	assert_int_equal(off, 0x3ffc);
	assert_false(pci_find_mem_bar(&h, 0xc0008000u, &found, &bar, &off));
	/* an I/O BAR is not memory, even at a matching number */
	assert_false(pci_find_mem_bar(&h, 0xc000, &found, &bar, &off));
	/* the upper half of a 64-bit BAR counts */
	cfg_write(&h, 2, 0, PCI_BAR0 + 20, 4, 1);
	assert_false(pci_find_mem_bar(&h, 0xc0004000u, &found, &bar, &off));
	assert_true(pci_find_mem_bar(&h, 0x1c0004010ull, &found, &bar, &off));
	assert_int_equal(bar, 4);
	assert_int_equal(off, 0x10);
	/* a 64-bit BAR at the very top does not wrap around to low addresses */
	cfg_write(&h, 2, 0, PCI_BAR0 + 16, 4, 0xffffc000u);
	cfg_write(&h, 2, 0, PCI_BAR0 + 20, 4, 0xffffffffu);
	assert_true(pci_find_mem_bar(&h, UINT64_MAX, &found, &bar, &off));
	assert_int_equal(off, 0x3fff);
	assert_false(pci_find_mem_bar(&h, 0x10, &found, &bar, &off));
	/* memory space off again */
	cfg_write(&h, 2, 0, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_false(pci_find_mem_bar(&h, 0xc0001000u, &found, &bar, &off));
}

static unsigned written_count;

static void count_written(struct pci_device *d, unsigned offset, unsigned size)
{
	written_count++;
}

static void test_assign_bars(void **state)
{
	struct pci_host h;
	struct pci_device a, b, c, *found;
	uint64_t seen[3][PCI_NR_BARS], off;
	unsigned bar;

	pci_host_init(&h);
	virtio_like(&a, "a");
	virtio_like(&b, "b");
	pci_device_init(&c, "c", 0x1234, 0x1111, 0xff0000, 0);
	assert_int_equal(pci_bar_init(&c, 0, 0x100000, 0), 0);	/* 1 MiB: the largest, goes first */
	assert_int_equal(pci_bar_init(&c, 2, 0x40, PCI_BAR_IO), 0);
	a.config_written = count_written;
	assert_int_equal(pci_register(&h, &a, 1), 1);
	assert_int_equal(pci_register(&h, &b, 2), 2);
	assert_int_equal(pci_register(&h, &c, 3), 3);
	written_count = 0;
	assert_int_equal(pci_assign_bars(&h, 0xc0000000u, 0xfec00000u), 0);
	assert_true(written_count >= 3);		/* BAR1, BAR4 (two halves), COMMAND */

	/* largest first, naturally aligned, packed: 1M, 16K, 16K, 4K, 4K */
	assert_int_equal(pci_bar_address(&c, 0), 0xc0000000u);
	assert_int_equal(pci_bar_address(&a, 4), 0xc0100000u);
	assert_int_equal(pci_bar_address(&b, 4), 0xc0104000u);
	assert_int_equal(pci_bar_address(&a, 1), 0xc0108000u);
	assert_int_equal(pci_bar_address(&b, 1), 0xc0109000u);
	/* the 64-bit BAR's upper half is 0; the I/O BAR is left alone */
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0 + 20, 4), 0);
	assert_int_equal(cfg_read(&h, 1, 0, PCI_BAR0 + 16, 4), 0xc010000cu);
	assert_int_equal(cfg_read(&h, 3, 0, PCI_BAR0 + 8, 4), 0x1);
	/* memory space and bus mastering on; the bridge untouched */
	assert_int_equal(cfg_read(&h, 1, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(cfg_read(&h, 3, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(cfg_read(&h, 0, 0, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_true(pci_find_mem_bar(&h, 0xc0109004u, &found, &bar, &off));
	assert_ptr_equal(found, &b);
	assert_int_equal(bar, 1);
	assert_int_equal(off, 4);
	for (unsigned n = 0; n < PCI_NR_BARS; n++) {
		seen[0][n] = pci_bar_address(&a, n);
		seen[1][n] = pci_bar_address(&b, n);
		seen[2][n] = pci_bar_address(&c, n);
	}

	/* assigned BARs stay; a second call changes nothing */
	assert_int_equal(pci_assign_bars(&h, 0xc0000000u, 0xfec00000u), 0);
	assert_int_equal(pci_bar_address(&a, 4), 0xc0100000u);
	/* after a reset (BARs cleared) the same assignment comes back */
	pci_host_reset(&h);
	assert_true(pci_bar_address(&a, 1) == PCI_BAR_UNMAPPED);
	assert_int_equal(pci_assign_bars(&h, 0xc0000000u, 0xfec00000u), 0);
	for (unsigned n = 0; n < PCI_NR_BARS; n++) {
		assert_int_equal(pci_bar_address(&a, n), seen[0][n]);
		assert_int_equal(pci_bar_address(&b, n), seen[1][n]);
		assert_int_equal(pci_bar_address(&c, n), seen[2][n]);
	}

	/* a BAR left in place is stepped around */
	pci_host_reset(&h);
	cfg_write(&h, 2, 0, PCI_BAR0 + 4, 4, 0xc0000000u);	/* b's 4K BAR where c's 1M would go */
	assert_int_equal(pci_assign_bars(&h, 0xc0000000u, 0xfec00000u), 0);
	assert_int_equal(pci_bar_address(&c, 0), 0xc0100000u);
	assert_int_equal(pci_bar_address(&b, 1), 0xc0000000u);
	assert_int_equal(pci_bar_address(&a, 4), 0xc0200000u);
	assert_int_equal(pci_bar_address(&a, 1), 0xc0208000u);	/* no backfilling below the cursor */

	/* no room: -ENOSPC */
	pci_host_reset(&h);
	assert_int_equal(pci_assign_bars(&h, 0xc0000000u, 0xc0100000u), -ENOSPC);
	pci_host_reset(&h);
	assert_int_equal(pci_assign_bars(&h, 0xfff00000u, 0x100000000ull), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_bridge),
		cmocka_unit_test(test_empty_and_disabled),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_find_mem_bar),
		cmocka_unit_test(test_assign_bars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
