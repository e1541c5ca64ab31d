/* Descriptor-table instructions: groups 0F 00 and 0F 01, LAR, LSL, ARPL. */
#include "cpu/svm.h"
#include "cpu/sys.h"

static bool protected_mode(const struct cpu *cpu)
{
	return cpu->mode != MODE_REAL && cpu->mode != MODE_VM86;
}

/* A selector-sized store: 16 bits to memory, the operand size (zero-extended) to a register. */
static void store_sel(struct cpu *cpu, const struct insn *in, uint64_t v)
{
	if (in->mod == 3)
		cpu_reg_set(cpu, in->rm, in->opsize, v);
	else
		cpu_write16(cpu, in->seg, insn_ea(cpu, in), (uint16_t)v);
}

static uint16_t load_rm16(struct cpu *cpu, const struct insn *in)
{
	if (in->mod == 3)
		return (uint16_t)cpu_reg_get(cpu, in->rm, 2);
	return cpu_read16(cpu, in->seg, insn_ea(cpu, in));
}

/*
 * The descriptor of sel for LAR/LSL/VERR/VERW, which never fault on a bad
 * selector: false if it is null or outside its table.
 */
static bool probe_descriptor(struct cpu *cpu, uint16_t sel, uint64_t *desc)
{
	uint64_t base, limit;
	if ((sel & ~3u) == 0)
		return false;
	if (sel & 4) {
		const struct rv_segment *ldt = &cpu->s.seg[RV_LDTR];
		if ((ldt->selector & ~3u) == 0 || !(ldt->attrib & RV_SEG_P))
			return false;
		base = ldt->base;
		limit = ldt->limit;
	} else {
		base = cpu->s.gdtr.base;
		limit = cpu->s.gdtr.limit;
	}
	if ((uint64_t)(sel & ~7u) + 7 > limit)
		return false;
	base += sel & ~7u;
	if (!cpu_long_mode(cpu))
		base &= 0xffffffff;
	*desc = cpu_lin_read(cpu, base, 8, ACC_READ | ACC_IMPLICIT_SV);
	return true;
}

/* Non-conforming segments are visible only if DPL >= max(CPL, RPL). */
static bool visible(const struct cpu *cpu, uint16_t sel, uint64_t d)
{
	if (desc_is_conforming(d))
		return true;
	unsigned rpl = sel & 3u, cpl = cpu->s.cpl;
	return DESC_DPL(d) >= (rpl > cpl ? rpl : cpl);
}

/* LLDT (SDM vol. 2; APM vol. 2, 4.6.2): a null selector leaves LDTR unusable. */
static void op_lldt(struct cpu *cpu, uint16_t sel)
{
	if (cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	struct rv_segment *ldtr = &cpu->s.seg[RV_LDTR];
	if ((sel & ~3u) == 0) {
		ldtr->selector = sel;
		ldtr->attrib = 0;
		ldtr->base = 0;
		ldtr->limit = 0;
		return;
	}
	if (sel & 4)
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	uint64_t d = cpu_read_descriptor(cpu, sel, EXC_GP);
	if (DESC_S(d) || DESC_TYPE(d) != SYST_LDT)
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	uint64_t hi = cpu_long_mode(cpu) ? sys_read_descriptor_hi(cpu, sel, EXC_GP) : 0;
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, sel & 0xfffc);
	if (cpu_long_mode(cpu) && !sys_canonical(desc_base64(d, hi)))
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	cpu_desc_to_seg(d, sel, ldtr);
	if (cpu_long_mode(cpu))
		ldtr->base = desc_base64(d, hi);
}

/* LTR: loads an available TSS and marks it busy in the GDT. */
static void op_ltr(struct cpu *cpu, uint16_t sel)
{
	if (cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	if ((sel & ~3u) == 0)
		cpu_raise_gp0(cpu);
	if (sel & 4)
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	uint64_t d = cpu_read_descriptor(cpu, sel, EXC_GP);
	unsigned type = DESC_TYPE(d);
	bool ok = cpu_long_mode(cpu) ? type == SYST_TSS_AVL : (type == SYST_TSS_AVL || type == SYST_TSS16_AVL);
	if (DESC_S(d) || !ok)
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	uint64_t hi = cpu_long_mode(cpu) ? sys_read_descriptor_hi(cpu, sel, EXC_GP) : 0;
	if (!DESC_P(d))
		cpu_raise(cpu, EXC_NP, sel & 0xfffc);
	if (cpu_long_mode(cpu) && !sys_canonical(desc_base64(d, hi)))
		cpu_raise(cpu, EXC_GP, sel & 0xfffc);
	d |= 2ull << 40;	/* busy */
	cpu_lin_write(cpu, sys_desc_addr(cpu, sel, EXC_GP) + 5, (d >> 40) & 0xff, 1,
		      ACC_WRITE | ACC_IMPLICIT_SV);
	struct rv_segment *tr = &cpu->s.seg[RV_TR];
	cpu_desc_to_seg(d, sel, tr);
	if (cpu_long_mode(cpu))
		tr->base = desc_base64(d, hi);
}

/* VERR/VERW: ZF = whether the segment can be read/written at the current CPL. */
static void op_verify(struct cpu *cpu, uint16_t sel, bool write)
{
	uint64_t d;
	bool ok = probe_descriptor(cpu, sel, &d) && DESC_S(d) && visible(cpu, sel, d);
	if (ok) {
		if (write)
			ok = !desc_is_code(d) && (DESC_TYPE(d) & SEGT_WRITE);
		else
			ok = !desc_is_code(d) || (DESC_TYPE(d) & SEGT_READ);
	}
	sys_set_zf(cpu, ok);
}

/* 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW (protected mode only) */
void sys_op_grp6(struct cpu *cpu, const struct insn *in)
{
	unsigned op = in->reg & 7;
	if (!protected_mode(cpu))
		cpu_raise_ud(cpu);
	switch (op) {
	case 0:
		svm_icpt(cpu, SVM_I_LDTR_READ, SVM_EXIT_LDTR_READ);
		store_sel(cpu, in, cpu->s.seg[RV_LDTR].selector);
		break;
	case 1:
		svm_icpt(cpu, SVM_I_TR_READ, SVM_EXIT_TR_READ);
		store_sel(cpu, in, cpu->s.seg[RV_TR].selector);
		break;
	case 2:
		if (cpu->s.cpl != 0)
			cpu_raise_gp0(cpu);
		svm_icpt(cpu, SVM_I_LDTR_WRITE, SVM_EXIT_LDTR_WRITE);
		op_lldt(cpu, load_rm16(cpu, in));
		break;
	case 3:
		if (cpu->s.cpl != 0)
			cpu_raise_gp0(cpu);
		svm_icpt(cpu, SVM_I_TR_WRITE, SVM_EXIT_TR_WRITE);
		op_ltr(cpu, load_rm16(cpu, in));
		break;
	case 4:
	case 5:
		op_verify(cpu, load_rm16(cpu, in), op == 5);
		break;
	default:
		cpu_raise_ud(cpu);
	}
}

/* SGDT/SIDT: limit, then a 32-bit base (64-bit in 64-bit mode). */
static void store_dtable(struct cpu *cpu, const struct insn *in, const struct rv_dtable *t)
{
	if (t == &cpu->s.gdtr)
		svm_icpt(cpu, SVM_I_GDTR_READ, SVM_EXIT_GDTR_READ);
	else
		svm_icpt(cpu, SVM_I_IDTR_READ, SVM_EXIT_IDTR_READ);
	uint64_t ea = insn_ea(cpu, in);
	uint64_t ea2 = (ea + 2) & size_mask(in->addrsize);
	unsigned n = cpu_64bit(cpu) ? 8 : 4;
	cpu_check_write(cpu, in->seg, ea, 2);
	cpu_check_write(cpu, in->seg, ea2, n);
	cpu_write16(cpu, in->seg, ea, t->limit);
	cpu_write(cpu, in->seg, ea2, cpu_64bit(cpu) ? t->base : (uint32_t)t->base, n);
}

/* LGDT/LIDT: a 16-bit operand size loads only 24 bits of base (SDM vol. 2, LGDT). */
static void load_dtable(struct cpu *cpu, const struct insn *in, struct rv_dtable *t)
{
	if (cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	if (t == &cpu->s.gdtr)
		svm_icpt(cpu, SVM_I_GDTR_WRITE, SVM_EXIT_GDTR_WRITE);
	else
		svm_icpt(cpu, SVM_I_IDTR_WRITE, SVM_EXIT_IDTR_WRITE);
	uint64_t ea = insn_ea(cpu, in);
	uint16_t limit = cpu_read16(cpu, in->seg, ea);
	uint64_t ea2 = (ea + 2) & size_mask(in->addrsize);
	uint64_t base;
	if (cpu_64bit(cpu)) {
		base = cpu_read64(cpu, in->seg, ea2);
		if (!sys_canonical(base))
			cpu_raise_gp0(cpu);
	} else {
		base = cpu_read32(cpu, in->seg, ea2);
		if (in->opsize == 2)
			base &= 0xffffff;
	}
	t->limit = limit;
	t->base = base;
}

/* LMSW: loads PE, MP, EM, TS; it can set PE but never clear it. */
static void lmsw(struct cpu *cpu, uint16_t v)
{
	if (cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	svm_icpt_cr(cpu, 0, true, 0);	/* LMSW is a CR0 write (APM vol. 2, 15.9) */
	uint64_t cr0 = cpu->s.cr0;
	uint64_t next = (cr0 & ~0xeull) | (v & 0xfu) | (cr0 & RV_CR0_PE);
	svm_icpt_cr0_sel(cpu, next, 0);
	cpu_write_cr(cpu, 0, next);
}

/* INVLPG m: the linear address of the operand (segment base + offset, no limit check). */
static void invlpg(struct cpu *cpu, const struct insn *in)
{
	if (cpu->s.cpl != 0)
		cpu_raise_gp0(cpu);
	uint64_t ea = insn_ea(cpu, in);
	uint64_t lin;
	if (cpu_64bit(cpu))
		lin = ea + ((in->seg == RV_FS || in->seg == RV_GS) ? cpu->s.seg[in->seg].base : 0);
	else
		lin = (uint32_t)(ea + cpu->s.seg[in->seg].base);
	/* decode assists: EXITINFO1 is the linear address (APM vol. 2, 15.33.3) */
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_misc1 >> SVM_I_INVLPG & 1))
		svm_exit_insn(cpu, SVM_EXIT_INVLPG, lin, 0);
	cpu_tlb_flush_page(cpu, lin);
}

/* 0F 01: SGDT, SIDT, LGDT, LIDT, SMSW, LMSW, INVLPG; with mod = 3: SWAPGS, RDTSCP, SMSW/LMSW r */
void sys_op_grp7(struct cpu *cpu, const struct insn *in)
{
	unsigned op = in->reg & 7;
	if (in->mod == 3) {
		switch (op) {
		case 3:
			svm_op(cpu, in);	/* VMRUN ... INVLPGA (svm.c) */
			return;
		case 4:
			svm_icpt_cr(cpu, 0, false, 0);	/* SMSW reads CR0 */
			cpu_reg_set(cpu, in->rm, in->opsize, cpu->s.cr0 & size_mask(in->opsize));
			return;
		case 6:
			lmsw(cpu, (uint16_t)cpu_reg_get(cpu, in->rm, 2));
			return;
		case 7:
			sys_op_swapgs_rdtscp(cpu, in);
			return;
		default:
			/* VMX, MONITOR/MWAIT, CLAC/STAC, XGETBV/XSETBV...: not implemented */
			cpu_raise_ud(cpu);
		}
	}
	switch (op) {
	case 0: store_dtable(cpu, in, &cpu->s.gdtr); break;
	case 1: store_dtable(cpu, in, &cpu->s.idtr); break;
	case 2: load_dtable(cpu, in, &cpu->s.gdtr); break;
	case 3: load_dtable(cpu, in, &cpu->s.idtr); break;
	case 4:
		svm_icpt_cr(cpu, 0, false, 0);
		cpu_write16(cpu, in->seg, insn_ea(cpu, in), (uint16_t)cpu->s.cr0);
		break;
	case 6: lmsw(cpu, cpu_read16(cpu, in->seg, insn_ea(cpu, in))); break;
	case 7: invlpg(cpu, in); break;
	default: cpu_raise_ud(cpu);
	}
}

/* System descriptor types LAR (lar = true) or LSL accept, per mode (SDM vol. 2, LAR/LSL). */
static bool system_type_ok(const struct cpu *cpu, unsigned type, bool lar)
{
	if (cpu_long_mode(cpu))
		return type == SYST_LDT || type == SYST_TSS_AVL || type == SYST_TSS_BUSY ||
		       (lar && type == SYST_CALLGATE);
	switch (type) {
	case SYST_TSS16_AVL: case SYST_LDT: case SYST_TSS16_BUSY: case SYST_TSS_AVL: case SYST_TSS_BUSY:
		return true;
	case SYST_CALLGATE16: case SYST_TASKGATE: case SYST_CALLGATE:
		return lar;
	default:
		return false;
	}
}

static bool lar_lsl_probe(struct cpu *cpu, const struct insn *in, bool lar, uint64_t *d)
{
	if (!protected_mode(cpu))
		cpu_raise_ud(cpu);
	uint16_t sel = load_rm16(cpu, in);
	bool ok = probe_descriptor(cpu, sel, d) && visible(cpu, sel, *d) &&
		  (DESC_S(*d) || system_type_ok(cpu, DESC_TYPE(*d), lar));
	sys_set_zf(cpu, ok);
	return ok;
}

/* 0F 02: LAR r, r/m16 */
void sys_op_lar(struct cpu *cpu, const struct insn *in)
{
	uint64_t d;
	if (lar_lsl_probe(cpu, in, true, &d))
		cpu_reg_set(cpu, in->reg, in->opsize, (d >> 32) & (in->opsize == 2 ? 0xff00u : 0xf0ff00u));
}

/* 0F 03: LSL r, r/m16 */
void sys_op_lsl(struct cpu *cpu, const struct insn *in)
{
	uint64_t d;
	if (lar_lsl_probe(cpu, in, false, &d))
		cpu_reg_set(cpu, in->reg, in->opsize, desc_limit(d));
}

/* 63 outside 64-bit mode: ARPL r/m16, r16 raises the destination RPL to the source's; ZF = changed. */
void cpu_arpl(struct cpu *cpu, const struct insn *in)
{
	if (!protected_mode(cpu))
		cpu_raise_ud(cpu);
	uint16_t src = (uint16_t)cpu_reg_get(cpu, in->reg, 2);
	uint64_t ea = 0;
	uint16_t dst;
	if (in->mod == 3) {
		dst = (uint16_t)cpu_reg_get(cpu, in->rm, 2);
	} else {
		ea = insn_ea(cpu, in);
		dst = cpu_read16(cpu, in->seg, ea);
	}
	bool adjust = (dst & 3u) < (src & 3u);
	if (adjust) {
		dst = (uint16_t)((dst & ~3u) | (src & 3u));
		if (in->mod == 3)
			cpu_reg_set(cpu, in->rm, 2, dst);
		else
			cpu_write16(cpu, in->seg, ea, dst);
	}
	sys_set_zf(cpu, adjust);
}
