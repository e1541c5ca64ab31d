/* Control registers and EFER: writes with their architectural side effects (mode switches, TLB flushes). */
#include "cpu/svm.h"
#include "cpu/sys.h"

/*
 * PAE paging outside long mode loads the four PDPTEs when CR3 is written,
 * when CR0.PG is set, and when CR4.PAE/PGE/PSE change; a present PDPTE with
 * a reserved bit set (2:1, 8:5, 63:MAXPHYADDR) makes that MOV #GP(0)
 * (SDM vol. 3, 4.4.1; APM vol. 2, 5.3.4 reads them at the same points).
 */
static void check_pdptes(struct cpu *cpu, uint64_t cr3)
{
	uint64_t rsvd = 0x1e6ull | ~((1ull << cpu->maxphyaddr) - 1);

	/*
	 * A guest under nested paging has no PDPTE registers to load: its
	 * walks read the PDPTEs through the nested tables (APM vol. 2, 15.25)
	 */
	if (cpu->svm.np)
		return;
	for (unsigned i = 0; i < 4; i++) {
		uint64_t e = cpu_phys_read(cpu, (cr3 & 0xffffffe0) + i * 8, 8);

		if ((e & 1) && (e & rsvd))
			cpu_raise_gp0(cpu);
	}
}

static bool pae_legacy(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & RV_CR0_PG) && (cr4 & RV_CR4_PAE) && !(efer & RV_EFER_LME);
}

/*
 * CR0 (SDM vol. 3, 2.5 and 9.8.5; AMD APM vol. 2, 3.1.1 and 14.6):
 * bits 63:32 must be zero, PG needs PE, NW needs CD. Setting PG with
 * EFER.LME activates long mode (needs CR4.PAE and a CS that is not 64-bit);
 * clearing PG leaves it (not allowed from 64-bit code).
 */
static void write_cr0(struct cpu *cpu, uint64_t v)
{
	uint64_t old = cpu->s.cr0;
	if (v >> 32)
		cpu_raise_gp0(cpu);
	v = (v & CR0_VALID) | RV_CR0_ET;
	if ((v & RV_CR0_PG) && !(v & RV_CR0_PE))
		cpu_raise_gp0(cpu);
	if ((v & RV_CR0_NW) && !(v & RV_CR0_CD))
		cpu_raise_gp0(cpu);
	if (!(old & RV_CR0_PG) && (v & RV_CR0_PG) && (cpu->s.efer & RV_EFER_LME)) {
		if (!(cpu->s.cr4 & RV_CR4_PAE) || (cpu->s.seg[RV_CS].attrib & RV_SEG_L))
			cpu_raise_gp0(cpu);
		cpu->s.efer |= RV_EFER_LMA;
	}
	if (!(old & RV_CR0_PG) && pae_legacy(v, cpu->s.cr4, cpu->s.efer))
		check_pdptes(cpu, cpu->s.cr3);
	if ((old & RV_CR0_PG) && !(v & RV_CR0_PG)) {
		if (cpu_64bit(cpu))
			cpu_raise_gp0(cpu);
		cpu->s.efer &= ~RV_EFER_LMA;
	}
	cpu->s.cr0 = v;
	if ((old ^ v) & (RV_CR0_PG | RV_CR0_WP | RV_CR0_PE))
		cpu_tlb_flush_all(cpu);
	cpu_update_mode(cpu);
}

static void write_cr3(struct cpu *cpu, uint64_t v)
{
	if (cpu_long_mode(cpu)) {
		/* Bits above the physical address width are reserved (APM vol. 2, 3.1.2). */
		if (v >> PHYS_ADDR_BITS)
			cpu_raise_gp0(cpu);
	} else {
		v &= 0xffffffff;
		if (pae_legacy(cpu->s.cr0, cpu->s.cr4, cpu->s.efer))
			check_pdptes(cpu, v);
	}
	cpu->s.cr3 = v;
	cpu_tlb_flush(cpu);
}

static void write_cr4(struct cpu *cpu, uint64_t v)
{
	uint64_t old = cpu->s.cr4;
	if (v & ~(uint64_t)CR4_VALID)
		cpu_raise_gp0(cpu);
	if (cpu_long_mode(cpu) && !(v & RV_CR4_PAE))
		cpu_raise_gp0(cpu);
	if (!cpu_long_mode(cpu) && pae_legacy(cpu->s.cr0, v, cpu->s.efer) &&
	    ((old ^ v) & (RV_CR4_PAE | RV_CR4_PGE | RV_CR4_PSE)))
		check_pdptes(cpu, cpu->s.cr3);
	cpu->s.cr4 = v;
	if ((old ^ v) & (RV_CR4_PGE | RV_CR4_PAE | RV_CR4_PSE))
		cpu_tlb_flush_all(cpu);
	cpu_update_mode(cpu);
}

void cpu_write_cr(struct cpu *cpu, unsigned cr, uint64_t v)
{
	switch (cr) {
	case 0:
		write_cr0(cpu, v);
		break;
	case 2:
		cpu->s.cr2 = cpu_long_mode(cpu) ? v : (uint32_t)v;
		break;
	case 3:
		write_cr3(cpu, v);
		break;
	case 4:
		write_cr4(cpu, v);
		break;
	case 8:
		if (v & ~0xfull)
			cpu_raise_gp0(cpu);
		if (!svm_cr8_write(cpu, v))
			cpu->s.cr8 = v;
		break;
	default:
		cpu_raise_ud(cpu);
	}
}

/* Whether WRMSR EFER may write v (APM vol. 2, 3.1.7): reserved bits, and LME only with paging off. */
bool sys_efer_ok(const struct cpu *cpu, uint64_t v)
{
	if (v & ~(uint64_t)EFER_VALID & ~(uint64_t)RV_EFER_SVME)
		return false;
	/* SVME only where SVM is offered and VM_CR.SVMDIS clear (APM vol. 2, 15.4, 15.30.1) */
	if ((v & RV_EFER_SVME) && (!cpu->svm_offered || (cpu->svm.vm_cr & (1ull << 4))))
		return false;
	if ((cpu->s.cr0 & RV_CR0_PG) && ((v ^ cpu->s.efer) & RV_EFER_LME))
		return false;
	return true;
}

void cpu_write_efer(struct cpu *cpu, uint64_t v)
{
	if (!sys_efer_ok(cpu, v))
		cpu_raise_gp0(cpu);
	uint64_t old = cpu->s.efer;
	/* LMA is read-only: it follows LME && CR0.PG. */
	cpu->s.efer = (v & ~RV_EFER_LMA) | (old & RV_EFER_LMA);
	if ((old ^ v) & RV_EFER_NXE)
		cpu_tlb_flush_all(cpu);
	cpu_update_mode(cpu);
}
