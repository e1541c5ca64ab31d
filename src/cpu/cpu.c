/*
 * The vCPU life cycle and the run loop: whole decoded blocks (block.c) when
 * nothing needs per-instruction attention, else fetch through the TLB,
 * decode (cached), execute, retire one instruction; exceptions and exits
 * unwind here with longjmp.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/decode_cache.h"
#include "cpu/mmu.h"
#include "cpu/svm.h"
#include "cpu/sys.h"
#include "ringvm/ringvm.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)


void cpu_init(struct cpu *cpu, const struct cpu_memmap *mem)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->mem = mem;
	cpu->mem_generation = mem->generation;
	cpu->dcache = dcache_new();
	cpu->bcache = bcache_new();
	if (!cpu->dcache || !cpu->bcache)
		abort();
	cpu->blk_page = ~0ull;
	cpu->intercepts = RV_INTERCEPT_HLT;
	cpu_optable_init();
	cpu_reset(cpu);
}

void cpu_fini(struct cpu *cpu)
{
	dcache_free(cpu->dcache);
	cpu->dcache = NULL;
	cpu_tlb_ctx_free(cpu);
	bcache_free(cpu->bcache);
	cpu->bcache = NULL;
}

static void seg_reset(struct rv_segment *s, uint16_t sel, uint64_t base, uint16_t attrib)
{
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->attrib = attrib;
}

/* Power-on state, Intel SDM vol. 3, table 9-1 (AMD APM vol. 2, table 14-1). */
void cpu_reset(struct cpu *cpu)
{
	struct cpu_state *s = &cpu->s;
	uint32_t id[4];

	memset(s, 0, sizeof(*s));
	memset(&cpu->lf, 0, sizeof(cpu->lf));
	cpu->lf.op = CC_EAGER;
	s->rflags = RV_FLAG_FIXED1;
	s->rip = 0xfff0;
	seg_reset(&s->seg[RV_CS], 0xf000, 0xffff0000, 0x9b);	/* present, code, readable, accessed */
	for (int i = 0; i < RV_NR_SEGS; i++)
		if (i != RV_CS)
			seg_reset(&s->seg[i], 0, 0, 0x93);		/* present, data, writable, accessed */
	s->seg[RV_LDTR].attrib = 0x82;				/* present LDT */
	s->seg[RV_TR].attrib = 0x8b;				/* present busy TSS */
	s->gdtr.limit = s->idtr.limit = 0xffff;
	s->cr0 = 0x60000010;					/* CD, NW, ET */
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->pat = 0x0007040600070406ull;
	s->apic_base = 0xfee00000 | (1u << 11) | (1u << 8);	/* enabled, BSP (the VMM fixes BSP for APs) */

	cpu->pending_irq = -1;
	cpu->pending_nmi = false;
	cpu->nmi_blocked = false;
	cpu->halted = false;
	cpu->shadow = 0;
	cpu->exc_vector = -1;
	cpu->exc_nesting = -1;
	memset(&cpu->replay, 0, sizeof(cpu->replay));
	/* out of guest mode, GIF = 1, VM_CR and VM_HSAVE_PA zero; whether SVM is offered stays */
	memset(&cpu->svm, 0, sizeof(cpu->svm));

	cpu_fpu_reset(cpu);
	cpu_cpuid(cpu, 1, 0, id);
	s->gpr[RV_RDX] = id[0];				/* processor signature */
	cpu_cpuid(cpu, 0x80000008, 0, id);
	cpu->maxphyaddr = (id[0] & 0xff) >= 32 && (id[0] & 0xff) <= 52 ? (uint8_t)(id[0] & 0xff) : 40;

	cpu_update_mode(cpu);
	cpu_tlb_flush_asids(cpu);
}

void cpu_update_mode(struct cpu *cpu)
{
	const struct cpu_state *s = &cpu->s;

	if (!(s->cr0 & RV_CR0_PE)) {
		cpu->mode = MODE_REAL;
		cpu->s.cpl = 0;
	} else if (s->efer & RV_EFER_LMA) {
		cpu->mode = (s->seg[RV_CS].attrib & RV_SEG_L) ? MODE_LONG64 : MODE_COMPAT;
	} else if (s->rflags & RV_FLAG_VM) {
		cpu->mode = MODE_VM86;
		cpu->s.cpl = 3;
	} else {
		cpu->mode = MODE_PROT;
	}
	if (cpu->mode == MODE_LONG64) {
		cpu->code_size = 8;
		cpu->stack_size = 8;
	} else {
		cpu->code_size = (cpu->mode == MODE_REAL || cpu->mode == MODE_VM86 ||
				  !(s->seg[RV_CS].attrib & RV_SEG_DB)) ? 2 : 4;
		cpu->stack_size = (s->seg[RV_SS].attrib & RV_SEG_DB) && cpu->mode != MODE_VM86 ? 4 : 2;
	}
	cpu_update_flat(cpu);
	if (__builtin_expect(cpu->native != NULL, 0) && cpu->s.cpl != cpu->native_cpl) {
		cpu->native_cpl = cpu->s.cpl;
		cpu->native->cpl_changed(cpu);
	}
}

/*
 * Which segments need no check but natural alignment (mmu.h), following
 * cpu_linear(): in 64-bit mode those without a base (ES/CS/SS/DS, and
 * FS/GS while their base is 0); elsewhere base 0, limit 4G-1 and, in
 * protected mode, present, not expand-down, and readable (code: R bit) /
 * writable (data: W bit) (SDM vol. 3, 5.3-5.4).
 */
void cpu_update_flat(struct cpu *cpu)
{
	const struct cpu_state *s = &cpu->s;
	unsigned rd = 0, wr = 0;

	if (cpu->mode == MODE_LONG64) {
		rd = 0xf | (s->seg[RV_FS].base == 0) << RV_FS | (s->seg[RV_GS].base == 0) << RV_GS;
		cpu->flat_rd = cpu->flat_wr = (uint8_t)rd;
		return;
	}
	for (int i = RV_ES; i <= RV_GS; i++) {
		const struct rv_segment *sg = &s->seg[i];
		unsigned bit = 1u << i, type = RV_SEG_TYPE(sg->attrib);

		if (cpu->mode == MODE_LONG64) {
			if (i < RV_FS || sg->base == 0) {
				rd |= bit;
				wr |= bit;
			}
			continue;
		}
		if (sg->base != 0 || sg->limit != 0xffffffff)
			continue;
		if (cpu->mode == MODE_REAL || cpu->mode == MODE_VM86) {
			rd |= bit;
			wr |= bit;
		} else if (!(sg->attrib & RV_SEG_P)) {
			continue;
		} else if (type & 8) {
			if (type & 2)
				rd |= bit;
		} else if (!(type & 4)) {
			rd |= bit;
			if (type & 2)
				wr |= bit;
		}
	}
	cpu->flat_rd = (uint8_t)rd;
	cpu->flat_wr = (uint8_t)wr;
}

/* ------------------------------------------------------------------ */
/* Unwinding out of an instruction.                                    */

_Noreturn void cpu_raise(struct cpu *cpu, int vector, uint32_t error_code)
{
	if (unlikely(cpu->probe))
		longjmp(*cpu->probe, 1);
	cpu->exc_vector = vector;
	cpu->exc_error = error_code;
	/* vectors that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP */
	cpu->exc_has_error = vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) ||
			     vector == EXC_AC || vector == 21;
	if (!cpu->unwind)
		abort();
	longjmp(*cpu->unwind, UNWIND_EXC);
}

_Noreturn void cpu_raise_ud(struct cpu *cpu)
{
	cpu_raise(cpu, EXC_UD, 0);
}

_Noreturn void cpu_raise_gp0(struct cpu *cpu)
{
	cpu_raise(cpu, EXC_GP, 0);
}

_Noreturn void cpu_raise_pf(struct cpu *cpu, uint64_t lin, uint32_t error_code)
{
	if (unlikely(cpu->probe))
		longjmp(*cpu->probe, 1);
	/* an intercepted #PF leaves CR2 alone: the address goes to EXITINFO2 (APM vol. 2, 15.12.15) */
	cpu->svm.pf_addr = lin;
	if (likely(!cpu->svm.guest) || !(cpu->svm.icpt_exc >> EXC_PF & 1) || cpu->svm.inject)
		cpu->s.cr2 = lin;
	cpu_raise(cpu, EXC_PF, error_code);
}

_Noreturn void cpu_exit_restart(struct cpu *cpu)
{
	if (!cpu->unwind)
		abort();
	longjmp(*cpu->unwind, UNWIND_EXIT);
}

_Noreturn void cpu_unwind_switch(struct cpu *cpu)
{
	if (!cpu->unwind)
		abort();
	longjmp(*cpu->unwind, UNWIND_SWITCH);
}

void cpu_exit_after(struct cpu *cpu, enum cpu_exit reason)
{
	cpu->exit.reason = reason;
	cpu->blk_stop = 1;	/* leave the block after this instruction */
}

void cpu_jump_near(struct cpu *cpu, uint64_t target, unsigned opsize)
{
	target &= size_mask(opsize);
	if (cpu->mode == MODE_LONG64) {
		if (!canonical(target))
			cpu_raise_gp0(cpu);
	} else if (target > cpu->s.seg[RV_CS].limit) {
		cpu_raise_gp0(cpu);
	}
	cpu->next_rip = target;
}

/* ------------------------------------------------------------------ */
/* Fetch and decode.                                                   */

static void fetch_bytes(struct cpu *cpu, const struct xlat *x, uint64_t lin, uint8_t *dst, unsigned n)
{
	if (x->flags & (TLBF_RAM | TLBF_ROM)) {
		memcpy(dst, (const void *)(uintptr_t)(lin + x->addend), n);
	} else {
		/* executing from a hole: all ones */
		for (unsigned i = 0; i < n; i++)
			dst[i] = (uint8_t)cpu_phys_read(cpu, x->pa | ((lin + i) & 0xfff), 1);
	}
}

static const struct insn *fetch(struct cpu *cpu, struct insn *scratch)
{
	uint64_t rip = cpu->s.rip, lin, lin2, pa;
	unsigned avail = 15, off, room, n1;
	const struct tlb_entry *e;
	struct xlat x, x2;
	uint8_t buf[16];
	int n;

	if (cpu->mode == MODE_LONG64) {
		lin = rip;
		if (unlikely(!canonical(lin)))
			cpu_raise_gp0(cpu);
	} else {
		const struct rv_segment *cs = &cpu->s.seg[RV_CS];

		if (unlikely(rip > cs->limit))
			cpu_raise_gp0(cpu);
		if (cs->limit - rip < 14)
			avail = (unsigned)(cs->limit - rip) + 1;
		lin = (uint32_t)(cs->base + rip);
	}
	off = lin & 0xfff;
	room = 4096 - off;
	n1 = avail < room ? avail : room;
	e = &cpu->tlb[cpu->s.cpl == 3][(lin >> 12) & TLB_MASK];
	if (likely(e->tag_exec == tlb_key(cpu, lin))) {
		/* an exec tag is only ever set for RAM and ROM pages */
		const uint8_t *host = (const uint8_t *)tlb_host(e, lin);
		const struct tlb_info *ti = &cpu->tlbi[cpu->s.cpl == 3][(lin >> 12) & TLB_MASK];
		const struct insn *in;

		pa = ti->pa | off;
		/* readable bytes for the compare: the page's rest, unless the CS limit is closer */
		in = dcache_lookup(cpu->dcache, pa, cpu->code_size, host, avail < 15 ? n1 : room);
		if (likely(in != NULL))
			return in;
		x.addend = e->host - (uintptr_t)(lin & ~0xfffull);
		x.pa = ti->pa;
		x.flags = ti->flags;
	} else {
		mmu_xlate_page(cpu, lin, ACC_EXEC, &x);
		pa = x.pa | off;
	}
	if (x.flags & (TLBF_RAM | TLBF_ROM)) {
		const uint8_t *host = (const uint8_t *)(uintptr_t)(lin + x.addend);
		struct dcache_entry *de;
		const struct insn *in = dcache_lookup(cpu->dcache, pa, cpu->code_size, host,
						      avail < 15 ? n1 : room);

		if (in)
			return in;
		de = dcache_at(cpu->dcache, pa);
		de->key = 0;
		n = cpu_decode(cpu, host, n1, &de->in);
		if (n > 0) {
			if ((unsigned)n <= n1)
				dcache_commit(de, pa, cpu->code_size);
			return &de->in;
		}
	}

	/* The instruction crosses a page (or runs from a hole): gather its bytes */
	fetch_bytes(cpu, &x, lin, buf, n1);
	n = cpu_decode(cpu, buf, n1, scratch);
	if (n > 0)
		return scratch;
	if (n1 == avail)
		cpu_raise_gp0(cpu);	/* runs past the CS limit */
	lin2 = lin + n1;
	if (cpu->mode == MODE_LONG64) {
		if (!canonical(lin2))
			cpu_raise_gp0(cpu);
	} else {
		lin2 = (uint32_t)lin2;
	}
	mmu_xlate_page(cpu, lin2, ACC_EXEC, &x2);
	fetch_bytes(cpu, &x2, lin2, buf + n1, avail - n1);
	n = cpu_decode(cpu, buf, avail, scratch);
	if (n == 0)
		cpu_raise_gp0(cpu);
	return scratch;
}

/* ------------------------------------------------------------------ */
/* The run loop.                                                       */

/*
 * System opcodes that never load ES/DS/FS/GS nor change FS/GS bases (those
 * that load CS or SS call cpu_update_mode(), which updates the flat bits):
 * after them the run loop need not recompute cpu->flat_rd/flat_wr.
 * PUSHF/POPF, CLI/STI, HLT, IN/OUT/INS/OUTS; CPUID, RDTSC, RDMSR, MOV
 * CR/DR, CLTS, INVD/WBINVD.
 */
static bool sys_keeps_segs(const struct insn *in)
{
	unsigned op = in->opcode;

	if (in->map == MAP_1B)
		return op == 0x9c || op == 0x9d || op == 0xfa || op == 0xfb || op == 0xf4 ||
		       (op >= 0xe4 && op <= 0xe7) || (op >= 0xec && op <= 0xef) || (op >= 0x6c && op <= 0x6f);
	if (in->map == MAP_0F)
		return op == 0xa2 || op == 0x31 || op == 0x32 || (op >= 0x20 && op <= 0x23) ||
		       op == 0x06 || op == 0x08 || op == 0x09;
	return false;
}

/*
 * At an instruction boundary: NMI, external interrupt, interrupt window,
 * the guest's virtual interrupt, or a #VMEXIT for one of them (GIF and
 * guest mode decide with the rest, svm_intr.c); halt. True if exiting.
 */
static bool run_events(struct cpu *cpu)
{
	int v;

	switch (cpu_event_step(cpu)) {
	case EVS_NONE:
		break;
	case EVS_EXIT_NMI:
		svm_vmexit(cpu, SVM_EXIT_NMI, 0, 0, 0);
		break;
	case EVS_EXIT_INTR:
		/* the interrupt stays pending for the host, unacknowledged */
		svm_vmexit(cpu, SVM_EXIT_INTR, 0, 0, 0);
		break;
	case EVS_EXIT_VINTR:
		svm_vmexit(cpu, SVM_EXIT_VINTR, 0, 0, 0);
		break;
	case EVS_NMI:
		__atomic_store_n(&cpu->pending_nmi, false, __ATOMIC_SEQ_CST);
		cpu->halted = false;
		cpu_deliver_event(cpu, EXC_NMI, EV_NMI, false, 0);
		return cpu->exit.reason != CPU_EXIT_NONE;
	case EVS_INTR:
		v = cpu->pending_irq >= 0 ? __atomic_exchange_n(&cpu->pending_irq, -1, __ATOMIC_SEQ_CST) : -1;
		if (v >= 0) {
			cpu->halted = false;
			cpu_deliver_event(cpu, v, EV_EXTERNAL, false, 0);
			return cpu->exit.reason != CPU_EXIT_NONE;
		}
		if (cpu->irq_window_exit) {
			cpu->exit.reason = CPU_EXIT_IRQ_WINDOW;
			return true;
		}
		break;
	case EVS_VINTR:
		svm_take_virq(cpu);
		return cpu->exit.reason != CPU_EXIT_NONE;
	}
	if (cpu->halted) {
		cpu->exit.reason = CPU_EXIT_HLT;
		return true;
	}
	return false;
}

/*
 * Run the instructions of block b back to back. Only the first may follow
 * a branch; the block is left early when an instruction branches, exits,
 * or stores into the block's own page (self-modifying code). RIP and
 * icount are exact after every instruction, so a fault (longjmp) mid-block
 * leaves the state a single-step run would.
 */
static void run_block(struct cpu *cpu, const struct block *b)
{
	static const uint64_t rip_mask[16] = { [2] = 0xffff, [4] = 0xffffffff, [8] = ~0ull };
	const struct insn *in = b->in, *last = in + b->ninsn;
	/* only the block's last instruction can change the code size (system opcodes end blocks) */
	uint64_t mask = rip_mask[cpu->code_size & 15];

	cpu->blk_stop = 0;
	cpu->blk_page = b->key >> 4 & ~0xfffull;
	for (; in < last; in++) {
		uint64_t fall = cpu->s.rip + in->len;

		cpu->next_rip = fall;
		in->fn(cpu, in);
		cpu_rmw_done(cpu);
		cpu->s.rip = cpu->next_rip & mask;
		cpu->icount++;
		/* a branch, an exit (cpu_exit_after) or a store into this block's page */
		if (unlikely(cpu->next_rip != fall || cpu->blk_stop))
			break;
	}
	cpu->s.rip = cpu->next_rip & rip_mask[cpu->code_size & 15];
	cpu->blk_page = ~0ull;
}

enum cpu_exit cpu_run(struct cpu *cpu, uint64_t budget)
{
	jmp_buf jb;
	struct insn scratch;
	uint64_t end = budget ? cpu->icount + budget : UINT64_MAX;
	bool flat_dirty;	/* cpu_update_flat() due (set again after every setjmp return) */
	int r;

	cpu->unwind = &jb;
	cpu->exit.reason = CPU_EXIT_NONE;
	r = setjmp(jb);
	cpu->blk_page = ~0ull;	/* a fault or exit may have left a block mid-way */
	flat_dirty = true;	/* entry (the VMM may have set segments) or an event delivered */
	if (r == UNWIND_EXIT)
		goto out;
	if (r == UNWIND_SWITCH) {
		/* a #VMEXIT mid-instruction: the host's state is loaded, nothing to deliver or replay */
		cpu->exc_vector = -1;
		cpu->replay.count = cpu->replay.next = 0;
		cpu->exit.reason = CPU_EXIT_NONE;
	}
	if (r == UNWIND_EXC) {
		/* a fault: state is as at the instruction's start; deliver it */
		int vec = cpu->exc_vector;

		cpu->exc_vector = -1;
		cpu->replay.count = cpu->replay.next = 0;
		cpu->exit.reason = CPU_EXIT_NONE;
		cpu->shadow = 0;
		cpu_deliver_event(cpu, vec, EV_EXCEPTION, cpu->exc_has_error, cpu->exc_error);
		if (cpu->exit.reason != CPU_EXIT_NONE)
			goto out;
	}

	for (;;) {
		const struct insn *in;
		uint64_t fl;
		uint8_t shadow;

		if (unlikely(cpu->kick) && __atomic_exchange_n(&cpu->kick, 0, __ATOMIC_SEQ_CST)) {
			cpu->exit.reason = CPU_EXIT_KICK;
			goto out;
		}
		if (unlikely(cpu->icount >= end)) {
			cpu->exit.reason = CPU_EXIT_BUDGET;
			goto out;
		}
		if (unlikely(cpu->mem_generation != cpu->mem->generation)) {
			/* the memory map changed: no access may use an old host pointer */
			cpu_tlb_flush_all(cpu);
			cpu->mem_generation = cpu->mem->generation;
		}
		/* (exc_nesting is -1 here: cpu_deliver_event resets it when it finishes or gives up) */
		/* no event may slip between an I/O exit and the re-execution that completes it */
		if (unlikely(cpu->halted || cpu->pending_irq >= 0 || cpu->pending_nmi || cpu->irq_window_exit ||
			     cpu->svm.v_irq) && cpu->replay.count == 0) {
			flat_dirty = true;	/* an event may have been delivered */
			if (run_events(cpu))
				goto out;
		}

		/* data segment loads (system opcodes) end blocks: catch up here */
		if (flat_dirty) {
			cpu_update_flat(cpu);
			flat_dirty = false;
		}
		/* a serializing point (or a return from the VMM): compare block bytes again (block.h) */
		cpu->bcache->epoch++;
		/*
		 * A whole block when nothing needs a check between instructions:
		 * no breakpoints, single-step, interrupt shadow, pending debug
		 * traps, I/O replay, and the budget reaches past the block.
		 */
		if (likely(!((cpu->s.dr7 | cpu->dbg_seen[4]) & 0xff) && !cpu->shadow &&
			   !(cpu->s.rflags & (RV_FLAG_TF | RV_FLAG_RF)) && !cpu->dbg_trap &&
			   !cpu->replay.count && !(cpu->intercepts & RV_INTERCEPT_SINGLESTEP))) {
			const struct block *b;

			/* user code on the host CPU, when native execution wants it (no budget: it counts no instructions) */
			if (unlikely(cpu->native_want) && end == UINT64_MAX && cpu->native->run(cpu)) {
				flat_dirty = true;
				if (unlikely(cpu->exit.reason != CPU_EXIT_NONE))
					goto out;
				continue;
			}
			/*
			 * Translated code, when a translator is plugged in; it
			 * returns at every point the checks above and the events
			 * (cpu_event_step) need, and leaves to the interpreter what
			 * would pass the budget.
			 */
			if (cpu->xlat && cpu->xlat->run(cpu, end) == CPU_XLAT_RAN) {
				flat_dirty = true;
				if (unlikely(cpu->dbg_trap))
					cpu_debug_retire(cpu, cpu->s.rflags & ~(uint64_t)(RV_FLAG_TF | RV_FLAG_RF));
				if (unlikely(cpu->exit.reason != CPU_EXIT_NONE))
					goto out;
				continue;
			}
			b = block_get(cpu);

			if (likely(b != NULL) && end - cpu->icount >= b->ninsn) {
				/*
				 * Chain blocks while nothing but other threads' inputs can
				 * have changed: a block whose last instruction is not a
				 * system opcode leaves mode, flags TF/RF, DR7, the shadow
				 * and the halt state as they were.
				 */
				for (;;) {
					run_block(cpu, b);
					if (b->ends_sys && !sys_keeps_segs(&b->in[b->ninsn - 1]))
						flat_dirty = true;
					if (unlikely(b->ends_sys || cpu->blk_stop || cpu->kick || cpu->pending_irq >= 0 ||
						     cpu->pending_nmi || cpu->mem_generation != cpu->mem->generation))
						break;
					b = block_get(cpu);
					if (unlikely(b == NULL || end - cpu->icount < b->ninsn))
						break;
				}
				/* traps the last instruction raised (MOV SS, INT n flags) */
				if (unlikely(cpu->dbg_trap))
					cpu_debug_retire(cpu, cpu->s.rflags & ~(uint64_t)(RV_FLAG_TF | RV_FLAG_RF));
				if (unlikely(cpu->exit.reason != CPU_EXIT_NONE))
					goto out;
				continue;
			}
		}

		/* instruction breakpoints (debug.c); the DR7 of the last check too, to refilter the TLB once disabled */
		if (unlikely((cpu->s.dr7 | cpu->dbg_seen[4]) & 0xff))
			cpu_debug_before(cpu);
		shadow = cpu->shadow;
		fl = cpu->s.rflags;
		cpu->replay.next = 0;
		in = fetch(cpu, &scratch);
		cpu->next_rip = cpu->s.rip + in->len;
		in->fn(cpu, in);
		cpu_rmw_done(cpu);
		if (cpu_op_ends_block(in->map, in->opcode) && !sys_keeps_segs(in))
			flat_dirty = true;

		/* retire */
		if (cpu->code_size == 8)
			cpu->s.rip = cpu->next_rip;
		else if (cpu->code_size == 4)
			cpu->s.rip = (uint32_t)cpu->next_rip;
		else
			cpu->s.rip = (uint16_t)cpu->next_rip;
		cpu->icount++;
		cpu->replay.count = 0;
		if (shadow)
			cpu->shadow = 0;
		/* RF, single-step and data-breakpoint traps (debug.c, SDM 17.3.1) */
		if (unlikely((fl & (RV_FLAG_TF | RV_FLAG_RF)) || cpu->dbg_trap))
			cpu_debug_retire(cpu, fl);
		if (unlikely(cpu->exit.reason != CPU_EXIT_NONE))
			goto out;
		if (unlikely(cpu->intercepts & RV_INTERCEPT_SINGLESTEP)) {
			cpu->exit.reason = CPU_EXIT_DEBUG;
			goto out;
		}
	}
out:
	cpu->unwind = NULL;
	return cpu->exit.reason;
}
