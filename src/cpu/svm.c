/* AMD-V for the guest: the SVM instructions, VMRUN and #VMEXIT, intercepts (AMD APM vol. 2, chapter 15). */
#include <stddef.h>
#include <string.h>

#include "cpu/svm.h"
#include "cpu/mmu.h"
#include "cpu/sys.h"

/* VMCB control area (APM vol. 2, appendix B, table B-1) */
enum {
	VMCB_ICPT_CR = 0x000, VMCB_ICPT_DR = 0x004, VMCB_ICPT_EXC = 0x008, VMCB_ICPT_MISC1 = 0x00c, VMCB_ICPT_MISC2 = 0x010,
	VMCB_IOPM = 0x040, VMCB_MSRPM = 0x048, VMCB_TSC_OFFSET = 0x050, VMCB_ASID = 0x058,
	VMCB_TLB_CTL = 0x05c, VMCB_VINTR = 0x060, VMCB_INT_STATE = 0x068, VMCB_EXITCODE = 0x070,
	VMCB_EXITINFO1 = 0x078, VMCB_EXITINFO2 = 0x080, VMCB_EXITINTINFO = 0x088, VMCB_NP = 0x090,
	VMCB_NCR3 = 0x0b0, VMCB_EVENTINJ = 0x0a8, VMCB_NRIP = 0x0c8, VMCB_INSN_LEN = 0x0d0,
};
#define SVM_INSN_BYTES 15		/* instruction bytes at VMCB_INSN_LEN + 1 (decode assists) */
/* VMCB state save area (table B-2): segments are 16 bytes each from ES at 0x400, in enum rv_seg order */
enum {
	VMCB_SEG = 0x400, VMCB_GDTR = 0x460, VMCB_LDTR = 0x470, VMCB_IDTR = 0x480, VMCB_TR = 0x490,
	VMCB_CPL = 0x4cb, VMCB_EFER = 0x4d0, VMCB_CR4 = 0x548, VMCB_CR3 = 0x550, VMCB_CR0 = 0x558,
	VMCB_DR7 = 0x560, VMCB_DR6 = 0x568, VMCB_RFLAGS = 0x570, VMCB_RIP = 0x578, VMCB_RSP = 0x5d8,
	VMCB_RAX = 0x5f8, VMCB_STAR = 0x600, VMCB_LSTAR = 0x608, VMCB_CSTAR = 0x610,
	VMCB_SFMASK = 0x618, VMCB_KGSBASE = 0x620, VMCB_SYSENTER_CS = 0x628,
	VMCB_SYSENTER_ESP = 0x630, VMCB_SYSENTER_EIP = 0x638, VMCB_CR2 = 0x640, VMCB_GPAT = 0x668,
};

#define NP_ENABLE     (1ull << 0)	/* VMCB 0x90 bit 0; bits 1, 2 (SEV, SEV-ES) are not offered */
#define I2_VMRUN      (1u << 0)		/* intercept vector 4, bit 0 */
#define EVENT_VALID   (1u << 31)
#define EVENT_EV      (1u << 11)	/* an error code is pushed */
enum { EVT_INTR = 0, EVT_NMI = 2, EVT_EXCEPTION = 3, EVT_SOFT_INT = 4 };

static uint64_t vmcb_rd(struct cpu *cpu, uint64_t vmcb, unsigned off, unsigned size)
{
	return cpu_phys_read(cpu, vmcb + off, size);
}

static void vmcb_wr(struct cpu *cpu, uint64_t vmcb, unsigned off, uint64_t v, unsigned size)
{
	cpu_phys_write(cpu, vmcb + off, v, size);
}

static void vmcb_get_seg(struct cpu *cpu, uint64_t at, struct rv_segment *s)
{
	s->selector = (uint16_t)cpu_phys_read(cpu, at, 2);
	s->attrib = (uint16_t)cpu_phys_read(cpu, at + 2, 2) & 0xfff;
	s->limit = (uint32_t)cpu_phys_read(cpu, at + 4, 4);
	s->base = cpu_phys_read(cpu, at + 8, 8);
}

static void vmcb_put_seg(struct cpu *cpu, uint64_t at, const struct rv_segment *s)
{
	cpu_phys_write(cpu, at, s->selector, 2);
	cpu_phys_write(cpu, at + 2, s->attrib, 2);
	cpu_phys_write(cpu, at + 4, s->limit, 4);
	cpu_phys_write(cpu, at + 8, s->base, 8);
}

static void vmcb_get_dt(struct cpu *cpu, uint64_t at, struct rv_dtable *t)
{
	t->limit = (uint16_t)cpu_phys_read(cpu, at + 4, 4);
	t->base = cpu_phys_read(cpu, at + 8, 8);
}

static void vmcb_put_dt(struct cpu *cpu, uint64_t at, const struct rv_dtable *t)
{
	cpu_phys_write(cpu, at, 0, 4);
	cpu_phys_write(cpu, at + 4, t->limit, 4);
	cpu_phys_write(cpu, at + 8, t->base, 8);
}

/* ------------------------------------------------------------------ */
/* #VMEXIT (APM vol. 2, 15.6).                                         */

/*
 * Decode assists for #NPF and intercepted #PF (APM vol. 2, 15.33.4): up to
 * 15 bytes at the guest's CS:rIP, fetched as the guest would (segment,
 * both page-table dimensions, execute rights), their count at 0xD0. A
 * fetch that would fault ends the bytes there, with no fault: the probe
 * catches every raise, the nested walk's #NPF included. Never from MMIO.
 */
static void put_insn_bytes(struct cpu *cpu, uint64_t vmcb)
{
	static const uint64_t ip_mask[9] = { [2] = 0xffff, [4] = 0xffffffff, [8] = ~0ull };
	uint8_t bytes[SVM_INSN_BYTES];
	jmp_buf probe;
	volatile unsigned n = 0;

	cpu->probe = &probe;
	if (setjmp(probe) == 0) {
		while (n < SVM_INSN_BYTES) {
			uint64_t off = (cpu->s.rip + n) & ip_mask[cpu->code_size];
			uint64_t lin = cpu_linear(cpu, RV_CS, off, 1, ACC_EXEC);
			unsigned chunk = 4096 - (unsigned)(lin & 0xfff);
			struct xlat x;

			mmu_xlate_page(cpu, lin, ACC_EXEC, &x);
			if (!(x.flags & (TLBF_RAM | TLBF_ROM)))
				break;
			if (chunk > SVM_INSN_BYTES - n)
				chunk = SVM_INSN_BYTES - n;
			memcpy(bytes + n, (const void *)(uintptr_t)(lin + x.addend), chunk);
			n += chunk;
		}
	}
	cpu->probe = NULL;
	vmcb_wr(cpu, vmcb, VMCB_INSN_LEN, n, 1);
	for (unsigned i = 0; i < n; i++)
		vmcb_wr(cpu, vmcb, VMCB_INSN_LEN + 1 + i, bytes[i], 1);
}

static void vmexit(struct cpu *cpu, uint64_t code, uint64_t info1, uint64_t info2, uint64_t intinfo,
		   uint64_t nrip)
{
	struct cpu_svm *v = &cpu->svm;
	struct cpu_svm_host *h = &v->host;
	struct cpu_state *s = &cpu->s;
	uint64_t vmcb = v->vmcb, vintr, int_state;

	/* the guest state, as VMRUN loaded it and the guest left it */
	for (int i = RV_ES; i <= RV_DS; i++)
		vmcb_put_seg(cpu, vmcb + VMCB_SEG + 16 * (unsigned)i, &s->seg[i]);
	vmcb_put_dt(cpu, vmcb + VMCB_GDTR, &s->gdtr);
	vmcb_put_dt(cpu, vmcb + VMCB_IDTR, &s->idtr);
	vmcb_wr(cpu, vmcb, VMCB_CPL, s->cpl, 1);
	vmcb_wr(cpu, vmcb, VMCB_EFER, s->efer, 8);
	vmcb_wr(cpu, vmcb, VMCB_CR0, s->cr0, 8);
	vmcb_wr(cpu, vmcb, VMCB_CR2, s->cr2, 8);
	vmcb_wr(cpu, vmcb, VMCB_CR3, s->cr3, 8);
	vmcb_wr(cpu, vmcb, VMCB_CR4, s->cr4, 8);
	vmcb_wr(cpu, vmcb, VMCB_DR6, s->dr6, 8);
	vmcb_wr(cpu, vmcb, VMCB_DR7, s->dr7, 8);
	vmcb_wr(cpu, vmcb, VMCB_RFLAGS, cpu_get_rflags(cpu), 8);
	vmcb_wr(cpu, vmcb, VMCB_RIP, s->rip, 8);
	vmcb_wr(cpu, vmcb, VMCB_RSP, s->gpr[RV_RSP], 8);
	vmcb_wr(cpu, vmcb, VMCB_RAX, s->gpr[RV_RAX], 8);
	vintr = svm_vintr_exit(cpu, vmcb_rd(cpu, vmcb, VMCB_VINTR, 8), &int_state);
	vmcb_wr(cpu, vmcb, VMCB_VINTR, vintr, 8);
	vmcb_wr(cpu, vmcb, VMCB_INT_STATE, int_state, 8);
	vmcb_wr(cpu, vmcb, VMCB_EXITCODE, code, 8);
	vmcb_wr(cpu, vmcb, VMCB_EXITINFO1, info1, 8);
	vmcb_wr(cpu, vmcb, VMCB_EXITINFO2, info2, 8);
	vmcb_wr(cpu, vmcb, VMCB_EXITINTINFO, intinfo, 8);
	vmcb_wr(cpu, vmcb, VMCB_NRIP, nrip, 8);
	if (code == SVM_EXIT_NPF || code == SVM_EXIT_EXCP_BASE + EXC_PF)
		put_insn_bytes(cpu, vmcb);
	/* an injected event was taken (or is in EXITINTINFO): the V bit is cleared (APM 15.20) */
	vmcb_wr(cpu, vmcb, VMCB_EVENTINJ, 0, 8);
	/* the guest's TLB is kept for its ASID, as it is (15.16), the instruction bytes' fetch included */
	cpu_tlb_ctx_save(cpu, v->asid);
	if (v->np) {
		/* the guest's PAT is G_PAT; the host's comes back (15.25.8) */
		vmcb_wr(cpu, vmcb, VMCB_GPAT, s->pat, 8);
		s->pat = h->pat;
		v->np = false;
	}

	/* the host's state, from the CPU: the guest could write the HSAVE page, not this */
	for (int i = RV_ES; i <= RV_DS; i++)
		s->seg[i] = h->seg[i];
	s->gdtr = h->gdtr;
	s->idtr = h->idtr;
	s->efer = h->efer;
	s->cr0 = h->cr0 | RV_CR0_PE;
	s->cr3 = h->cr3;
	s->cr4 = h->cr4;
	cpu_set_rflags(cpu, h->rflags);
	s->gpr[RV_RSP] = h->rsp;
	s->gpr[RV_RAX] = h->rax;
	s->dr7 = 0x400;		/* all breakpoints disabled */
	s->cpl = 0;
	s->rip = cpu->next_rip = h->rip;
	v->guest = false;
	v->gif_clear = true;
	cpu->shadow = 0;
	cpu->halted = false;
	cpu->blk_stop = 1;
	cpu_update_mode(cpu);
	cpu_tlb_ctx_load(cpu, 0);
}

void svm_vmexit(struct cpu *cpu, uint64_t code, uint64_t info1, uint64_t info2, uint64_t intinfo)
{
	vmexit(cpu, code, info1, info2, intinfo, 0);
}

_Noreturn void svm_npf(struct cpu *cpu, uint64_t info1, uint64_t gpa)
{
	/* no next_RIP: not an instruction intercept (15.7.1) */
	vmexit(cpu, SVM_EXIT_NPF, info1, gpa, cpu->exc_nesting >= 0 ? cpu->svm.event : 0, 0);
	cpu_unwind_switch(cpu);
}

/*
 * EXITINFO1 the new TSS's selector; EXITINFO2 bit 36 for IRET, 38 for a
 * far JMP, 44 with the error code of the event in bits 31:0. Started by
 * an event (interrupt, exception, INT n through a task gate), that event
 * is in EXITINTINFO; otherwise next_RIP follows the instruction.
 */
_Noreturn void svm_task_switch(struct cpu *cpu, uint16_t tss_sel, bool by_iret, bool by_jmp, bool has_error,
			       uint32_t error)
{
	bool event = cpu->exc_nesting >= 0;
	uint64_t info2 = (uint64_t)by_iret << 36 | (uint64_t)by_jmp << 38 |
			 (has_error ? 1ull << 44 | error : 0);

	vmexit(cpu, SVM_EXIT_TASK_SWITCH, tss_sel, info2, event ? cpu->svm.event : 0, event ? 0 : cpu->next_rip);
	cpu_unwind_switch(cpu);
}

_Noreturn void svm_exit_insn(struct cpu *cpu, uint64_t code, uint64_t info1, uint64_t info2)
{
	/* the guest's RIP is the intercepted instruction's: it has not retired */
	vmexit(cpu, code, info1, info2, 0, cpu->next_rip);
	cpu_unwind_switch(cpu);
}

/* ------------------------------------------------------------------ */
/* VMRUN (APM vol. 2, 15.5).                                           */

struct vmcb_guest {
	struct rv_segment seg[4];	/* ES, CS, SS, DS */
	struct rv_dtable gdtr, idtr;
	uint8_t cpl;
	uint64_t efer, cr0, cr2, cr3, cr4, dr6, dr7, rflags, rip, rsp, rax;
	/* controls */
	uint32_t icpt_cr, icpt_dr, icpt_exc, icpt_misc1, icpt_misc2, asid;
	uint64_t iopm, msrpm, tsc_offset, vintr, int_state, eventinj, np, ncr3, gpat;
	uint8_t tlb_ctl;
};

static void vmcb_read_guest(struct cpu *cpu, uint64_t vmcb, struct vmcb_guest *g)
{
	for (int i = RV_ES; i <= RV_DS; i++)
		vmcb_get_seg(cpu, vmcb + VMCB_SEG + 16 * (unsigned)i, &g->seg[i]);
	vmcb_get_dt(cpu, vmcb + VMCB_GDTR, &g->gdtr);
	vmcb_get_dt(cpu, vmcb + VMCB_IDTR, &g->idtr);
	g->cpl = (uint8_t)vmcb_rd(cpu, vmcb, VMCB_CPL, 1);
	g->efer = vmcb_rd(cpu, vmcb, VMCB_EFER, 8);
	g->cr0 = vmcb_rd(cpu, vmcb, VMCB_CR0, 8);
	g->cr2 = vmcb_rd(cpu, vmcb, VMCB_CR2, 8);
	g->cr3 = vmcb_rd(cpu, vmcb, VMCB_CR3, 8);
	g->cr4 = vmcb_rd(cpu, vmcb, VMCB_CR4, 8);
	g->dr6 = vmcb_rd(cpu, vmcb, VMCB_DR6, 8);
	g->dr7 = vmcb_rd(cpu, vmcb, VMCB_DR7, 8);
	g->rflags = vmcb_rd(cpu, vmcb, VMCB_RFLAGS, 8);
	g->rip = vmcb_rd(cpu, vmcb, VMCB_RIP, 8);
	g->rsp = vmcb_rd(cpu, vmcb, VMCB_RSP, 8);
	g->rax = vmcb_rd(cpu, vmcb, VMCB_RAX, 8);
	g->icpt_cr = (uint32_t)vmcb_rd(cpu, vmcb, VMCB_ICPT_CR, 4);
	g->icpt_dr = (uint32_t)vmcb_rd(cpu, vmcb, VMCB_ICPT_DR, 4);
	g->icpt_exc = (uint32_t)vmcb_rd(cpu, vmcb, VMCB_ICPT_EXC, 4);
	g->icpt_misc1 = (uint32_t)vmcb_rd(cpu, vmcb, VMCB_ICPT_MISC1, 4);
	g->icpt_misc2 = (uint32_t)vmcb_rd(cpu, vmcb, VMCB_ICPT_MISC2, 4);
	g->iopm = vmcb_rd(cpu, vmcb, VMCB_IOPM, 8) & ~0xfffull;
	g->msrpm = vmcb_rd(cpu, vmcb, VMCB_MSRPM, 8) & ~0xfffull;
	g->tsc_offset = vmcb_rd(cpu, vmcb, VMCB_TSC_OFFSET, 8);
	g->asid = (uint32_t)vmcb_rd(cpu, vmcb, VMCB_ASID, 4);
	g->tlb_ctl = (uint8_t)vmcb_rd(cpu, vmcb, VMCB_TLB_CTL, 1);
	g->vintr = vmcb_rd(cpu, vmcb, VMCB_VINTR, 8);
	g->int_state = vmcb_rd(cpu, vmcb, VMCB_INT_STATE, 8);
	g->eventinj = vmcb_rd(cpu, vmcb, VMCB_EVENTINJ, 8);
	g->np = vmcb_rd(cpu, vmcb, VMCB_NP, 8);
	g->ncr3 = vmcb_rd(cpu, vmcb, VMCB_NCR3, 8);
	g->gpat = vmcb_rd(cpu, vmcb, VMCB_GPAT, 8);
}

/* The guest state checks of APM vol. 2, 15.5.1 ("Canonicalization and Consistency Checks"). */
static bool vmrun_state_ok(const struct cpu *cpu, const struct vmcb_guest *g)
{
	bool lme = g->efer & RV_EFER_LME, pg = g->cr0 & RV_CR0_PG;

	if (!(g->efer & RV_EFER_SVME))
		return false;
	if (!(g->cr0 & RV_CR0_CD) && (g->cr0 & RV_CR0_NW))
		return false;
	if (g->cr0 >> 32)
		return false;
	/* CR3: bits above the physical address width in long mode, the upper half otherwise */
	if (lme && pg ? g->cr3 >> cpu->maxphyaddr : g->cr3 >> 32)
		return false;
	if (g->cr4 & ~(uint64_t)CR4_VALID)
		return false;
	if ((g->dr6 >> 32) || (g->dr7 >> 32))
		return false;
	if (g->efer & ~(uint64_t)(EFER_VALID | RV_EFER_SVME))
		return false;
	if (lme && pg && !(g->cr4 & RV_CR4_PAE))
		return false;
	if (lme && pg && !(g->cr0 & RV_CR0_PE))
		return false;
	if (lme && pg && (g->cr4 & RV_CR4_PAE) && (g->seg[RV_CS].attrib & RV_SEG_L) &&
	    (g->seg[RV_CS].attrib & RV_SEG_DB))
		return false;
	return true;
}

/* A permission map of `pages` pages at pa lies below the physical address width (15.5.1). */
static bool pm_ok(const struct cpu *cpu, uint64_t pa, unsigned pages)
{
	return ((pa + pages * 4096ull - 1) >> cpu->maxphyaddr) == 0;
}

/* Event injection that cannot be delivered (APM 15.20): reserved types, NMI or a vector above 31 as an exception. */
static bool eventinj_ok(uint64_t ev)
{
	unsigned type = (unsigned)(ev >> 8) & 7, vector = ev & 0xff;

	if (!(ev & EVENT_VALID))
		return true;
	if (type != EVT_INTR && type != EVT_NMI && type != EVT_EXCEPTION && type != EVT_SOFT_INT)
		return false;
	return type != EVT_EXCEPTION || (vector != EXC_NMI && vector < 32);
}

/* PAT entries: UC, WC, WT, WP, WB, UC- (APM vol. 2, 7.8.1); anything else is reserved. */
static bool pat_ok(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (unsigned)(pat >> (i * 8)) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* The control checks of 15.5.1. */
static bool vmrun_controls_ok(const struct cpu *cpu, const struct vmcb_guest *g)
{
	if (!(g->icpt_misc2 & I2_VMRUN))
		return false;
	if (!pm_ok(cpu, g->iopm, 3) || !pm_ok(cpu, g->msrpm, 2))
		return false;
	if (!eventinj_ok(g->eventinj))
		return false;
	if (g->asid == 0)
		return false;
	/* the SEV and SEV-ES enables name features CPUID does not offer: reserved, MBZ */
	if (g->np & 6)
		return false;
	if (g->np & NP_ENABLE) {
		/* 15.5.1: "any MBZ bit of nCR3 is set": bits above the physical address width */
		if (g->ncr3 >> cpu->maxphyaddr)
			return false;
		/* 15.25.8: a G_PAT with a reserved memory type is an illegal guest state */
		if (!pat_ok(g->gpat))
			return false;
	}
	return true;
}

/*
 * The guest's TLB at VMRUN, as TLB_CONTROL says (15.16.1): kept from its
 * last run (0), without its entries (3) or its non-global ones (7), or
 * with those of every ASID flushed, the host's included (1). The other
 * encodings are reserved; they flush everything, which no value forbids.
 */
static void vmrun_tlb(struct cpu *cpu, uint32_t asid, uint8_t tlb_ctl)
{
	switch (tlb_ctl) {
	case 0:
		cpu_tlb_ctx_load(cpu, asid);
		break;
	case 3:
		cpu_tlb_ctx_drop(cpu, asid);
		break;
	case 7:
		cpu_tlb_ctx_load(cpu, asid);
		cpu_tlb_flush(cpu);
		break;
	default:
		cpu_tlb_flush_asids(cpu);
		break;
	}
}

static void vmrun(struct cpu *cpu, uint64_t vmcb)
{
	struct cpu_svm *v = &cpu->svm;
	struct cpu_svm_host *h = &v->host;
	struct cpu_state *s = &cpu->s;
	struct vmcb_guest g;

	/* the host's state, resumed at the instruction after VMRUN (15.5.1) */
	for (int i = RV_ES; i <= RV_DS; i++)
		h->seg[i] = s->seg[i];
	h->gdtr = s->gdtr;
	h->idtr = s->idtr;
	h->efer = s->efer;
	h->cr0 = s->cr0;
	h->cr3 = s->cr3;
	h->cr4 = s->cr4;
	h->rflags = cpu_get_rflags(cpu);
	h->rip = cpu->next_rip;
	h->rsp = s->gpr[RV_RSP];
	h->rax = s->gpr[RV_RAX];
	h->pat = s->pat;

	vmcb_read_guest(cpu, vmcb, &g);
	v->vmcb = vmcb;
	if (!vmrun_state_ok(cpu, &g) || !vmrun_controls_ok(cpu, &g)) {
		/* #VMEXIT(VMEXIT_INVALID): no guest state was loaded; the host goes on with GIF = 0 */
		vmcb_wr(cpu, vmcb, VMCB_EXITCODE, SVM_EXIT_INVALID, 8);
		vmcb_wr(cpu, vmcb, VMCB_EXITINFO1, 0, 8);
		vmcb_wr(cpu, vmcb, VMCB_EXITINFO2, 0, 8);
		vmcb_wr(cpu, vmcb, VMCB_EXITINTINFO, 0, 8);
		vmcb_wr(cpu, vmcb, VMCB_NRIP, 0, 8);
		s->dr7 = 0x400;
		v->gif_clear = true;
		return;
	}

	/* the host's TLB is kept for ASID 0 (15.16) */
	cpu_tlb_ctx_save(cpu, 0);
	v->asid = g.asid;
	v->icpt_cr = g.icpt_cr;
	v->icpt_dr = g.icpt_dr;
	v->icpt_exc = g.icpt_exc;
	v->icpt_misc1 = g.icpt_misc1;
	v->icpt_misc2 = g.icpt_misc2;
	v->iopm = g.iopm;
	v->msrpm = g.msrpm;
	v->tsc_offset = (int64_t)g.tsc_offset;
	svm_vintr_enter(cpu, g.vintr, (h->rflags & RV_FLAG_IF) != 0);
	/*
	 * Nested paging (15.25.3): the nested tables take the host's paging
	 * format, from the CR4 and EFER saved above; the guest runs on G_PAT.
	 */
	v->np = (g.np & NP_ENABLE) != 0;
	v->ncr3 = g.ncr3;
	if (v->np)
		s->pat = g.gpat;

	for (int i = RV_ES; i <= RV_DS; i++)
		s->seg[i] = g.seg[i];
	s->gdtr = g.gdtr;
	s->idtr = g.idtr;
	s->cr0 = g.cr0;
	s->cr2 = g.cr2;
	s->cr3 = g.cr3;
	s->cr4 = g.cr4;
	/* LMA follows LME and CR0.PG, as any write of them makes it */
	s->efer = (g.efer & ~RV_EFER_LMA) |
		  ((g.efer & RV_EFER_LME) && (g.cr0 & RV_CR0_PG) ? RV_EFER_LMA : 0);
	s->dr6 = g.dr6;
	s->dr7 = g.dr7;
	cpu_set_rflags(cpu, (g.rflags & ~RFLAGS_FIXED_ZERO) | RV_FLAG_FIXED1);
	s->gpr[RV_RSP] = g.rsp;
	s->gpr[RV_RAX] = g.rax;
	s->cpl = g.cpl & 3;
	s->rip = cpu->next_rip = g.rip;
	cpu->shadow = g.int_state & 1;
	v->guest = true;
	v->gif_clear = false;
	cpu->blk_stop = 1;
	cpu_update_mode(cpu);
	vmrun_tlb(cpu, g.asid, g.tlb_ctl);

	if (g.eventinj & EVENT_VALID) {
		/* the event is delivered through the guest's IDT before its first instruction (15.20) */
		static const int kinds[8] = {
			[EVT_INTR] = EV_EXTERNAL, [EVT_NMI] = EV_NMI,
			[EVT_EXCEPTION] = EV_EXCEPTION, [EVT_SOFT_INT] = EV_SOFTWARE,
		};
		unsigned type = (unsigned)(g.eventinj >> 8) & 7;
		int vector = type == EVT_NMI ? EXC_NMI : (int)(g.eventinj & 0xff);
		enum event_kind kind = (enum event_kind)kinds[type];

		/*
		 * With NRIPS, a software interrupt and a soft exception (#BP,
		 * #OF) injected as an exception push the VMCB's NextRIP as their
		 * return address: the VMM names where the INTn, INT3 or INTO it
		 * re-injects ends (KVM's nested.c and its selftest
		 * svm_nested_soft_inject_test count on it).
		 */
		if (type == EVT_SOFT_INT || (type == EVT_EXCEPTION && (vector == EXC_BP || vector == EXC_OF))) {
			if (type == EVT_EXCEPTION)
				kind = EV_SOFT_EXCEPTION;
			cpu->next_rip = vmcb_rd(cpu, vmcb, VMCB_NRIP, 8);
		}
		cpu->svm.inject = true;
		cpu_deliver_event(cpu, vector, kind, (g.eventinj & EVENT_EV) != 0,
				  (uint32_t)(g.eventinj >> 32));
		cpu->svm.inject = false;
	}
}

/* ------------------------------------------------------------------ */
/* The SVM instructions (APM vol. 3, chapter 4).                       */

/* rAX (by address size) names a 4 KiB-aligned page of guest RAM, else #GP(0). */
static uint64_t rax_page(struct cpu *cpu, const struct insn *in)
{
	uint64_t pa = cpu->s.gpr[RV_RAX] & size_mask(in->addrsize);
	const struct cpu_mem_slot *slot = cpu_memmap_find(cpu->mem, pa);

	if ((pa & 0xfff) || (pa >> cpu->maxphyaddr) || !slot || slot->kind != CPU_SLOT_RAM ||
	    pa + 4096 > slot->gpa + slot->size)
		cpu_raise_gp0(cpu);
	return pa;
}

/* VMLOAD / VMSAVE: the state SYSCALL, SWAPGS and task switches use, hidden parts included (15.5.2). */
/*
 * What VMLOAD and VMSAVE move between the VMCB and the CPU (APM vol. 2,
 * 15.5.2): FS, GS, TR and LDTR with their hidden parts, and the MSRs of
 * system calls.
 */
static const struct {
	uint16_t vmcb;
	uint8_t seg;
} vmls_segs[] = {
	{ VMCB_SEG + 16 * RV_FS, RV_FS }, { VMCB_SEG + 16 * RV_GS, RV_GS },
	{ VMCB_TR, RV_TR }, { VMCB_LDTR, RV_LDTR },
};
static const struct {
	uint16_t vmcb;
	uint16_t state;		/* offset of the uint64_t in struct cpu_state */
} vmls_msrs[] = {
	{ VMCB_KGSBASE, offsetof(struct cpu_state, kernel_gs_base) },
	{ VMCB_STAR, offsetof(struct cpu_state, star) },
	{ VMCB_LSTAR, offsetof(struct cpu_state, lstar) },
	{ VMCB_CSTAR, offsetof(struct cpu_state, cstar) },
	{ VMCB_SFMASK, offsetof(struct cpu_state, sfmask) },
	{ VMCB_SYSENTER_CS, offsetof(struct cpu_state, sysenter_cs) },
	{ VMCB_SYSENTER_ESP, offsetof(struct cpu_state, sysenter_esp) },
	{ VMCB_SYSENTER_EIP, offsetof(struct cpu_state, sysenter_eip) },
};

static uint64_t *state_u64(struct cpu_state *s, unsigned off)
{
	return (uint64_t *)(void *)((char *)s + off);
}

static void vmload(struct cpu *cpu, uint64_t vmcb)
{
	for (unsigned i = 0; i < sizeof(vmls_segs) / sizeof(vmls_segs[0]); i++)
		vmcb_get_seg(cpu, vmcb + vmls_segs[i].vmcb, &cpu->s.seg[vmls_segs[i].seg]);
	for (unsigned i = 0; i < sizeof(vmls_msrs) / sizeof(vmls_msrs[0]); i++)
		*state_u64(&cpu->s, vmls_msrs[i].state) = vmcb_rd(cpu, vmcb, vmls_msrs[i].vmcb, 8);
	cpu_update_mode(cpu);	/* FS/GS bases: the flat-segment summary */
}

static void vmsave(struct cpu *cpu, uint64_t vmcb)
{
	for (unsigned i = 0; i < sizeof(vmls_segs) / sizeof(vmls_segs[0]); i++)
		vmcb_put_seg(cpu, vmcb + vmls_segs[i].vmcb, &cpu->s.seg[vmls_segs[i].seg]);
	for (unsigned i = 0; i < sizeof(vmls_msrs) / sizeof(vmls_msrs[0]); i++)
		vmcb_wr(cpu, vmcb, vmls_msrs[i].vmcb, *state_u64(&cpu->s, vmls_msrs[i].state), 8);
}

/*
 * 0F 01 D8-DF. The order of checks (15.7.1 and each instruction's
 * exception table): #UD (EFER.SVME clear, real or virtual-8086 mode),
 * #GP(0) at CPL > 0, then the intercept, then the operand in rAX.
 * VMMCALL is the exception: any CPL, and #UD unless intercepted.
 * SKINIT is #UD: it is not offered (CPUID 8000_0001 ECX.SKINIT clear).
 */
void svm_op(struct cpu *cpu, const struct insn *in)
{
	unsigned op = in->rm & 7;
	struct cpu_svm *v = &cpu->svm;

	if (op == 1) {
		if (v->guest && (v->icpt_misc2 >> 1 & 1))
			svm_exit_insn(cpu, SVM_EXIT_VMMCALL, 0, 0);
		cpu_raise_ud(cpu);
	}
	if (op == 6 || !(cpu->s.efer & RV_EFER_SVME) || cpu->mode == MODE_REAL || cpu->mode == MODE_VM86)
		cpu_raise_ud(cpu);
	if (cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	if (op == 7) {
		if (v->guest && (v->icpt_misc1 >> SVM_I_INVLPGA & 1))
			svm_exit_insn(cpu, SVM_EXIT_INVLPGA, 0, 0);
	} else if (v->guest && (v->icpt_misc2 >> op & 1)) {
		svm_exit_insn(cpu, SVM_EXIT_VMRUN + op, 0, 0);
	}
	switch (op) {
	case 0:
		vmrun(cpu, rax_page(cpu, in));
		break;
	case 2:
		vmload(cpu, rax_page(cpu, in));
		break;
	case 3:
		vmsave(cpu, rax_page(cpu, in));
		break;
	case 4:
		v->gif_clear = false;	/* held interrupts are taken at the next boundary */
		cpu->blk_stop = 1;
		break;
	case 5:
		v->gif_clear = true;
		break;
	case 7: {
		/* INVLPGA: the page at rAX, in the address space whose ASID is in ECX, running or kept */
		uint64_t lin = cpu->s.gpr[RV_RAX] & size_mask(in->addrsize);
		uint32_t asid = (uint32_t)cpu->s.gpr[RV_RCX];

		if (asid == (v->guest ? v->asid : 0))
			cpu_tlb_flush_page(cpu, lin);
		else
			cpu_tlb_ctx_flush_page(cpu, asid, lin);
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* Intercepts with exit information.                                   */

/*
 * The I/O permission map: one bit per port, every port of the access
 * (15.10.1). EXITINFO1 (15.10.2): bit 0 IN, 2 string, 3 REP, 4-6 the
 * operand size, 7-9 the address size, 16-31 the port; EXITINFO2 the RIP
 * after the instruction. (The segment field, bits 10-12, needs decode
 * assists, which are not offered.)
 */
void svm_io_check(struct cpu *cpu, const struct insn *in, uint16_t port, unsigned size, bool is_in, bool str)
{
	uint64_t at = cpu->svm.iopm + port / 8;
	unsigned bits = (unsigned)cpu_phys_read(cpu, at, 2) >> (port & 7);
	uint64_t info;

	if (!(bits & ((1u << size) - 1)))
		return;
	info = (uint64_t)port << 16 | (is_in ? 1 : 0) | (str ? 4 : 0) |
	       ((str && (in->prefix & (PFX_REP | PFX_REPNE))) ? 8 : 0) |
	       (size == 1 ? 1u << 4 : size == 2 ? 1u << 5 : 1u << 6) |
	       (in->addrsize == 2 ? 1u << 7 : in->addrsize == 4 ? 1u << 8 : 1u << 9);
	svm_exit_insn(cpu, SVM_EXIT_IOIO, info, cpu->next_rip);
}

/*
 * The MSR permission map (15.11): two bits per MSR (read, write) for
 * 0-1FFF, C000_0000-C000_1FFF and C001_0000-C001_1FFF, 2 KiB each; every
 * other MSR is intercepted. EXITINFO1 is 0 for RDMSR, 1 for WRMSR.
 */
void svm_msr_check(struct cpu *cpu, uint32_t index, bool write)
{
	uint64_t bit;

	if (index <= 0x1fff)
		bit = index * 2ull;
	else if (index >= 0xc0000000u && index <= 0xc0001fffu)
		bit = 0x800 * 8 + (index - 0xc0000000u) * 2ull;
	else if (index >= 0xc0010000u && index <= 0xc0011fffu)
		bit = 0x1000 * 8 + (index - 0xc0010000u) * 2ull;
	else
		svm_exit_insn(cpu, SVM_EXIT_MSR, write, 0);
	bit += write;
	if (cpu_phys_read(cpu, cpu->svm.msrpm + bit / 8, 1) >> (bit & 7) & 1)
		svm_exit_insn(cpu, SVM_EXIT_MSR, write, 0);
}

uint64_t svm_intinfo(int vector, int kind, bool has_error, uint32_t error)
{
	unsigned type;

	switch (kind) {
	case EV_EXTERNAL: type = EVT_INTR; break;
	case EV_NMI: type = EVT_NMI; break;
	case EV_SOFTWARE: type = EVT_SOFT_INT; break;
	default: type = EVT_EXCEPTION; break;
	}
	return (uint64_t)(vector & 0xff) | type << 8 | (has_error ? EVENT_EV : 0) | EVENT_VALID |
	       (has_error ? (uint64_t)error << 32 : 0);
}

/*
 * Exceptions through the exception intercept bitmap (15.12): EXITINFO1 the
 * error code, EXITINFO2 for #PF the address, which did not reach CR2.
 * next_RIP for the instructions that raise them (INT3, INTO, BOUND) and
 * for INT n (15.7.1). Injected events are not intercepted (15.20).
 */
bool svm_event_intercepted(struct cpu *cpu, int vector, int kind, bool has_error, uint32_t error,
			   uint64_t intinfo)
{
	struct cpu_svm *v = &cpu->svm;
	uint64_t nrip = 0;

	if (v->inject) {
		v->inject = false;
		return false;
	}
	if (kind == EV_SOFTWARE) {
		if (!(v->icpt_misc1 >> SVM_I_INTN & 1))
			return false;
		/* decode assists: EXITINFO1 is the vector (15.33.2) */
		vmexit(cpu, SVM_EXIT_INTN, (uint64_t)vector & 0xff, 0, intinfo, cpu->next_rip);
		return true;
	}
	if ((kind != EV_EXCEPTION && kind != EV_SOFT_EXCEPTION) || vector >= 32 || !(v->icpt_exc >> vector & 1))
		return false;
	if (kind == EV_SOFT_EXCEPTION || vector == EXC_BR)
		nrip = cpu->next_rip;
	vmexit(cpu, SVM_EXIT_EXCP_BASE + (unsigned)vector, has_error ? error : 0,
	       vector == EXC_PF ? v->pf_addr : 0, intinfo, nrip);
	return true;
}
