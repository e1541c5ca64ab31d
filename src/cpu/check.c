/* Entry consistency checks of the vCPU state, as VMRUN makes them (AMD APM vol. 2, 15.5.1). */
#include "cpu/sys.h"

#define FAIL(name, value) do { *bad_value = (value); return (name); } while (0)

/*
 * Each failed check has its own short name (reported in RV_EXIT_INVALID_STATE).
 * The order matters only where one broken field trips several checks: the
 * more specific check comes first.
 */
const char *cpu_check_state(const struct cpu_state *s, uint64_t *bad_value)
{
	uint64_t dummy;
	if (!bad_value)
		bad_value = &dummy;
	bool lme = s->efer & RV_EFER_LME, lma = s->efer & RV_EFER_LMA;
	bool pg = s->cr0 & RV_CR0_PG, pe = s->cr0 & RV_CR0_PE;
	const struct rv_segment *cs = &s->seg[RV_CS], *ss = &s->seg[RV_SS];

	/* Control registers */
	if (s->cr0 >> 32)
		FAIL("CR0 bits 63:32", s->cr0);
	if ((s->cr0 & RV_CR0_NW) && !(s->cr0 & RV_CR0_CD))
		FAIL("CR0.NW without CR0.CD", s->cr0);
	if (lme && pg && !pe)
		FAIL("EFER.LME and CR0.PG without CR0.PE", s->cr0);
	if (pg && !pe)
		FAIL("CR0.PG without CR0.PE", s->cr0);
	if (s->cr4 & ~(uint64_t)CR4_VALID)
		FAIL("CR4 reserved bits", s->cr4);
	if (lma ? (s->cr3 >> PHYS_ADDR_BITS) != 0 : (s->cr3 >> 32) != 0)
		FAIL("CR3 reserved bits", s->cr3);
	if (s->cr8 & ~0xfull)
		FAIL("CR8 reserved bits", s->cr8);
	if (s->dr6 >> 32)
		FAIL("DR6 bits 63:32", s->dr6);
	if (s->dr7 >> 32)
		FAIL("DR7 bits 63:32", s->dr7);

	/* EFER and long mode */
	/* SVME too: whether it may be set is the CPU's business (sys_efer_ok), not the state's */
	if (s->efer & ~(uint64_t)EFER_VALID & ~(uint64_t)RV_EFER_SVME)
		FAIL("EFER reserved bits", s->efer);
	if (lme && pg && !(s->cr4 & RV_CR4_PAE))
		FAIL("EFER.LME and CR0.PG without CR4.PAE", s->cr4);
	if (lma != (lme && pg))
		FAIL("EFER.LMA inconsistent with LME and PG", s->efer);
	if (lma && (cs->attrib & RV_SEG_L) && (cs->attrib & RV_SEG_DB))
		FAIL("CS.L and CS.D both set in long mode", cs->attrib);

	/* RFLAGS */
	if (!(s->rflags & RV_FLAG_FIXED1))
		FAIL("RFLAGS bit 1 clear", s->rflags);
	if (s->rflags & RFLAGS_FIXED_ZERO)
		FAIL("RFLAGS reserved bits", s->rflags);
	if (lma && (s->rflags & RV_FLAG_VM))
		FAIL("RFLAGS.VM in long mode", s->rflags);
	if (lma && (cs->attrib & RV_SEG_L) && !sys_canonical(s->rip))
		FAIL("non-canonical RIP", s->rip);

	/* Segments and privilege */
	if (s->cpl > 3)
		FAIL("CPL above 3", s->cpl);
	if (!pe && s->cpl != 0)
		FAIL("CPL not 0 in real mode", s->cpl);
	if (pe && (s->rflags & RV_FLAG_VM)) {
		if (s->cpl != 3)
			FAIL("CPL not 3 in virtual-8086 mode", s->cpl);
	} else if (pe) {
		if (!(cs->attrib & RV_SEG_P))
			FAIL("CS not present", cs->attrib);
		if (!(cs->attrib & RV_SEG_S) || !(cs->attrib & SEGT_CODE))
			FAIL("CS not a code segment", cs->attrib);
		if (!(cs->attrib & SEGT_CONFORM) && RV_SEG_DPL(cs->attrib) != s->cpl)
			FAIL("CS.DPL differs from CPL", cs->attrib);
		/* A null SS (P = 0) is legal in 64-bit mode; a usable one must match CPL. */
		if ((ss->attrib & RV_SEG_P) && RV_SEG_DPL(ss->attrib) != s->cpl)
			FAIL("SS.DPL differs from CPL", ss->attrib);
		if (!(ss->attrib & RV_SEG_P) && !(lma && (cs->attrib & RV_SEG_L) && s->cpl != 3))
			FAIL("SS not present", ss->attrib);
	}
	return NULL;
}
