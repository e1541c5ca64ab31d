/* Segmentation: descriptor reads, segment-register loads with protected-mode checks, TSS stacks, frame stacks. */
#include "cpu/sys.h"

#define SV_READ  (ACC_READ | ACC_IMPLICIT_SV)
#define SV_WRITE (ACC_WRITE | ACC_IMPLICIT_SV)

static bool seg_usable(const struct rv_segment *s)
{
	return (s->attrib & RV_SEG_P) != 0;
}

static uint64_t desc_addr_ext(struct cpu *cpu, uint16_t sel, int fault_vector, uint32_t ext)
{
	uint64_t base, limit;
	if (sel & 4) {
		const struct rv_segment *ldt = &cpu->s.seg[RV_LDTR];
		/* A null or unusable LDTR makes every LDT selector fault. */
		if ((ldt->selector & ~3u) == 0 || !seg_usable(ldt))
			cpu_raise(cpu, fault_vector, (sel & 0xfffc) | ext);
		base = ldt->base;
		limit = ldt->limit;
	} else {
		base = cpu->s.gdtr.base;
		limit = cpu->s.gdtr.limit;
	}
	if ((uint64_t)(sel & ~7u) + 7 > limit)
		cpu_raise(cpu, fault_vector, (sel & 0xfffc) | ext);
	base += sel & ~7u;
	if (!cpu_long_mode(cpu))
		base &= 0xffffffff;
	return base;
}

uint64_t sys_desc_addr(struct cpu *cpu, uint16_t sel, int fault_vector)
{
	return desc_addr_ext(cpu, sel, fault_vector, 0);
}

uint64_t sys_read_descriptor_ext(struct cpu *cpu, uint16_t sel, int fault_vector, uint32_t ext)
{
	return cpu_lin_read(cpu, desc_addr_ext(cpu, sel, fault_vector, ext), 8, SV_READ);
}

uint64_t cpu_read_descriptor(struct cpu *cpu, uint16_t sel, int fault_vector)
{
	return cpu_lin_read(cpu, sys_desc_addr(cpu, sel, fault_vector), 8, SV_READ);
}

uint64_t sys_read_descriptor_hi(struct cpu *cpu, uint16_t sel, int fault_vector)
{
	/* The 16-byte form occupies two slots: the second must be inside the table too. */
	if ((sel & ~7u) == 0xfff8)
		cpu_raise(cpu, fault_vector, sel & 0xfffc);
	uint64_t addr = sys_desc_addr(cpu, (uint16_t)(((sel & ~7u) + 8) | (sel & 4u)), fault_vector);
	return cpu_lin_read(cpu, addr, 8, SV_READ);
}

void cpu_desc_to_seg(uint64_t desc, uint16_t sel, struct rv_segment *seg)
{
	uint32_t limit = (uint32_t)(desc & 0xffff) | (uint32_t)((desc >> 32) & 0xf0000);
	uint16_t attrib = (uint16_t)(((desc >> 40) & 0xff) | (((desc >> 52) & 0xf) << 8));
	if (attrib & RV_SEG_G)
		limit = (limit << 12) | 0xfff;
	seg->selector = sel;
	seg->attrib = attrib;
	seg->limit = limit;
	seg->base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24);
}

void sys_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t desc)
{
	if (desc & DESC_ACCESSED)
		return;
	/* Only the type byte is written, as the processor does (a locked byte update). */
	uint64_t addr = sys_desc_addr(cpu, sel, EXC_GP) + 5;
	cpu_lin_write(cpu, addr, ((desc >> 40) & 0xff) | SEGT_ACCESSED, 1, SV_WRITE);
}

void sys_load_desc(struct cpu *cpu, int seg, uint16_t sel, uint64_t desc)
{
	sys_set_accessed(cpu, sel, desc);
	cpu_desc_to_seg(desc | DESC_ACCESSED, sel, &cpu->s.seg[seg]);
	if (seg == RV_SS || seg == RV_CS)
		cpu_update_mode(cpu);
}

void sys_load_null(struct cpu *cpu, int seg, uint16_t sel)
{
	struct rv_segment *s = &cpu->s.seg[seg];
	s->selector = sel;
	s->base = 0;
	s->limit = 0;
	s->attrib = 0;
	if (seg == RV_SS) {
		/*
		 * Only in 64-bit mode (CPL < 3) can SS be null; the stack stays usable
		 * there, and SS.DPL carries the CPL as in the VMCB save area.
		 */
		s->attrib = (uint16_t)(RV_SEG_P | RV_SEG_S | RV_SEG_DB | 3u | ((cpu->s.cpl & 3u) << 5));
		s->limit = 0xffffffff;
		cpu_update_mode(cpu);
	}
}

uint64_t sys_check_ss(struct cpu *cpu, uint16_t sel, unsigned cpl, int vector)
{
	uint64_t d = cpu_read_descriptor(cpu, sel, vector);
	if ((sel & 3u) != cpl || DESC_DPL(d) != cpl || !desc_is_writable_data(d))
		cpu_raise(cpu, vector, sel & 0xfffc);
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_SS, sel & 0xfffc);
	return d;
}

void cpu_load_seg_real(struct cpu *cpu, int seg, uint16_t sel)
{
	struct rv_segment *s = &cpu->s.seg[seg];
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	if (cpu->mode == MODE_VM86) {
		/* Virtual-8086 segments are always 64 KiB, DPL 3, read/write (code: readable). */
		s->limit = 0xffff;
		s->attrib = (uint16_t)(RV_SEG_P | RV_SEG_S | (3u << 5) | 3u | (seg == RV_CS ? 8u : 0u));
	} else if (!(s->attrib & RV_SEG_P)) {
		/* A segment nulled in protected mode becomes usable again as a 64 KiB data segment. */
		s->limit = 0xffff;
		s->attrib = (uint16_t)(RV_SEG_P | RV_SEG_S | 3u);
	}
	if (seg == RV_CS || seg == RV_SS)
		cpu_update_mode(cpu);
}

/*
 * MOV Sreg / POP Sreg / LDS... in protected mode (SDM vol. 2, MOV "Operation";
 * APM vol. 2, 4.10). CS is never loaded here.
 */
void cpu_load_seg(struct cpu *cpu, int seg, uint16_t sel)
{
	if (cpu->mode == MODE_REAL || cpu->mode == MODE_VM86) {
		cpu_load_seg_real(cpu, seg, sel);
		return;
	}
	unsigned cpl = cpu->s.cpl;
	if (seg == RV_SS) {
		if ((sel & ~3u) == 0) {
			/* 64-bit mode allows a null SS at CPL 0-2 when RPL = CPL. */
			if (cpu_64bit(cpu) && cpl != 3 && (sel & 3u) == cpl) {
				sys_load_null(cpu, RV_SS, sel);
				return;
			}
			cpu_raise(cpu, EXC_GP, 0);
		}
		uint64_t d = sys_check_ss(cpu, sel, cpl, EXC_GP);
		sys_load_desc(cpu, RV_SS, sel, d);
		return;
	}
	if ((sel & ~3u) == 0) {
		sys_load_null(cpu, seg, sel);
		return;
	}
	uint64_t d = cpu_read_descriptor(cpu, sel, EXC_GP);
	if (!DESC_S(d))
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	if (desc_is_code(d) && !(DESC_TYPE(d) & SEGT_READ))
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	/* Data and non-conforming code: DPL >= max(CPL, RPL). */
	if (!desc_is_conforming(d)) {
		unsigned rpl = sel & 3u;
		unsigned eff = rpl > cpl ? rpl : cpl;
		if (DESC_DPL(d) < eff)
			cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	}
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, sel & 0xfffc);
	sys_load_desc(cpu, seg, sel, d);
}

void sys_nullify_data_segs(struct cpu *cpu)
{
	static const int segs[] = { RV_ES, RV_DS, RV_FS, RV_GS };
	for (unsigned i = 0; i < 4; i++) {
		struct rv_segment *s = &cpu->s.seg[segs[i]];
		if (!(s->attrib & RV_SEG_P))
			continue;
		bool conforming_code = (s->attrib & RV_SEG_S) && (s->attrib & 0xc) == 0xc;
		if (!conforming_code && RV_SEG_DPL(s->attrib) < cpu->s.cpl)
			sys_load_null(cpu, segs[i], 0);
	}
}

void sys_set_cs(struct cpu *cpu, uint16_t sel, uint64_t desc, unsigned cpl)
{
	sel = (uint16_t)((sel & ~3u) | cpl);
	sys_set_accessed(cpu, sel, desc);
	cpu_desc_to_seg(desc | DESC_ACCESSED, sel, &cpu->s.seg[RV_CS]);
	cpu->s.cpl = (uint8_t)cpl;
	cpu_update_mode(cpu);
}

/* ------------------------------------------------------------------ */
/* TSS stack pointers (SDM vol. 3, 7.2.1 and 7.7; APM vol. 2, 12.2.5). */

static uint64_t tss_read(struct cpu *cpu, unsigned off, unsigned size, uint32_t ext)
{
	const struct rv_segment *tr = &cpu->s.seg[RV_TR];
	if (!(tr->attrib & RV_SEG_P) || (uint64_t)off + size - 1 > tr->limit)
		cpu_raise(cpu, EXC_TS, (tr->selector & 0xfffc) | ext);
	return cpu_lin_read(cpu, tr->base + off, size, SV_READ);
}

void sys_tss_stack(struct cpu *cpu, unsigned dpl, uint16_t *ss, uint64_t *sp, uint32_t ext)
{
	unsigned type = RV_SEG_TYPE(cpu->s.seg[RV_TR].attrib);
	if (type == SYST_TSS16_AVL || type == SYST_TSS16_BUSY) {
		*sp = tss_read(cpu, 2 + dpl * 4, 2, ext);
		*ss = (uint16_t)tss_read(cpu, 4 + dpl * 4, 2, ext);
	} else {
		*sp = tss_read(cpu, 4 + dpl * 8, 4, ext);
		*ss = (uint16_t)tss_read(cpu, 8 + dpl * 8, 2, ext);
	}
}

uint64_t sys_tss_rsp64(struct cpu *cpu, unsigned n, uint32_t ext)
{
	/* RSP0-2 at 4, 12, 20; IST1-7 at 36 + 8 * (i - 1): n = 3 + i. */
	return tss_read(cpu, 4 + n * 8, 8, ext);
}

/* ------------------------------------------------------------------ */
/* Stack frames built on an explicit stack before any register changes. */

void sys_stack_init(struct cpu *cpu, struct sys_stack *st)
{
	st->ss = cpu->s.seg[RV_SS];
	st->sp = cpu->s.gpr[RV_RSP];
	st->width = cpu_64bit(cpu) ? 8 : (cpu->s.seg[RV_SS].attrib & RV_SEG_DB) ? 4 : 2;
	st->access = ACC_WRITE;
	st->fault_error = 0;
}

static void stack_check_range(struct cpu *cpu, struct sys_stack *st, uint64_t lo, unsigned bytes)
{
	if (st->width == 8) {
		if (!sys_canonical(lo) || !sys_canonical(lo + bytes - 1))
			cpu_raise(cpu, EXC_SS, 0);
		return;
	}
	uint64_t mask = size_mask(st->width);
	uint64_t hi = lo + bytes - 1;
	const struct rv_segment *s = &st->ss;
	bool ok;
	if (!(s->attrib & RV_SEG_P)) {
		ok = false;
	} else if ((s->attrib & (RV_SEG_S | 0xc)) == (RV_SEG_S | SEGT_EXPDOWN)) {
		uint64_t upper = (s->attrib & RV_SEG_DB) ? 0xffffffffu : 0xffffu;
		ok = lo > s->limit && hi <= upper;
	} else {
		ok = hi <= s->limit && hi <= mask;
	}
	if (!ok)
		cpu_raise(cpu, EXC_SS, st->fault_error);
}

void sys_stack_check_push(struct cpu *cpu, struct sys_stack *st, unsigned bytes)
{
	uint64_t lo = (st->sp - bytes) & size_mask(st->width);
	stack_check_range(cpu, st, lo, bytes);
}

void sys_stack_check_pop(struct cpu *cpu, struct sys_stack *st, unsigned bytes)
{
	stack_check_range(cpu, st, st->sp & size_mask(st->width), bytes);
}

static uint64_t stack_lin(const struct sys_stack *st, uint64_t sp)
{
	if (st->width == 8)
		return sp;
	return (st->ss.base + sp) & 0xffffffffu;
}

void sys_stack_push(struct cpu *cpu, struct sys_stack *st, uint64_t v, unsigned size)
{
	uint64_t sp = (st->sp - size) & size_mask(st->width);
	cpu_lin_write(cpu, stack_lin(st, sp), v & size_mask(size), size, st->access | ACC_WRITE);
	st->sp = sp;
}

uint64_t sys_stack_pop(struct cpu *cpu, struct sys_stack *st, unsigned size)
{
	uint64_t sp = st->sp & size_mask(st->width);
	uint64_t v = cpu_lin_read(cpu, stack_lin(st, sp), size, st->access & ~ACC_WRITE);
	st->sp = (sp + size) & size_mask(st->width);
	return v;
}

uint64_t sys_stack_rsp(const struct cpu *cpu, const struct sys_stack *st)
{
	uint64_t mask = size_mask(st->width);
	return (cpu->s.gpr[RV_RSP] & ~mask) | (st->sp & mask);
}

/*
 * Native ring-3 execution (src/native) ran code that loaded sel into seg
 * on the host CPU, after checking that the host's descriptors for the
 * selectors it lets code use are the guest's: the same load, unchecked.
 */
void cpu_native_seg_loaded(struct cpu *cpu, int seg, uint16_t sel)
{
	uint64_t desc;

	if ((sel & ~3u) == 0 && seg != RV_CS && seg != RV_SS) {
		sys_load_null(cpu, seg, sel);
		return;
	}
	desc = sys_read_descriptor_ext(cpu, sel, EXC_GP, 0);
	if (seg == RV_CS)
		sys_set_cs(cpu, sel, desc, 3);
	else
		sys_load_desc(cpu, seg, sel, desc);
}
