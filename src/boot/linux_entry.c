/* Entry state for the Linux boot protocol: boot GDT, identity page tables, long or protected mode. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/linux.h"
#include "common/le.h"

#define BOOT_CS32   0x08	/* a flat 32-bit code segment, as the kernel's own GDT has at 0x08 */
#define BOOT_CS     0x10	/* __BOOT_CS */
#define BOOT_DS     0x18	/* __BOOT_DS */
#define GDT_ENTRIES 4

/* Page-table entry bits (Intel SDM vol. 3A, 4.5, tables 4-15 to 4-19). */
#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_PS  (1ull << 7)	/* in a PD entry: maps a 2 MiB page */

#define PDPT_ADDR (LINUX_PML4_ADDR + 0x1000)
#define PD_ADDR   (LINUX_PML4_ADDR + 0x2000)	/* four PDs, one per GiB */
#define PT_BYTES  0x6000ull			/* PML4 + PDPT + 4 PDs */
#define IDENT_GIB 4

/*
 * A legacy segment descriptor (SDM vol. 3A, 3.4.5): base 0, limit 0xFFFFF
 * in 4 KiB units (4 GiB), present, DPL 0, the given type and flags.
 */
static uint64_t gdt_flat(unsigned type, bool code64)
{
	uint64_t d = 0xffffull | (0xfull << 48);	/* limit 15:0 and 19:16 */

	d |= (uint64_t)(type | 0x10 | 0x80) << 40;	/* type, S=1, DPL 0, P=1 */
	d |= 1ull << 55;				/* G: 4 KiB granularity */
	if (code64)
		d |= 1ull << 53;			/* L (D stays 0) */
	else
		d |= 1ull << 54;			/* D/B: 32-bit */
	return d;
}

static void seg_flat(struct rv_segment *s, uint16_t sel, unsigned type, bool code64)
{
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffffu;
	/* Accessed bit set, as a descriptor load would leave it. */
	s->attrib = (uint16_t)((type | 1) | RV_SEG_S | RV_SEG_P | RV_SEG_G |
			       (code64 ? RV_SEG_L : RV_SEG_DB));
}

/* PML4[0] -> PDPT, PDPT[0..3] -> PDs, each PD 512 2 MiB pages: 0-4 GiB identity, RWX, supervisor. */
static int linux_build_ident_map(const struct guestmem *mem)
{
	uint8_t *pt = guestmem_ptr(mem, LINUX_PML4_ADDR, PT_BYTES);

	if (!pt)
		return -ENOMEM;
	memset(pt, 0, PT_BYTES);
	put64(pt, PDPT_ADDR | PTE_P | PTE_RW);
	for (unsigned g = 0; g < IDENT_GIB; g++) {
		uint8_t *pd = pt + (PD_ADDR - LINUX_PML4_ADDR) + g * 0x1000;

		put64(pt + 0x1000 + g * 8, (PD_ADDR + g * 0x1000ull) | PTE_P | PTE_RW);
		for (unsigned i = 0; i < 512; i++)
			put64(pd + i * 8, ((uint64_t)g << 30 | (uint64_t)i << 21) |
			      PTE_P | PTE_RW | PTE_PS);
	}
	return 0;
}

int linux_set_entry(enum linux_entry entry, const struct guestmem *mem,
		    uint64_t entry_ip, uint64_t boot_params,
		    struct rv_regs *regs, struct rv_sregs *sregs,
		    char *err, size_t errlen)
{
	bool lm = entry == LINUX_ENTRY_64;
	uint8_t *gdt = guestmem_ptr(mem, LINUX_GDT_ADDR, GDT_ENTRIES * 8);

	if (!gdt) {
		snprintf(err, errlen, "no guest RAM for the boot GDT");
		return -ENOMEM;
	}
	/*
	 * boot.rst: a GDT with __BOOT_CS (0x10, execute/read) and __BOOT_DS
	 * (0x18, read/write), both 4 GiB flat; CS = __BOOT_CS, DS = ES = SS =
	 * __BOOT_DS. For the 64-bit entry __BOOT_CS is a long-mode segment.
	 */
	put64(gdt, 0);
	put64(gdt + BOOT_CS32, gdt_flat(0xa, false));
	put64(gdt + BOOT_CS, gdt_flat(0xa, lm));
	put64(gdt + BOOT_DS, gdt_flat(0x2, false));
	sregs->gdtr.base = LINUX_GDT_ADDR;
	sregs->gdtr.limit = GDT_ENTRIES * 8 - 1;
	/* No IDT: interrupts are off and the kernel loads its own before it enables them. */
	sregs->idtr.base = 0;
	sregs->idtr.limit = 0;

	for (int s = RV_ES; s <= RV_GS; s++) {
		if (s == RV_CS)
			seg_flat(&sregs->seg[s], BOOT_CS, 0xa, lm);
		else
			seg_flat(&sregs->seg[s], BOOT_DS, 0x2, false);
	}

	memset(regs, 0, sizeof(*regs));
	regs->rip = entry_ip;
	regs->rflags = RV_FLAG_FIXED1;	/* IF=0 */
	regs->gpr[RV_RSI] = boot_params;
	regs->gpr[RV_RSP] = LINUX_STACK_TOP;	/* EBP, EDI, EBX stay 0 as the 32-bit protocol asks */

	if (lm) {
		if (linux_build_ident_map(mem)) {
			snprintf(err, errlen, "no guest RAM for the boot page tables");
			return -ENOMEM;
		}
		sregs->cr3 = LINUX_PML4_ADDR;
		sregs->cr4 = RV_CR4_PAE;
		sregs->efer = RV_EFER_LME | RV_EFER_LMA;
		sregs->cr0 = (sregs->cr0 | RV_CR0_PE | RV_CR0_ET | RV_CR0_PG) &
			     ~(RV_CR0_CD | RV_CR0_NW);
	} else {
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
		sregs->cr0 = (sregs->cr0 | RV_CR0_PE | RV_CR0_ET) &
			     ~(RV_CR0_PG | RV_CR0_CD | RV_CR0_NW);
	}
	return 0;
}
