/* Hardware task switching (Intel SDM vol. 3, ch. 7; AMD APM vol. 2, 12.3): TSS and task-gate transfers, nested-task IRET. */
#include "cpu/svm.h"
#include "cpu/sys.h"

#define SV_READ  (ACC_READ | ACC_IMPLICIT_SV)
#define SV_WRITE (ACC_WRITE | ACC_IMPLICIT_SV)
#define TSS_BUSY_BIT (1ull << 41)	/* type bit 1 of a TSS descriptor */

/* Offsets of the 32-bit TSS (SDM Figure 7-2) and the 16-bit TSS (Figure 7-11). */
struct tss_layout {
	unsigned ip, flags, gpr, seg, ldt, min_limit, width;
};
static const struct tss_layout tss32 = { 0x20, 0x24, 0x28, 0x48, 0x60, 0x67, 4 };
static const struct tss_layout tss16 = { 0x0e, 0x10, 0x12, 0x22, 0x2a, 0x2b, 2 };

static bool tss_type_is32(uint64_t d)
{
	return (DESC_TYPE(d) & 8) != 0;
}

static uint64_t tss_base(uint64_t d)
{
	return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
}

/* Set or clear the busy bit of the TSS descriptor for sel in the GDT. */
static void set_busy(struct cpu *cpu, uint16_t sel, uint64_t d, bool busy)
{
	uint64_t addr = sys_desc_addr(cpu, sel, EXC_GP);
	d = busy ? d | TSS_BUSY_BIT : d & ~TSS_BUSY_BIT;
	cpu_lin_write(cpu, addr, d, 8, SV_WRITE);
}

/* A code/data selector of the new task: checks of SDM Table 7-1, faulting with #TS (or #NP/#SS) in the new task. */
static void load_task_seg(struct cpu *cpu, int seg, uint16_t sel, uint32_t ext)
{
	unsigned cpl = cpu->s.cpl;
	uint64_t d;

	if (seg == RV_SS) {
		if ((sel & ~3u) == 0)
			cpu_raise(cpu, EXC_TS, ext);
		d = sys_check_ss(cpu, sel, cpl, EXC_TS);
		sys_load_desc(cpu, RV_SS, sel, d);
		return;
	}
	if ((sel & ~3u) == 0) {
		sys_load_null(cpu, seg, sel);
		return;
	}
	d = sys_read_descriptor_ext(cpu, sel, EXC_TS, ext);
	if (!DESC_S(d) || (desc_is_code(d) && !(DESC_TYPE(d) & SEGT_READ)))
		cpu_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	if (!desc_is_conforming(d)) {
		unsigned rpl = sel & 3u;
		if (DESC_DPL(d) < (rpl > cpl ? rpl : cpl))
			cpu_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	}
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, (sel & 0xfffc) | ext);
	sys_load_desc(cpu, seg, sel, d);
}

static void load_task_cs(struct cpu *cpu, uint16_t sel, uint32_t ext)
{
	unsigned rpl = sel & 3u;
	if ((sel & ~3u) == 0)
		cpu_raise(cpu, EXC_TS, ext);
	uint64_t d = sys_read_descriptor_ext(cpu, sel, EXC_TS, ext);
	if (!desc_is_code(d) || (desc_is_conforming(d) ? DESC_DPL(d) > rpl : DESC_DPL(d) != rpl))
		cpu_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, (sel & 0xfffc) | ext);
	sys_set_cs(cpu, sel, d, rpl);
}

static void load_task_ldt(struct cpu *cpu, uint16_t sel, uint32_t ext)
{
	struct rv_segment *ldtr = &cpu->s.seg[RV_LDTR];
	if ((sel & ~3u) == 0) {
		ldtr->selector = sel;
		ldtr->attrib = 0;
		ldtr->base = 0;
		ldtr->limit = 0;
		return;
	}
	if (sel & 4)
		cpu_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	uint64_t d = sys_read_descriptor_ext(cpu, sel, EXC_TS, ext);
	if (DESC_S(d) || DESC_TYPE(d) != SYST_LDT)
		cpu_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_TS, (sel & 0xfffc) | ext);
	cpu_desc_to_seg(d, sel, ldtr);
}

/*
 * Switch to the task whose TSS descriptor `nd` the selector `nsel` names
 * (SDM 7.3, steps 3-13). The caller did the privilege checks of its
 * transfer kind. `ret_eip` is what the old task resumes at.
 */
void sys_task_switch(struct cpu *cpu, uint16_t nsel, uint64_t nd, enum task_reason why,
		     uint64_t ret_eip, bool has_error, uint32_t error, uint32_t ext)
{
	const struct rv_segment *tr = &cpu->s.seg[RV_TR];
	const struct tss_layout *nl = tss_type_is32(nd) ? &tss32 : &tss16;
	const struct tss_layout *ol = RV_SEG_TYPE(tr->attrib) & 8 ? &tss32 : &tss16;
	uint64_t nbase = tss_base(nd);
	uint32_t nlimit = desc_limit(nd);
	uint16_t osel = tr->selector;
	uint64_t obase = tr->base;

	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_misc1 >> SVM_I_TASK_SWITCH & 1))
		svm_task_switch(cpu, nsel, why == TASK_IRET, why == TASK_JMP, has_error, error);
	if (!DESC_P(nd))
		cpu_raise(cpu, EXC_NP, (nsel & 0xfffc) | ext);
	if (nlimit < nl->min_limit)
		cpu_raise(cpu, EXC_TS, (nsel & 0xfffc) | ext);
	if (tr->limit < ol->min_limit)
		cpu_raise(cpu, EXC_TS, (osel & 0xfffc) | ext);

	/* Read the whole new state first: a fault here leaves the old task untouched (SDM 7.3 step 4). */
	unsigned w = nl->width;
	uint64_t neip = cpu_lin_read(cpu, (uint32_t)(nbase + nl->ip), w, SV_READ);
	uint64_t nflags = cpu_lin_read(cpu, (uint32_t)(nbase + nl->flags), w, SV_READ);
	uint32_t ngpr[8];
	uint16_t nseg[6];
	for (unsigned i = 0; i < 8; i++)
		ngpr[i] = (uint32_t)cpu_lin_read(cpu, (uint32_t)(nbase + nl->gpr + i * w), w, SV_READ);
	for (unsigned i = 0; i < (w == 4 ? 6u : 4u); i++)
		nseg[i] = (uint16_t)cpu_lin_read(cpu, (uint32_t)(nbase + nl->seg + i * w), 2, SV_READ);
	if (w == 2)
		nseg[RV_FS] = nseg[RV_GS] = 0;
	uint16_t nldt = (uint16_t)cpu_lin_read(cpu, (uint32_t)(nbase + nl->ldt), 2, SV_READ);
	uint64_t ncr3 = w == 4 ? cpu_lin_read(cpu, (uint32_t)(nbase + 0x1c), 4, SV_READ) : cpu->s.cr3;
	bool ntrap = w == 4 && (cpu_lin_read(cpu, (uint32_t)(nbase + 0x64), 2, SV_READ) & 1);

	/* Old task: busy bit (JMP, IRET clear it), then its dynamic state (step 7). */
	if (why == TASK_JMP || why == TASK_IRET) {
		uint64_t od = cpu_read_descriptor(cpu, osel, EXC_TS);
		set_busy(cpu, osel, od, false);
	}
	uint64_t oflags = cpu_get_rflags(cpu);
	if (why == TASK_IRET)
		oflags &= ~(uint64_t)RV_FLAG_NT;
	unsigned ow = ol->width;
	cpu_lin_write(cpu, (uint32_t)(obase + ol->ip), ret_eip, ow, SV_WRITE);
	cpu_lin_write(cpu, (uint32_t)(obase + ol->flags), oflags, ow, SV_WRITE);
	for (unsigned i = 0; i < 8; i++)
		cpu_lin_write(cpu, (uint32_t)(obase + ol->gpr + i * ow), cpu->s.gpr[i], ow, SV_WRITE);
	for (unsigned i = 0; i < (ow == 4 ? 6u : 4u); i++)
		cpu_lin_write(cpu, (uint32_t)(obase + ol->seg + i * ow), cpu->s.seg[i].selector, 2, SV_WRITE);

	/* New task: back link and NT for nesting transfers, busy bit (Table 7-2). */
	if (why == TASK_CALL || why == TASK_INT) {
		cpu_lin_write(cpu, (uint32_t)nbase, osel, 2, SV_WRITE);
		nflags |= RV_FLAG_NT;
	}
	if (why != TASK_IRET)
		set_busy(cpu, nsel, nd, true);

	/* Commit: TR, CR0.TS, CR3, registers. Faults from here on belong to the new task. */
	cpu_desc_to_seg(nd | TSS_BUSY_BIT, nsel, &cpu->s.seg[RV_TR]);
	cpu->s.cr0 |= RV_CR0_TS;
	if (w == 4 && (cpu->s.cr0 & RV_CR0_PG) && ncr3 != cpu->s.cr3)
		cpu_write_cr(cpu, 3, ncr3);
	for (unsigned i = 0; i < 8; i++)
		cpu->s.gpr[i] = w == 4 ? ngpr[i] : (cpu->s.gpr[i] & ~0xffffull) | ngpr[i];
	if (w == 2)
		nflags = (cpu_get_rflags(cpu) & ~0xffffull) | (nflags & 0xffff);
	cpu_set_rflags(cpu, (nflags & ~RFLAGS_FIXED_ZERO) | RV_FLAG_FIXED1);
	cpu->s.rip = neip;
	cpu->next_rip = neip;
	/* local breakpoints belong to the old task (SDM 17.2.4) */
	cpu->s.dr7 &= ~0x155ull;

	/* Segments: first the selectors alone, so a fault reports them (SDM 7.3 step 12). */
	for (unsigned i = 0; i < 6; i++)
		cpu->s.seg[i].selector = nseg[i];
	if (nflags & RV_FLAG_VM) {
		cpu->s.cpl = 3;
		cpu_update_mode(cpu);
		load_task_ldt(cpu, nldt, ext);
		for (unsigned i = 0; i < 6; i++)
			cpu_load_seg_real(cpu, (int)i, nseg[i]);
	} else {
		cpu->s.cpl = nseg[RV_CS] & 3u;
		cpu_update_mode(cpu);
		load_task_ldt(cpu, nldt, ext);
		load_task_cs(cpu, nseg[RV_CS], ext);
		load_task_seg(cpu, RV_SS, nseg[RV_SS], ext);
		load_task_seg(cpu, RV_ES, nseg[RV_ES], ext);
		load_task_seg(cpu, RV_DS, nseg[RV_DS], ext);
		load_task_seg(cpu, RV_FS, nseg[RV_FS], ext);
		load_task_seg(cpu, RV_GS, nseg[RV_GS], ext);
	}
	if (neip > cpu->s.seg[RV_CS].limit)
		cpu_raise(cpu, EXC_GP, ext);
	if (has_error)
		cpu_push(cpu, error, w);
	if (ntrap) {
		/* the T flag of the new TSS: a #DB trap before its first instruction (SDM 17.3.1.5) */
		cpu->s.dr6 |= 1u << 15;
		cpu_deliver_event(cpu, EXC_DB, EV_EXCEPTION, false, 0);
	}
}

/* The TSS selector of a task gate or TSS descriptor reached by JMP/CALL/INT; returns its descriptor. */
uint64_t sys_task_target(struct cpu *cpu, uint16_t tsel, int fault_vector, uint32_t ext)
{
	if ((tsel & 4) || (tsel & ~3u) == 0)
		cpu_raise(cpu, fault_vector, (tsel & 0xfffc) | ext);
	uint64_t d = sys_read_descriptor_ext(cpu, tsel, fault_vector, ext);
	unsigned type = DESC_TYPE(d);
	if (DESC_S(d) || (type != SYST_TSS_AVL && type != SYST_TSS16_AVL))
		cpu_raise(cpu, fault_vector, (tsel & 0xfffc) | ext);
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, (tsel & 0xfffc) | ext);
	return d;
}

/*
 * Far JMP/CALL to a TSS descriptor or a task gate (SDM vol. 2, JMP/CALL
 * "TASK-GATE" and "TASK-STATE-SEGMENT"). Both need DPL >= CPL and >= RPL.
 */
void sys_task_far(struct cpu *cpu, uint16_t sel, uint64_t d, bool call)
{
	unsigned cpl = cpu->s.cpl;
	uint16_t tsel = sel;
	if (DESC_DPL(d) < cpl || DESC_DPL(d) < (sel & 3u))
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	if (DESC_TYPE(d) == SYST_TASKGATE) {
		if (!DESC_P(d))
			cpu_raise(cpu, EXC_NP, sel & 0xfffc);
		tsel = (uint16_t)(d >> 16);
		d = sys_task_target(cpu, tsel, EXC_GP, 0);
	} else {
		if (DESC_TYPE(d) != SYST_TSS_AVL && DESC_TYPE(d) != SYST_TSS16_AVL)
			cpu_raise(cpu, EXC_GP, sel & 0xfffc);
		if (!DESC_P(d))
			cpu_raise(cpu, EXC_NP, sel & 0xfffc);
	}
	sys_task_switch(cpu, tsel, d, call ? TASK_CALL : TASK_JMP, cpu->next_rip, false, 0, 0);
}

/* IRET with NT = 1 outside long mode: return to the task in the back link (SDM vol. 2, IRET "TASK-RETURN"). */
void sys_task_return(struct cpu *cpu)
{
	uint16_t link = (uint16_t)cpu_lin_read(cpu, (uint32_t)cpu->s.seg[RV_TR].base, 2, SV_READ);
	if ((link & 4) || (link & ~3u) == 0)
		cpu_raise(cpu, EXC_TS, link & 0xfffc);
	uint64_t d = sys_read_descriptor_ext(cpu, link, EXC_TS, 0);
	unsigned type = DESC_TYPE(d);
	if (DESC_S(d) || (type != SYST_TSS_BUSY && type != SYST_TSS16_BUSY))
		cpu_raise(cpu, EXC_TS, link & 0xfffc);
	sys_task_switch(cpu, link, d, TASK_IRET, cpu->next_rip, false, 0, 0);
}
