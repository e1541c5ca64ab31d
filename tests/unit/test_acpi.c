/* Unit tests of src/boot/acpi.c, src/boot/aml.c and src/devices/acpi_pm.c: checksums, table contents, the RSDP scan, the PM registers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "devices/acpi_pm.h"

#define GPA ACPI_AREA_GPA

static uint8_t area[ACPI_AREA_SIZE];

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static const uint8_t *at(uint64_t gpa)
{
	assert_true(gpa >= GPA && gpa < GPA + ACPI_AREA_SIZE);
	return area + (gpa - GPA);
}

static struct acpi_config config(unsigned cpus)
{
	return (struct acpi_config){
		.cpus = cpus, .ioapic_id = (uint8_t)cpus, .pm_base = 0x600, .sci_irq = 9,
		.s5_slp_typ = 5, .reset_port = 0xcf9, .reset_value = 6,
		.pci_mmio_start = 0xc0000000u, .pci_mmio_end = 0xfebfffffu,
	};
}

static void build(unsigned cpus, struct acpi_layout *l)
{
	struct acpi_config c = config(cpus);

	memset(area, 0xcc, sizeof(area));
	assert_int_equal(acpi_build(&c, area, GPA, sizeof(area), l), 0);
}

/* A table at gpa: signature, a length within the area, checksum 0. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(gpa);

	assert_memory_equal(t, sig, 4);
	assert_true(get32(t + 4) >= 36 && gpa + get32(t + 4) <= GPA + ACPI_AREA_SIZE);
	assert_int_equal(acpi_checksum(t, get32(t + 4)), 0);
	return t;
}

/* What Linux's acpi_find_root_pointer() does: 16-byte steps through 0xE0000-0xFFFFF. */
static uint64_t scan_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = at(a);

		if (!memcmp(p, "RSD PTR ", 8) && acpi_checksum(p, 20) == 0 &&
		    (p[15] < 2 || acpi_checksum(p, get32(p + 20)) == 0))
			return a;
	}
	return 0;
}

static void test_rsdp(void **state)
{
	struct acpi_layout l;
	const uint8_t *r;

	build(1, &l);
	assert_int_equal(scan_rsdp(), l.rsdp);
	r = at(l.rsdp);
	assert_int_equal(r[15], 2);
	assert_int_equal(get32(r + 20), 36);
	assert_int_equal(get32(r + 16), l.rsdt);
	assert_int_equal(get64(r + 24), l.xsdt);
	assert_int_equal(acpi_checksum(r, 36), 0);
}

static void test_rsdt_xsdt(void **state)
{
	struct acpi_layout l;
	const uint8_t *t;

	build(2, &l);
	t = table(l.rsdt, "RSDT");
	assert_int_equal(get32(t + 4), 36 + 8);
	assert_int_equal(get32(t + 36), l.fadt);
	assert_int_equal(get32(t + 40), l.madt);
	t = table(l.xsdt, "XSDT");
	assert_int_equal(get32(t + 4), 36 + 16);
	assert_int_equal(get64(t + 36), l.fadt);
	assert_int_equal(get64(t + 44), l.madt);
}

static void test_fadt(void **state)
{
	struct acpi_layout l;
	const uint8_t *f, *facs;

	build(1, &l);
	f = table(l.fadt, "FACP");
	assert_int_equal(get32(f + 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(get32(f + 36), l.facs);
	assert_int_equal(get32(f + 40), l.dsdt);
	assert_int_equal(get64(f + 132), l.facs);
	assert_int_equal(get64(f + 140), l.dsdt);
	assert_int_equal(get16(f + 46), 9);		/* SCI_INT */
	assert_int_equal(get32(f + 48), 0);		/* SMI_CMD: always in ACPI mode */
	assert_int_equal(get32(f + 56), 0x600);
	assert_int_equal(get32(f + 64), 0x604);
	assert_int_equal(get32(f + 76), 0x608);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	assert_int_equal(get16(f + 109), 0x7);		/* LEGACY_DEVICES | 8042 | VGA not present */
	assert_true(get32(f + 112) & (1u << 10));	/* RESET_REG_SUP */
	assert_false(get32(f + 112) & (1u << 8));	/* TMR_VAL_EXT: 24-bit timer */
	assert_int_equal(f[116], 1);			/* RESET_REG in system I/O */
	assert_int_equal(get64(f + 120), 0xcf9);
	assert_int_equal(f[128], 6);
	/* X_PM1a_EVT_BLK, X_PM1a_CNT_BLK, X_PM_TMR_BLK: I/O, widths 32, 16, 32 */
	assert_int_equal(f[148], 1);
	assert_int_equal(f[149], 32);
	assert_int_equal(get64(f + 152), 0x600);
	assert_int_equal(f[173], 16);
	assert_int_equal(get64(f + 176), 0x604);
	assert_int_equal(f[209], 32);
	assert_int_equal(get64(f + 212), 0x608);
	facs = at(l.facs);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(get32(facs + 4), 64);
	assert_int_equal(l.facs % 64, 0);
}

static void check_madt(unsigned cpus)
{
	struct acpi_layout l;
	const uint8_t *m, *p, *end;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	build(cpus, &l);
	m = table(l.madt, "APIC");
	assert_int_equal(get32(m + 4), l.madt_len);
	assert_int_equal(get32(m + 36), 0xfee00000u);
	assert_int_equal(get32(m + 40), 1);		/* PCAT_COMPAT */
	end = m + get32(m + 4);
	for (p = m + 44; p < end; p += p[1]) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], 8);
			assert_int_equal(p[2], lapics);	/* processor UID */
			assert_int_equal(p[3], lapics);	/* APIC ID */
			assert_int_equal(get32(p + 4), 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			assert_int_equal(p[2], cpus);
			assert_int_equal(get32(p + 4), 0xfec00000u);
			assert_int_equal(get32(p + 8), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(p[1], 10);
			assert_int_equal(p[2], 0);
			if (p[3] == 0) {
				assert_int_equal(get32(p + 4), 2);
				assert_int_equal(get16(p + 8), 0x5);
			} else {
				assert_int_equal(p[3], 9);
				assert_int_equal(get32(p + 4), 9);
				assert_int_equal(get16(p + 8), 0xd);
			}
			isos++;
			break;
		case 4:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);
			assert_int_equal(p[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
	assert_int_equal(lapics, cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
}

static void test_madt_1cpu(void **state)
{
	check_madt(1);
}

static void test_madt_4cpus(void **state)
{
	check_madt(4);
}

static const uint8_t *find(const uint8_t *p, size_t len, const void *what, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(p + i, what, n))
			return p + i;
	return NULL;
}

static void test_dsdt(void **state)
{
	static const uint8_t s5[] = { 0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	static const uint8_t pci_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	struct acpi_layout l;
	const uint8_t *d;

	build(4, &l);
	d = table(l.dsdt, "DSDT");
	assert_int_equal(get32(d + 4), l.dsdt_len);
	assert_int_equal(d[8], 2);
	assert_memory_equal(d + 10, "RINGVM", 6);
	assert_int_equal(d[36], 0x10);			/* Scope (\_SB) first */
	assert_non_null(find(d, l.dsdt_len, s5, sizeof(s5)));
	assert_non_null(find(d, l.dsdt_len, pci_hid, sizeof(pci_hid)));
	assert_non_null(find(d, l.dsdt_len, "C003", 4));
	assert_null(find(d, l.dsdt_len, "C004", 4));
	assert_true(l.used <= ACPI_AREA_SIZE);
}

/* Walk \_SB.PCI0._PRT: 124 entries {0xSSSSFFFF, pin, 0, GSI} matching acpi_pci_intx_gsi(). */
static void test_dsdt_prt(void **state)
{
	static const uint8_t prt[] = { 0x08, '_', 'P', 'R', 'T', 0x12 };
	struct acpi_layout l;
	const uint8_t *d, *p, *end;
	unsigned slot, pin, n = 0;
	size_t len;

	build(2, &l);
	d = table(l.dsdt, "DSDT");
	p = find(d, l.dsdt_len, prt, sizeof(prt));
	assert_non_null(p);
	assert_null(find(p + 1, l.dsdt_len - (size_t)(p + 1 - d), prt, sizeof(prt)));
	p += sizeof(prt);
	/* PkgLength: two bytes (lead byte bits 7:6 = 1), counting itself */
	assert_int_equal(p[0] >> 6, 1);
	len = (size_t)(p[0] & 0xf) | (size_t)p[1] << 4;
	end = p + len;
	assert_true(end <= d + l.dsdt_len);
	p += 2;
	assert_int_equal(*p++, 124);			/* NumElements */
	for (slot = 1; slot < 32; slot++) {
		for (pin = 0; pin < 4; pin++, n++) {
			const uint8_t *e;
			unsigned gsi = acpi_pci_intx_gsi(slot, pin);

			assert_int_equal(p[0], 0x12);	/* PackageOp */
			e = p + 1 + p[1];
			assert_int_equal(p[2], 4);
			p += 3;
			assert_int_equal(*p++, 0x0c);	/* DWordPrefix */
			assert_int_equal(get32(p), slot << 16 | 0xffff);
			p += 4;
			if (pin <= 1) {
				assert_int_equal(*p++, pin);	/* ZeroOp / OneOp */
			} else {
				assert_int_equal(*p++, 0x0a);
				assert_int_equal(*p++, pin);
			}
			assert_int_equal(*p++, 0x00);	/* Source: Zero, a GSI follows */
			assert_int_equal(*p++, 0x0a);
			assert_int_equal(*p++, gsi);
			assert_ptr_equal(p, e);
			assert_true(gsi >= 16 && gsi <= 23);
		}
	}
	assert_ptr_equal(p, end);
	assert_int_equal(n, 124);
	/* neighbouring slots' INTA# land on different inputs; all eight are used */
	assert_int_not_equal(acpi_pci_intx_gsi(1, 0), acpi_pci_intx_gsi(2, 0));
	assert_int_equal(acpi_pci_intx_gsi(1, 0), 17);
	assert_int_equal(acpi_pci_intx_gsi(7, 1), 16);
	assert_int_equal(acpi_pci_intx_gsi(31, 3), 18);
}

static void test_bad_config(void **state)
{
	struct acpi_config c = config(0);

	assert_int_equal(acpi_build(&c, area, GPA, sizeof(area), NULL), -EINVAL);
	c = config(256);
	assert_int_equal(acpi_build(&c, area, GPA, sizeof(area), NULL), -EINVAL);
	c = config(1);
	assert_int_equal(acpi_build(&c, area, GPA, 200, NULL), -ENOSPC);
	assert_int_equal(acpi_build(&c, area, GPA, 700, NULL), -ENOSPC);
}

static void test_aml_encoding(void **state)
{
	uint8_t buf[512];
	struct aml a;

	assert_int_equal(aml_eisaid_value("PNP0A03"), 0x030ad041u);
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\_SB_.PCI0");
	assert_int_equal(a.len, 10);
	assert_memory_equal(buf, "\\\x2e_SB_PCI0", 10);
	/* A package of 100 bytes: two-byte PkgLength 102 = 0x66 -> 0x46 0x06. */
	aml_init(&a, buf, sizeof(buf));
	aml_package_open(&a, 1);
	for (int i = 0; i < 99; i++)
		aml_byte(&a, 0);
	aml_close(&a);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, 1 + 2 + 100);
	assert_int_equal(buf[0], 0x12);
	assert_int_equal(buf[1], 0x40 | (102 & 0xf));
	assert_int_equal(buf[2], 102 >> 4);
	aml_init(&a, buf, 4);
	aml_string(&a, "too long");
	assert_int_equal(a.err, -ENOSPC);
	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x123456789ull);
	assert_int_equal(a.len, 3 + 9);
	assert_int_equal(buf[0], 0x0b);
	assert_int_equal(buf[3], 0x0e);
}

/* The PM device, with a fake clock and an SCI probe. */
static uint64_t fake_ns;
static struct clock clk;
static struct acpi_pm pm;
static bool sci;
static unsigned poweroffs, resets;

static uint64_t fake_source(void *opaque)
{
	return fake_ns;
}

static void sci_probe(void *opaque, int n, bool level)
{
	sci = level;
}

static void on_poweroff(void *opaque)
{
	poweroffs++;
}

static void on_reset(void *opaque)
{
	resets++;
}

static struct irq_line sci_line;

static int pm_setup(void **state)
{
	fake_ns = 0;
	clock_init(&clk, fake_source, NULL, 0);
	irq_line_init(&sci_line, sci_probe, NULL, 9);
	sci = false;
	poweroffs = resets = 0;
	acpi_pm_init(&pm, &clk, &sci_line, on_poweroff, on_reset, NULL);
	return 0;
}

static uint32_t pm_in(unsigned off, unsigned size)
{
	uint64_t d = 0;

	acpi_pm_access(&pm, off, size, false, &d);
	return (uint32_t)d;
}

static void pm_out(unsigned off, unsigned size, uint32_t v)
{
	uint64_t d = v;

	acpi_pm_access(&pm, off, size, true, &d);
}

static void test_pm_timer(void **state)
{
	uint32_t t0, t1;

	t0 = pm_in(8, 4);
	fake_ns = 1000000000ull;			/* one second: 3579545 ticks */
	t1 = pm_in(8, 4);
	assert_int_equal(t1 - t0, 3579545);
	fake_ns = 10000000000ull;			/* wraps at 24 bits */
	assert_true(pm_in(8, 4) < (1u << 24));
	assert_int_equal(pm_in(8, 4), 35795450u & 0xffffff);
}

static void test_pm_s5(void **state)
{
	assert_int_equal(pm_in(4, 2) & 1, 1);		/* SCI_EN */
	pm_out(4, 2, 3u << 10 | 1u << 13);		/* S3: ignored */
	assert_int_equal(poweroffs, 0);
	pm_out(4, 2, 5u << 10);				/* S5 type without SLP_EN */
	assert_int_equal(poweroffs, 0);
	assert_int_equal((pm_in(4, 2) >> 10) & 7, 5);
	pm_out(4, 2, 5u << 10 | 1u << 13);
	assert_int_equal(poweroffs, 1);
	assert_int_equal(pm_in(4, 2) & (1u << 13), 0);	/* SLP_EN reads 0 */
}

static void test_pm_sci(void **state)
{
	/* Power button: status sets, SCI rises only when enabled, W1C clears it. */
	acpi_pm_power_button(&pm);
	assert_true(pm_in(0, 2) & ACPI_PM1_PWRBTN);
	assert_false(sci);
	pm_out(2, 2, ACPI_PM1_PWRBTN);
	assert_true(sci);
	assert_int_equal(pm_in(0, 4) >> 16, ACPI_PM1_PWRBTN);	/* 32-bit read: STS | EN << 16 */
	pm_out(0, 2, 0);				/* writing 0 clears nothing */
	assert_true(sci);
	pm_out(0, 2, ACPI_PM1_PWRBTN);
	assert_false(sci);
	assert_false(pm_in(0, 2) & ACPI_PM1_PWRBTN);

	/* Timer overflow: TMR_STS when bit 23 flips, the timer fires the SCI. */
	pm_out(2, 2, ACPI_PM1_TMR);
	assert_false(sci);
	fake_ns = clock_ticks_to_ns(1u << 23, ACPI_PM_TIMER_HZ);
	assert_true(clock_next_deadline(&clk) <= fake_ns);
	clock_run_due(&clk);
	assert_true(sci);
	assert_true(pm_in(0, 2) & ACPI_PM1_TMR);
	pm_out(0, 2, ACPI_PM1_TMR);
	assert_false(sci);
	assert_int_equal(clock_next_deadline(&clk), clock_ticks_to_ns(2u << 23, ACPI_PM_TIMER_HZ));
	acpi_pm_reset(&pm);
	assert_int_equal(pm_in(2, 2), 0);
	assert_int_equal(clock_next_deadline(&clk), CLOCK_NEVER);
}

static void test_reset_port(void **state)
{
	uint64_t d = 0x02;

	acpi_reset_access(&pm, 0, 1, true, &d);
	assert_int_equal(resets, 0);
	d = ACPI_RESET_VALUE;
	acpi_reset_access(&pm, 0, 1, true, &d);
	assert_int_equal(resets, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp),
		cmocka_unit_test(test_rsdt_xsdt),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt_1cpu),
		cmocka_unit_test(test_madt_4cpus),
		cmocka_unit_test(test_dsdt),
		cmocka_unit_test(test_dsdt_prt),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_aml_encoding),
		cmocka_unit_test_setup(test_pm_timer, pm_setup),
		cmocka_unit_test_setup(test_pm_s5, pm_setup),
		cmocka_unit_test_setup(test_pm_sci, pm_setup),
		cmocka_unit_test_setup(test_reset_port, pm_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
