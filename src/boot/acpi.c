/* ACPI table builder: RSDP, RSDT/XSDT, FADT (rev 6), FACS, MADT, DSDT (AML), checksummed, in one guest area. */
#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "common/le.h"

#define HDR_LEN        36		/* System Description Table Header (5.2.6) */
#define RSDP_LEN       36		/* ACPI 2.0+ RSDP (5.2.5.3) */
#define RSDP_V1_LEN    20		/* the part the first checksum covers */
#define FACS_LEN       64
#define FADT_LEN       276		/* revision 6 (Table 5.9) */
#define FADT_REVISION  6
#define FADT_MINOR     4		/* ACPI 6.4 */
#define MADT_REVISION  5
#define DSDT_REVISION  2		/* 2: AML integers are 64 bits */
#define DSDT_MAX       0x4000

#define OEM_ID         "RINGVM"
#define OEM_TABLE_ID   "RINGVM  "
#define CREATOR_ID     "RVM "

/* FADT fixed-feature flags (Table 5.10) and IA-PC boot architecture flags (Table 5.11). */
#define FADT_F_WBINVD        (1u << 0)
#define FADT_F_PROC_C1       (1u << 2)
#define FADT_F_SLP_BUTTON    (1u << 5)	/* no fixed-feature sleep button */
#define FADT_F_FIX_RTC       (1u << 6)	/* no RTC wake status in PM1 */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define BOOT_LEGACY_DEVICES  (1u << 0)
#define BOOT_8042            (1u << 1)
#define BOOT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SYSTEM_IO  1
#define GAS_ACCESS_BYTE 1

/* MADT (5.2.12). */
#define MADT_PCAT_COMPAT     1u
#define MADT_LAPIC           0
#define MADT_IOAPIC          1
#define MADT_ISO             2
#define MADT_LAPIC_NMI       4
#define MADT_LAPIC_ENABLED   1u
#define MPS_EDGE_HIGH        0x0005	/* polarity 01 active high, trigger 01 edge (Table 5.26) */
#define MPS_LEVEL_HIGH       0x000d	/* polarity 01 active high, trigger 11 level */

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

static void acpi_fix_checksum(uint8_t *p, size_t len, uint8_t *field)
{
	*field = 0;
	*field = (uint8_t)-acpi_checksum(p, len);
}

static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put32(t + 24, 1);			/* OEM revision */
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, 1);			/* creator revision */
}

static void acpi_finish(uint8_t *t)
{
	uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 |
		       (uint32_t)t[7] << 24;

	acpi_fix_checksum(t, len, &t[9]);
}

static void acpi_gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bits;
	p[2] = 0;			/* bit offset */
	p[3] = access;			/* 0: as the register's width allows */
	put64(p + 4, port);
}

static void acpi_build_fadt(const struct acpi_config *cfg, uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	uint16_t pm1_evt = cfg->pm_base, pm1_cnt = cfg->pm_base + 4, pm_tmr = cfg->pm_base + 8;

	acpi_header(t, "FACP", FADT_LEN, FADT_REVISION);
	put32(t + 36, (uint32_t)facs);		/* FIRMWARE_CTRL */
	put32(t + 40, (uint32_t)dsdt);
	t[45] = 0;				/* Preferred_PM_Profile: unspecified */
	put16(t + 46, cfg->sci_irq);		/* SCI_INT */
	put32(t + 48, 0);			/* SMI_CMD 0: ACPI mode is always on, no transition */
	put32(t + 56, pm1_evt);			/* PM1a_EVT_BLK */
	put32(t + 64, pm1_cnt);			/* PM1a_CNT_BLK */
	put32(t + 76, pm_tmr);			/* PM_TMR_BLK */
	t[88] = 4;				/* PM1_EVT_LEN: PM1_STS + PM1_EN */
	t[89] = 2;				/* PM1_CNT_LEN */
	t[91] = 4;				/* PM_TMR_LEN */
	put16(t + 96, 101);			/* P_LVL2_LAT > 100: no C2 */
	put16(t + 98, 1001);			/* P_LVL3_LAT > 1000: no C3 */
	t[108] = 0x32;				/* CENTURY: the RTC's CMOS century byte */
	put16(t + 109, BOOT_LEGACY_DEVICES | BOOT_8042 | BOOT_VGA_NOT_PRESENT);
	put32(t + 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC |
		       FADT_F_RESET_REG_SUP);
	acpi_gas_io(t + 116, cfg->reset_port, 8, GAS_ACCESS_BYTE);	/* RESET_REG */
	t[128] = cfg->reset_value;
	t[131] = FADT_MINOR;
	put64(t + 132, facs);			/* X_FIRMWARE_CTRL */
	put64(t + 140, dsdt);			/* X_DSDT */
	acpi_gas_io(t + 148, pm1_evt, 32, 0);	/* X_PM1a_EVT_BLK */
	acpi_gas_io(t + 172, pm1_cnt, 16, 0);	/* X_PM1a_CNT_BLK */
	acpi_gas_io(t + 208, pm_tmr, 32, 0);	/* X_PM_TMR_BLK */
	memcpy(t + 268, "RINGVM  ", 8);		/* Hypervisor Vendor Identity */
	acpi_finish(t);
}

static void acpi_build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put32(t + 4, FACS_LEN);
	t[32] = 2;				/* version */
}

static size_t acpi_madt_len(const struct acpi_config *cfg)
{
	/* header + LAPIC address + flags, LAPICs, IOAPIC, two overrides, LINT1 NMI */
	return HDR_LEN + 8 + 8 * (size_t)cfg->cpus + 12 + 2 * 10 + 6;
}

static uint8_t *madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	p[0] = MADT_ISO;
	p[1] = 10;
	p[2] = 0;				/* bus: ISA */
	p[3] = irq;
	put32(p + 4, gsi);
	put16(p + 8, flags);
	return p + 10;
}

static void acpi_build_madt(const struct acpi_config *cfg, uint8_t *t)
{
	uint8_t *p = t + HDR_LEN + 8;

	acpi_header(t, "APIC", (uint32_t)acpi_madt_len(cfg), MADT_REVISION);
	put32(t + 36, ACPI_LAPIC_ADDR);
	put32(t + 40, MADT_PCAT_COMPAT);	/* dual 8259s present: mask them for APIC mode */
	for (unsigned i = 0; i < cfg->cpus; i++, p += 8) {
		p[0] = MADT_LAPIC;
		p[1] = 8;
		p[2] = (uint8_t)i;		/* ACPI processor UID, as the DSDT's _UID */
		p[3] = (uint8_t)i;		/* APIC ID */
		put32(p + 4, MADT_LAPIC_ENABLED);
	}
	p[0] = MADT_IOAPIC;
	p[1] = 12;
	p[2] = cfg->ioapic_id;
	p[3] = 0;
	put32(p + 4, ACPI_IOAPIC_ADDR);
	put32(p + 8, 0);			/* GSI base */
	p += 12;
	/* The PIT's IRQ 0 is wired to IOAPIC pin 2 on a PC (the 8259 cascade takes pin 0). */
	p = madt_iso(p, 0, 2, MPS_EDGE_HIGH);
	/* The SCI is level-triggered; without an override ISA IRQs default to edge. */
	p = madt_iso(p, cfg->sci_irq, cfg->sci_irq, MPS_LEVEL_HIGH);
	/* GSIs 16-23 (PCI INTx) get no override: the _PRT's GSI entries make them level, active-low. */
	p[0] = MADT_LAPIC_NMI;
	p[1] = 6;
	p[2] = 0xff;				/* all processors */
	put16(p + 3, 0);			/* flags: bus defaults */
	p[5] = 1;				/* LINT1 */
	acpi_finish(t);
}

/* Word Address Space Descriptor (6.4.3.5.3): bus numbers or I/O ports a bridge decodes. */
static size_t res_word(uint8_t *p, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	p[0] = 0x88;
	put16(p + 1, 13);
	p[3] = type;				/* 1 I/O, 2 bus numbers */
	p[4] = 0x0c;				/* producer, positive decode, min and max fixed */
	p[5] = tflags;
	put16(p + 6, 0);			/* granularity */
	put16(p + 8, min);
	put16(p + 10, max);
	put16(p + 12, 0);			/* translation */
	put16(p + 14, (uint16_t)(max - min + 1));
	return 16;
}

/* DWord Address Space Descriptor (6.4.3.5.2) for a memory window. */
static size_t res_dword_mem(uint8_t *p, uint8_t tflags, uint32_t min, uint32_t max)
{
	p[0] = 0x87;
	put16(p + 1, 23);
	p[3] = 0;				/* memory */
	p[4] = 0x0c;
	p[5] = tflags;
	put32(p + 6, 0);
	put32(p + 10, min);
	put32(p + 14, max);
	put32(p + 18, 0);
	put32(p + 22, max - min + 1);
	return 26;
}

/* I/O Port Descriptor (6.4.2.5), 16-bit decode. */
static size_t res_io(uint8_t *p, uint16_t base, uint8_t len)
{
	p[0] = 0x47;
	p[1] = 1;
	put16(p + 2, base);
	put16(p + 4, base);
	p[6] = 1;
	p[7] = len;
	return 8;
}

/*
 * _CRS of the root bridge: bus 0-255, the configuration ports, the I/O
 * space around them, the legacy VGA window and the 32-bit MMIO hole.
 */
static size_t acpi_pci_crs(const struct acpi_config *cfg, uint8_t *p)
{
	size_t n = 0;

	n += res_word(p + n, 2, 0, 0, 0xff);
	n += res_io(p + n, 0xcf8, 8);
	n += res_word(p + n, 1, 3, 0x0000, 0x0cf7);	/* _RNG: ISA and non-ISA ranges */
	n += res_word(p + n, 1, 3, 0x0d00, 0xffff);
	n += res_dword_mem(p + n, 3, 0x000a0000, 0x000bffff);	/* cacheable, read-write */
	if (cfg->pci_mmio_end > cfg->pci_mmio_start)
		n += res_dword_mem(p + n, 1, cfg->pci_mmio_start, cfg->pci_mmio_end);
	p[n++] = 0x79;				/* End Tag; checksum 0 means "treat as correct" */
	p[n++] = 0;
	return n;
}

unsigned acpi_pci_intx_gsi(unsigned slot, unsigned pin)
{
	/* Neighbouring slots start on different inputs, as the PCI-to-PCI bridge swizzle does. */
	return ACPI_PCI_GSI_BASE + (slot + pin) % ACPI_PCI_NR_GSIS;
}

/*
 * _PRT (ACPI 6.4, 6.2.13): Package { Package { Address 0xSSSSFFFF (any
 * function of slot S), Pin (0 = INTA#), Source 0, Source Index = GSI } }
 * for every slot a device may use and all four pins.
 */
static void acpi_pci_prt(struct aml *a)
{
	aml_name(a, "_PRT");
	aml_package_open(a, (ACPI_PCI_NR_SLOTS - ACPI_PCI_FIRST_SLOT) * 4);
	for (unsigned slot = ACPI_PCI_FIRST_SLOT; slot < ACPI_PCI_NR_SLOTS; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_package_open(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, acpi_pci_intx_gsi(slot, pin));
			aml_close(a);
		}
	}
	aml_close(a);
}

/*
 * DefinitionBlock ("", "DSDT", 2, "RINGVM", "RINGVM  ", 1) {
 *     Scope (\_SB) {
 *         Device (C000) { Name (_HID, "ACPI0007") Name (_UID, 0) }  ... one per vCPU
 *         Device (PCI0) {
 *             Name (_HID, EisaId ("PNP0A03")) Name (_CID, EisaId ("PNP0A03"))
 *             Name (_ADR, 0) Name (_UID, 0) Name (_BBN, 0) Name (_CRS, ResourceTemplate () {...})
 *             Name (_PRT, Package (124) { Package (4) { 0x0001FFFF, 0, 0, 17 }, ... })
 *         }
 *     }
 *     Name (_S5, Package (4) { SLP_TYP, SLP_TYP, 0, 0 })
 * }
 */
static int acpi_build_dsdt(const struct acpi_config *cfg, uint8_t *t, size_t room, uint32_t *len)
{
	struct aml a;
	uint8_t crs[128];
	size_t crs_len = acpi_pci_crs(cfg, crs);

	aml_init(&a, t + HDR_LEN, room > HDR_LEN ? room - HDR_LEN : 0);
	aml_scope_open(&a, "\\_SB_");
	for (unsigned i = 0; i < cfg->cpus; i++) {
		static const char hex[] = "0123456789ABCDEF";
		char name[5] = { 'C', hex[(i >> 8) & 0xf], hex[(i >> 4) & 0xf], hex[i & 0xf], 0 };

		aml_device_open(&a, name);
		aml_name(&a, "_HID");
		aml_string(&a, "ACPI0007");
		aml_name(&a, "_UID");
		aml_integer(&a, i);
		aml_close(&a);
	}
	aml_device_open(&a, "PCI0");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0A03");
	aml_name(&a, "_CID");
	aml_eisaid(&a, "PNP0A03");
	aml_name(&a, "_ADR");
	aml_integer(&a, 0);
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_name(&a, "_BBN");
	aml_integer(&a, 0);
	aml_name(&a, "_CRS");
	aml_buffer(&a, crs, crs_len);
	acpi_pci_prt(&a);
	aml_close(&a);
	aml_close(&a);
	/* \_S5_: SLP_TYPa, SLP_TYPb, reserved (7.4.2.6). */
	aml_name(&a, "\\_S5_");
	aml_package_open(&a, 4);
	aml_integer(&a, cfg->s5_slp_typ);
	aml_integer(&a, cfg->s5_slp_typ);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a);
	if (a.err)
		return a.err;
	*len = (uint32_t)(HDR_LEN + a.len);
	acpi_header(t, "DSDT", *len, DSDT_REVISION);
	acpi_finish(t);
	return 0;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int acpi_build(const struct acpi_config *cfg, uint8_t *buf, uint64_t gpa, size_t size,
	       struct acpi_layout *layout)
{
	struct acpi_layout l = { .rsdp = gpa };
	size_t off, rsdt, xsdt, fadt, facs, dsdt, madt;
	uint8_t *r;
	int ret;

	if (cfg->cpus < 1 || cfg->cpus > ACPI_MAX_CPUS)
		return -EINVAL;
	/* Fixed-size tables first; the DSDT, whose size AML decides, goes last. */
	facs = 64;				/* FACS must be 64-byte aligned (5.2.10) */
	rsdt = facs + FACS_LEN;
	xsdt = align_up(rsdt + HDR_LEN + 2 * 4, 16);
	fadt = align_up(xsdt + HDR_LEN + 2 * 8, 16);
	madt = align_up(fadt + FADT_LEN, 16);
	dsdt = align_up(madt + acpi_madt_len(cfg), 16);
	if (size < dsdt + HDR_LEN)
		return -ENOSPC;
	memset(buf, 0, dsdt);

	l.facs = gpa + facs;
	l.rsdt = gpa + rsdt;
	l.xsdt = gpa + xsdt;
	l.fadt = gpa + fadt;
	l.madt = gpa + madt;
	l.dsdt = gpa + dsdt;
	l.madt_len = (uint32_t)acpi_madt_len(cfg);
	ret = acpi_build_dsdt(cfg, buf + dsdt, size - dsdt < DSDT_MAX ? size - dsdt : DSDT_MAX,
			      &l.dsdt_len);
	if (ret)
		return ret;
	off = dsdt + l.dsdt_len;

	acpi_build_facs(buf + facs);
	acpi_build_fadt(cfg, buf + fadt, l.facs, l.dsdt);
	acpi_build_madt(cfg, buf + madt);

	acpi_header(buf + rsdt, "RSDT", HDR_LEN + 2 * 4, 1);
	put32(buf + rsdt + HDR_LEN, (uint32_t)l.fadt);
	put32(buf + rsdt + HDR_LEN + 4, (uint32_t)l.madt);
	acpi_finish(buf + rsdt);
	acpi_header(buf + xsdt, "XSDT", HDR_LEN + 2 * 8, 1);
	put64(buf + xsdt + HDR_LEN, l.fadt);
	put64(buf + xsdt + HDR_LEN + 8, l.madt);
	acpi_finish(buf + xsdt);

	r = buf;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	r[15] = 2;				/* revision: ACPI 2.0+ */
	put32(r + 16, (uint32_t)l.rsdt);
	put32(r + 20, RSDP_LEN);
	put64(r + 24, l.xsdt);
	acpi_fix_checksum(r, RSDP_V1_LEN, &r[8]);
	acpi_fix_checksum(r, RSDP_LEN, &r[32]);

	l.used = off;
	if (layout)
		*layout = l;
	return 0;
}
