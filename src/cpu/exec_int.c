/*
 * Integer core instructions: ALU, INC/DEC, MOV, LEA, XCHG, stack, near
 * branches, SETcc/CMOVcc, MOVZX/MOVSX, sign extensions, flag bits.
 * Every handler commits registers and flags only after its last access
 * that can fault.
 */
#include <string.h>

#include "cpu/mmu.h"
#include "cpu/svm.h"

/*
 * Local inline register and operand access (the same rules as regs.c's
 * cpu_reg_get/cpu_reg_set/insn_rm_read/insn_rm_write), so the hottest
 * handlers make no calls on their fast path.
 */
static inline uint64_t reg_get(const struct cpu *cpu, unsigned reg, unsigned size)
{
	return cpu->s.gpr[reg] & size_mask(size);
}

static inline void reg_set(struct cpu *cpu, unsigned reg, unsigned size, uint64_t v)
{
	uint64_t *r = &cpu->s.gpr[reg];

	switch (size) {
	case 1: *r = (*r & ~0xffull) | (v & 0xff); break;
	case 2: *r = (*r & ~0xffffull) | (v & 0xffff); break;
	case 4: *r = (uint32_t)v; break;
	default: *r = v; break;
	}
}

static inline uint8_t reg8_get(const struct cpu *cpu, const struct insn *in, unsigned reg)
{
	if (!in->rex && reg >= 4 && reg < 8)
		return (uint8_t)(cpu->s.gpr[reg - 4] >> 8);
	return (uint8_t)cpu->s.gpr[reg];
}

static inline void reg8_set(struct cpu *cpu, const struct insn *in, unsigned reg, uint8_t v)
{
	if (!in->rex && reg >= 4 && reg < 8) {
		uint64_t *r = &cpu->s.gpr[reg - 4];

		*r = (*r & ~0xff00ull) | ((uint64_t)v << 8);
		return;
	}
	cpu->s.gpr[reg] = (cpu->s.gpr[reg] & ~0xffull) | v;
}

static inline uint64_t ea_of(const struct cpu *cpu, const struct insn *in)
{
	uint64_t ea;

	if (in->addrsize != 8 || in->rip_rel)
		return insn_ea(cpu, in);
	ea = (uint64_t)in->disp;
	if (in->base != REG_NONE)
		ea += cpu->s.gpr[in->base];
	if (in->index != REG_NONE)
		ea += cpu->s.gpr[in->index] << in->scale;
	return ea;
}

#define cpu_reg_get reg_get
#define cpu_reg_set reg_set
#define cpu_reg8_get reg8_get
#define cpu_reg8_set reg8_set
#define insn_ea ea_of
#define cpu_read cpu_read_fast
#define cpu_write cpu_write_fast

static inline uint64_t rm_read(struct cpu *cpu, const struct insn *in)
{
	if (in->mod == 3)
		return in->opsize == 1 ? reg8_get(cpu, in, in->rm) : reg_get(cpu, in->rm, in->opsize);
	return cpu_read_fast(cpu, in->seg, ea_of(cpu, in), in->opsize);
}

static inline void rm_write(struct cpu *cpu, const struct insn *in, uint64_t v)
{
	if (in->mod == 3) {
		if (in->opsize == 1)
			reg8_set(cpu, in, in->rm, (uint8_t)v);
		else
			reg_set(cpu, in->rm, in->opsize, v);
		return;
	}
	cpu_write_fast(cpu, in->seg, ea_of(cpu, in), v, in->opsize);
}

#define insn_rm_read rm_read
#define insn_rm_write rm_write

enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

static inline int64_t sx(uint64_t v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (int64_t)(v << sh) >> sh;
}

static inline uint64_t reg_read(const struct cpu *cpu, const struct insn *in, unsigned reg, unsigned size)
{
	return size == 1 ? cpu_reg8_get(cpu, in, reg) : cpu_reg_get(cpu, reg, size);
}

static inline void reg_write(struct cpu *cpu, const struct insn *in, unsigned reg, unsigned size, uint64_t v)
{
	if (size == 1)
		cpu_reg8_set(cpu, in, reg, (uint8_t)v);
	else
		cpu_reg_set(cpu, reg, size, v);
}

/* Read the r/m operand with an explicit size (MOVZX/MOVSX sources). */
static uint64_t rm_read_sized(struct cpu *cpu, const struct insn *in, unsigned size)
{
	if (in->mod == 3)
		return reg_read(cpu, in, in->rm, size);
	return cpu_read(cpu, in->seg, insn_ea(cpu, in), size);
}

static inline uint64_t host_load(const void *p, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

static inline void host_store(void *p, uint64_t v, unsigned size)
{
	memcpy(p, &v, size);
}

/* Host compare-and-swap of `size` bytes; on failure *old gets the current value. */
static bool host_cas(void *p, unsigned size, uint64_t *old, uint64_t new)
{
	switch (size) {
	case 1: {
		uint8_t o = (uint8_t)*old;
		bool ok = __atomic_compare_exchange_n((uint8_t *)p, &o, (uint8_t)new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 2: {
		uint16_t o = (uint16_t)*old;
		bool ok = __atomic_compare_exchange_n((uint16_t *)p, &o, (uint16_t)new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	case 4: {
		uint32_t o = (uint32_t)*old;
		bool ok = __atomic_compare_exchange_n((uint32_t *)p, &o, (uint32_t)new, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = o;
		return ok;
	}
	default:
		return __atomic_compare_exchange_n((uint64_t *)p, old, new, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* The eight ALU operations on one size; the flags go to *lf, committed by the caller. */
static ALWAYS_INLINE uint64_t alu_calc(unsigned op, unsigned size, uint64_t a, uint64_t b, bool cf, struct lazy_flags *lf)
{
	uint64_t m = size_mask(size), r;
	enum cc_op cc;

	a &= m;
	b &= m;
	switch (op) {
	case ALU_ADD: r = a + b; cc = CC_ADD; break;
	case ALU_OR:  r = a | b; cc = CC_LOGIC; break;
	case ALU_ADC: r = a + b + cf; cc = CC_ADC; break;
	case ALU_SBB: r = a - b - cf; cc = CC_SBB; break;
	case ALU_AND: r = a & b; cc = CC_LOGIC; break;
	case ALU_XOR: r = a ^ b; cc = CC_LOGIC; break;
	default:      r = a - b; cc = CC_SUB; break;	/* SUB, CMP */
	}
	r &= m;
	lf->op = (uint8_t)cc;
	lf->size = (uint8_t)size;
	lf->res = r;
	lf->src1 = a;
	lf->src2 = b;
	return r;
}

/* r/m op= b, for every ALU op; LOCK uses a host CAS loop on RAM. */
static ALWAYS_INLINE void alu_rmw(struct cpu *cpu, const struct insn *in, unsigned op, uint64_t b)
{
	unsigned size = in->opsize;
	bool cf = (op == ALU_ADC || op == ALU_SBB) ? cpu_get_cf(cpu) : false;
	struct lazy_flags lf;
	uint64_t a, r, ea;
	void *p;

	if (in->mod == 3) {
		a = reg_read(cpu, in, in->rm, size);
		r = alu_calc(op, size, a, b, cf, &lf);
		if (op != ALU_CMP)
			reg_write(cpu, in, in->rm, size, r);
		cpu->lf = lf;
		return;
	}
	ea = insn_ea(cpu, in);
	if (op == ALU_CMP) {
		a = cpu_read(cpu, in->seg, ea, size);
		alu_calc(op, size, a, b, cf, &lf);
		cpu->lf = lf;
		return;
	}
	p = cpu_rmw_ptr(cpu, in->seg, ea, size);
	if (p) {
		a = host_load(p, size);
		if (in->prefix & PFX_LOCK) {
			do
				r = alu_calc(op, size, a, b, cf, &lf);
			while (!host_cas(p, size, &a, r));
		} else {
			r = alu_calc(op, size, a, b, cf, &lf);
			host_store(p, r, size);
		}
	} else {
		a = cpu_read(cpu, in->seg, ea, size);
		r = alu_calc(op, size, a, b, cf, &lf);
		cpu_write(cpu, in->seg, ea, r, size);
	}
	cpu->lf = lf;
}

/* reg op= r/m */
static ALWAYS_INLINE void alu_r_rm(struct cpu *cpu, const struct insn *in, unsigned op)
{
	unsigned size = in->opsize;
	uint64_t b = insn_rm_read(cpu, in);
	uint64_t a = reg_read(cpu, in, in->reg, size);
	bool cf = (op == ALU_ADC || op == ALU_SBB) ? cpu_get_cf(cpu) : false;
	struct lazy_flags lf;
	uint64_t r = alu_calc(op, size, a, b, cf, &lf);

	if (op != ALU_CMP)
		reg_write(cpu, in, in->reg, size, r);
	cpu->lf = lf;
}

/* AL/eAX op= imm */
static ALWAYS_INLINE void alu_acc_imm(struct cpu *cpu, const struct insn *in, unsigned op)
{
	unsigned size = in->opsize;
	uint64_t a = cpu_reg_get(cpu, RV_RAX, size);
	bool cf = (op == ALU_ADC || op == ALU_SBB) ? cpu_get_cf(cpu) : false;
	struct lazy_flags lf;
	uint64_t r = alu_calc(op, size, a, in->imm, cf, &lf);

	if (op != ALU_CMP)
		cpu_reg_set(cpu, RV_RAX, size, r);
	cpu->lf = lf;
}

/* One handler per operation and form, so each inlines its own arithmetic. */
#define ALU_HANDLERS(name, op)                                                          	static void op_##name##_rm_r(struct cpu *cpu, const struct insn *in)            	{                                                                               		alu_rmw(cpu, in, op, reg_read(cpu, in, in->reg, in->opsize));          	}                                                                               	static void op_##name##_r_rm(struct cpu *cpu, const struct insn *in)            	{                                                                               		alu_r_rm(cpu, in, op);                                                  	}                                                                               	static void op_##name##_acc(struct cpu *cpu, const struct insn *in)             	{                                                                               		alu_acc_imm(cpu, in, op);                                               	}
ALU_HANDLERS(add, ALU_ADD)
ALU_HANDLERS(or, ALU_OR)
ALU_HANDLERS(adc, ALU_ADC)
ALU_HANDLERS(sbb, ALU_SBB)
ALU_HANDLERS(and, ALU_AND)
ALU_HANDLERS(sub, ALU_SUB)
ALU_HANDLERS(xor, ALU_XOR)
ALU_HANDLERS(cmp, ALU_CMP)

/* 80/81/82/83: group 1, r/m op= imm */
static void op_grp1(struct cpu *cpu, const struct insn *in)
{
	switch (in->reg & 7) {
	case ALU_ADD: alu_rmw(cpu, in, ALU_ADD, in->imm); break;
	case ALU_OR:  alu_rmw(cpu, in, ALU_OR, in->imm); break;
	case ALU_ADC: alu_rmw(cpu, in, ALU_ADC, in->imm); break;
	case ALU_SBB: alu_rmw(cpu, in, ALU_SBB, in->imm); break;
	case ALU_AND: alu_rmw(cpu, in, ALU_AND, in->imm); break;
	case ALU_SUB: alu_rmw(cpu, in, ALU_SUB, in->imm); break;
	case ALU_XOR: alu_rmw(cpu, in, ALU_XOR, in->imm); break;
	default:      alu_rmw(cpu, in, ALU_CMP, in->imm); break;
	}
}

/* 84/85 TEST r/m, reg; A8/A9 TEST acc, imm */
static void op_test_rm_r(struct cpu *cpu, const struct insn *in)
{
	uint64_t a = insn_rm_read(cpu, in);
	uint64_t b = reg_read(cpu, in, in->reg, in->opsize);

	cpu_set_lazy(cpu, CC_LOGIC, in->opsize, a & b, 0, 0);
}

static void op_test_acc_imm(struct cpu *cpu, const struct insn *in)
{
	uint64_t a = cpu_reg_get(cpu, RV_RAX, in->opsize);

	cpu_set_lazy(cpu, CC_LOGIC, in->opsize, a & in->imm & size_mask(in->opsize), 0, 0);
}

/* INC/DEC keep CF: the lazy record carries the old CF in src2 */
static uint64_t incdec_calc(struct cpu *cpu, bool dec, unsigned size, uint64_t a, struct lazy_flags *lf)
{
	uint64_t r = (dec ? a - 1 : a + 1) & size_mask(size);

	lf->op = dec ? CC_DEC : CC_INC;
	lf->size = (uint8_t)size;
	lf->res = r;
	lf->src1 = a & size_mask(size);
	lf->src2 = cpu_get_cf(cpu);
	return r;
}

static void incdec_rm(struct cpu *cpu, const struct insn *in, bool dec)
{
	unsigned size = in->opsize;
	struct lazy_flags lf;
	uint64_t a, r, ea;
	void *p;

	if (in->mod == 3) {
		a = reg_read(cpu, in, in->rm, size);
		r = incdec_calc(cpu, dec, size, a, &lf);
		reg_write(cpu, in, in->rm, size, r);
		cpu->lf = lf;
		return;
	}
	ea = insn_ea(cpu, in);
	p = cpu_rmw_ptr(cpu, in->seg, ea, size);
	if (p) {
		a = host_load(p, size);
		if (in->prefix & PFX_LOCK) {
			do
				r = incdec_calc(cpu, dec, size, a, &lf);
			while (!host_cas(p, size, &a, r));
		} else {
			r = incdec_calc(cpu, dec, size, a, &lf);
			host_store(p, r, size);
		}
	} else {
		a = cpu_read(cpu, in->seg, ea, size);
		r = incdec_calc(cpu, dec, size, a, &lf);
		cpu_write(cpu, in->seg, ea, r, size);
	}
	cpu->lf = lf;
}

/* 40-4F (16/32-bit modes only) */
static void op_incdec_reg(struct cpu *cpu, const struct insn *in)
{
	unsigned reg = in->opcode & 7, size = in->opsize;
	struct lazy_flags lf;
	uint64_t r = incdec_calc(cpu, in->opcode & 8, size, cpu_reg_get(cpu, reg, size), &lf);

	cpu_reg_set(cpu, reg, size, r);
	cpu->lf = lf;
}

/* FE: /0 INC r/m8, /1 DEC r/m8 */
static void op_grp4(struct cpu *cpu, const struct insn *in)
{
	if ((in->reg & 7) > 1)
		cpu_raise_ud(cpu);
	incdec_rm(cpu, in, in->reg & 1);
}

static uint64_t stack_top(const struct cpu *cpu)
{
	return cpu->s.gpr[RV_RSP] & size_mask(cpu->stack_size);
}

/* FF: INC, DEC, CALL, CALL far, JMP, JMP far, PUSH */
static void op_grp5(struct cpu *cpu, const struct insn *in)
{
	unsigned dg = in->reg & 7, size = in->opsize;
	uint64_t v, ea;
	uint16_t sel;

	switch (dg) {
	case 0:
	case 1:
		incdec_rm(cpu, in, dg == 1);
		return;
	case 2: {
		uint64_t ret = cpu->next_rip;

		v = insn_rm_read(cpu, in);
		cpu_jump_near(cpu, v, size);	/* checks the target, sets next_rip */
		cpu_push(cpu, ret, size);
		return;
	}
	case 4:
		cpu_jump_near(cpu, insn_rm_read(cpu, in), size);
		return;
	case 3:
	case 5:
		/* m16:16 / m16:32 / m16:64 */
		if (in->mod == 3)
			cpu_raise_ud(cpu);
		ea = insn_ea(cpu, in);
		v = cpu_read(cpu, in->seg, ea, size);
		sel = cpu_read16(cpu, in->seg, (ea + size) & size_mask(in->addrsize));
		if (dg == 3)
			cpu_far_call(cpu, sel, v, size);
		else
			cpu_far_jump(cpu, sel, v, size);
		return;
	case 6:
		cpu_push(cpu, insn_rm_read(cpu, in), size);
		return;
	default:
		cpu_raise_ud(cpu);
	}
}

/* MOV */
static void op_mov_rm_r(struct cpu *cpu, const struct insn *in)
{
	insn_rm_write(cpu, in, reg_read(cpu, in, in->reg, in->opsize));
}

static void op_mov_r_rm(struct cpu *cpu, const struct insn *in)
{
	reg_write(cpu, in, in->reg, in->opsize, insn_rm_read(cpu, in));
}

/* A0-A3: MOV acc, moffs and back */
static void op_mov_moffs(struct cpu *cpu, const struct insn *in)
{
	uint64_t ea = insn_ea(cpu, in);

	if (in->opcode & 2)
		cpu_write(cpu, in->seg, ea, cpu_reg_get(cpu, RV_RAX, in->opsize), in->opsize);
	else
		cpu_reg_set(cpu, RV_RAX, in->opsize, cpu_read(cpu, in->seg, ea, in->opsize));
}

/* B0-BF: MOV reg, imm */
static void op_mov_r_imm(struct cpu *cpu, const struct insn *in)
{
	unsigned reg = (in->opcode & 7) | ((in->rex & 1) << 3);

	reg_write(cpu, in, reg, in->opsize, in->imm);
}

/* C6/C7 /0: MOV r/m, imm */
static void op_mov_rm_imm(struct cpu *cpu, const struct insn *in)
{
	if (in->reg & 7)
		cpu_raise_ud(cpu);
	insn_rm_write(cpu, in, in->imm);
}

/* 8D LEA: the offset, computed in the address size and truncated to the operand size */
static void op_lea(struct cpu *cpu, const struct insn *in)
{
	if (in->mod == 3)
		cpu_raise_ud(cpu);
	cpu_reg_set(cpu, in->reg, in->opsize, insn_ea(cpu, in));
}

/* 86/87: XCHG with memory is always locked (SDM XCHG) */
static void op_xchg_rm_r(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize;
	uint64_t b = reg_read(cpu, in, in->reg, size), a, ea;
	void *p;

	if (in->mod == 3) {
		a = reg_read(cpu, in, in->rm, size);
		reg_write(cpu, in, in->rm, size, b);
		reg_write(cpu, in, in->reg, size, a);
		return;
	}
	ea = insn_ea(cpu, in);
	p = cpu_rmw_ptr(cpu, in->seg, ea, size);
	if (p) {
		switch (size) {
		case 1: a = __atomic_exchange_n((uint8_t *)p, (uint8_t)b, __ATOMIC_SEQ_CST); break;
		case 2: a = __atomic_exchange_n((uint16_t *)p, (uint16_t)b, __ATOMIC_SEQ_CST); break;
		case 4: a = __atomic_exchange_n((uint32_t *)p, (uint32_t)b, __ATOMIC_SEQ_CST); break;
		default: a = __atomic_exchange_n((uint64_t *)p, b, __ATOMIC_SEQ_CST); break;
		}
	} else {
		a = cpu_read(cpu, in->seg, ea, size);
		cpu_write(cpu, in->seg, ea, b, size);
	}
	reg_write(cpu, in, in->reg, size, a);
}

/* 90-97: XCHG rAX, reg; 90 without REX.B is NOP (F3 90: PAUSE) */
static void op_xchg_acc(struct cpu *cpu, const struct insn *in)
{
	unsigned reg = (in->opcode & 7) | ((in->rex & 1) << 3), size = in->opsize;
	uint64_t a, b;

	if (reg == 0) {
		if (in->prefix & PFX_REP)
			svm_icpt(cpu, SVM_I_PAUSE, SVM_EXIT_PAUSE);	/* no pause filter is offered */
		return;
	}
	a = cpu_reg_get(cpu, RV_RAX, size);
	b = cpu_reg_get(cpu, reg, size);
	cpu_reg_set(cpu, RV_RAX, size, b);
	cpu_reg_set(cpu, reg, size, a);
}

static void op_nop(struct cpu *cpu, const struct insn *in)
{
}

/* 50-57 PUSH reg (PUSH rSP pushes the value before the push) */
static void op_push_reg(struct cpu *cpu, const struct insn *in)
{
	unsigned reg = (in->opcode & 7) | ((in->rex & 1) << 3);

	cpu_push(cpu, cpu_reg_get(cpu, reg, in->opsize), in->opsize);
}

/* 58-5F POP reg (POP rSP loads the popped value) */
static void op_pop_reg(struct cpu *cpu, const struct insn *in)
{
	unsigned reg = (in->opcode & 7) | ((in->rex & 1) << 3);
	uint64_t v = cpu_pop(cpu, in->opsize);

	cpu_reg_set(cpu, reg, in->opsize, v);
}

/* 68/6A PUSH imm */
static void op_push_imm(struct cpu *cpu, const struct insn *in)
{
	cpu_push(cpu, in->imm, in->opsize);
}

/*
 * 8F /0 POP r/m. An rSP-based address is computed with rSP already
 * incremented (SDM POP); rSP is committed only after the store.
 */
static void op_pop_rm(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize, ss = cpu->stack_size;
	uint64_t sp = stack_top(cpu), v, old_rsp = cpu->s.gpr[RV_RSP];

	if (in->reg & 7)
		cpu_raise_ud(cpu);
	v = cpu_read(cpu, RV_SS, sp, size);
	if (in->mod == 3) {
		cpu_reg_set(cpu, RV_RSP, ss, sp + size);
		cpu_reg_set(cpu, in->rm, size, v);
		return;
	}
	{
		uint64_t ea;

		cpu_reg_set(cpu, RV_RSP, ss, sp + size);
		ea = insn_ea(cpu, in);
		cpu->s.gpr[RV_RSP] = old_rsp;
		cpu_write(cpu, in->seg, ea, v, size);
		cpu_reg_set(cpu, RV_RSP, ss, sp + size);
	}
}

/* 63: MOVSXD in 64-bit mode, ARPL elsewhere */
static void op_63(struct cpu *cpu, const struct insn *in)
{
	uint64_t v;

	if (!cpu_64bit(cpu)) {
		cpu_arpl(cpu, in);
		return;
	}
	v = rm_read_sized(cpu, in, in->opsize == 8 ? 4 : in->opsize);
	if (in->opsize == 8)
		v = (uint64_t)(int64_t)(int32_t)v;
	cpu_reg_set(cpu, in->reg, in->opsize, v);
}

/* Jcc rel8 / rel16/32 */
static void op_jcc(struct cpu *cpu, const struct insn *in)
{
	if (cpu_cond(cpu, in->opcode & 15))
		cpu_jump_near(cpu, cpu->next_rip + in->imm, in->opsize);
}

static void op_jmp_rel(struct cpu *cpu, const struct insn *in)
{
	cpu_jump_near(cpu, cpu->next_rip + in->imm, in->opsize);
}

static void op_call_rel(struct cpu *cpu, const struct insn *in)
{
	uint64_t ret = cpu->next_rip;

	cpu_jump_near(cpu, ret + in->imm, in->opsize);
	cpu_push(cpu, ret, in->opsize);
}

/* C3 RET, C2 RET imm16: rSP moves only once the target is known good */
static void op_ret(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize, ss = cpu->stack_size;
	uint64_t sp = stack_top(cpu);
	uint64_t target = cpu_read(cpu, RV_SS, sp, size);

	cpu_jump_near(cpu, target, size);
	cpu_reg_set(cpu, RV_RSP, ss, sp + size + (in->opcode == 0xc2 ? in->imm : 0));
}

/* 0F 90-9F SETcc r/m8 */
static void op_setcc(struct cpu *cpu, const struct insn *in)
{
	insn_rm_write(cpu, in, cpu_cond(cpu, in->opcode & 15));
}

/* 0F 40-4F CMOVcc: the source is read even if the condition fails; a 32-bit CMOV always zero-extends */
static void op_cmovcc(struct cpu *cpu, const struct insn *in)
{
	uint64_t v = insn_rm_read(cpu, in);

	if (cpu_cond(cpu, in->opcode & 15))
		cpu_reg_set(cpu, in->reg, in->opsize, v);
	else if (in->opsize == 4)
		cpu_reg_set(cpu, in->reg, 4, cpu_reg_get(cpu, in->reg, 4));
}

/* 0F B6/B7 MOVZX, 0F BE/BF MOVSX */
static void op_movzx(struct cpu *cpu, const struct insn *in)
{
	unsigned src = (in->opcode & 1) ? 2 : 1;

	cpu_reg_set(cpu, in->reg, in->opsize, rm_read_sized(cpu, in, src));
}

static void op_movsx(struct cpu *cpu, const struct insn *in)
{
	unsigned src = (in->opcode & 1) ? 2 : 1;

	cpu_reg_set(cpu, in->reg, in->opsize, (uint64_t)sx(rm_read_sized(cpu, in, src), src));
}

/* 98: CBW/CWDE/CDQE */
static void op_cbw(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize;

	cpu_reg_set(cpu, RV_RAX, size, (uint64_t)sx(cpu_reg_get(cpu, RV_RAX, size / 2), size / 2));
}

/* 99: CWD/CDQ/CQO */
static void op_cwd(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize;

	cpu_reg_set(cpu, RV_RDX, size, sx(cpu_reg_get(cpu, RV_RAX, size), size) < 0 ? ~0ull : 0);
}

/* F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD */
static void op_flagbit(struct cpu *cpu, const struct insn *in)
{
	switch (in->opcode) {
	case 0xf5: cpu_set_flags_eager(cpu, RV_FLAG_CF, cpu_get_cf(cpu) ? 0 : RV_FLAG_CF); break;
	case 0xf8: cpu_set_flags_eager(cpu, RV_FLAG_CF, 0); break;
	case 0xf9: cpu_set_flags_eager(cpu, RV_FLAG_CF, RV_FLAG_CF); break;
	case 0xfc: cpu->s.rflags &= ~(uint64_t)RV_FLAG_DF; break;
	default:   cpu->s.rflags |= RV_FLAG_DF; break;
	}
}

static void op_ud2(struct cpu *cpu, const struct insn *in)
{
	cpu_raise_ud(cpu);
}

#define M  OPF_MODRM
#define B  OPF_BYTE
#define L  OPF_LOCKOK
#define ALU_ROW(base, nm)                                                                       \
	{ MAP_1B, (base) + 0, M | B | L, op_##nm##_rm_r, #nm }, { MAP_1B, (base) + 1, M | L, op_##nm##_rm_r, #nm }, \
	{ MAP_1B, (base) + 2, M | B, op_##nm##_r_rm, #nm }, { MAP_1B, (base) + 3, M, op_##nm##_r_rm, #nm },         \
	{ MAP_1B, (base) + 4, B | OPF_IMM8, op_##nm##_acc, #nm }, { MAP_1B, (base) + 5, OPF_IMMZ, op_##nm##_acc, #nm }
#define ROW8(map, base, fl, fn, nm)                                                             \
	{ map, (base) + 0, fl, fn, nm }, { map, (base) + 1, fl, fn, nm }, { map, (base) + 2, fl, fn, nm }, \
	{ map, (base) + 3, fl, fn, nm }, { map, (base) + 4, fl, fn, nm }, { map, (base) + 5, fl, fn, nm }, \
	{ map, (base) + 6, fl, fn, nm }, { map, (base) + 7, fl, fn, nm }
#define ROW16(map, base, fl, fn, nm) ROW8(map, base, fl, fn, nm), ROW8(map, (base) + 8, fl, fn, nm)

const struct opdesc cpu_ops_int[] = {
	ALU_ROW(0x00, add), ALU_ROW(0x08, or), ALU_ROW(0x10, adc), ALU_ROW(0x18, sbb),
	ALU_ROW(0x20, and), ALU_ROW(0x28, sub), ALU_ROW(0x30, xor),
	/* CMP writes nothing: no LOCK */
	{ MAP_1B, 0x38, M | B, op_cmp_rm_r, "cmp" }, { MAP_1B, 0x39, M, op_cmp_rm_r, "cmp" },
	{ MAP_1B, 0x3a, M | B, op_cmp_r_rm, "cmp" }, { MAP_1B, 0x3b, M, op_cmp_r_rm, "cmp" },
	{ MAP_1B, 0x3c, B | OPF_IMM8, op_cmp_acc, "cmp" }, { MAP_1B, 0x3d, OPF_IMMZ, op_cmp_acc, "cmp" },
	ROW16(MAP_1B, 0x40, OPF_INV64, op_incdec_reg, "inc/dec"),
	ROW8(MAP_1B, 0x50, OPF_DEF64, op_push_reg, "push"),
	ROW8(MAP_1B, 0x58, OPF_DEF64, op_pop_reg, "pop"),
	{ MAP_1B, 0x63, M, op_63, "movsxd/arpl" },
	{ MAP_1B, 0x68, OPF_IMMZ | OPF_DEF64, op_push_imm, "push" },
	{ MAP_1B, 0x6a, OPF_IMM8 | OPF_DEF64, op_push_imm, "push" },
	ROW16(MAP_1B, 0x70, OPF_IMM8 | OPF_REL | OPF_FORCE64, op_jcc, "jcc"),
	{ MAP_1B, 0x80, M | B | OPF_IMM8 | L, op_grp1, "grp1" },
	{ MAP_1B, 0x81, M | OPF_IMMZ | L, op_grp1, "grp1" },
	{ MAP_1B, 0x82, M | B | OPF_IMM8 | L | OPF_INV64, op_grp1, "grp1" },
	{ MAP_1B, 0x83, M | OPF_IMM8 | L, op_grp1, "grp1" },
	{ MAP_1B, 0x84, M | B, op_test_rm_r, "test" }, { MAP_1B, 0x85, M, op_test_rm_r, "test" },
	{ MAP_1B, 0x86, M | B | L, op_xchg_rm_r, "xchg" }, { MAP_1B, 0x87, M | L, op_xchg_rm_r, "xchg" },
	{ MAP_1B, 0x88, M | B, op_mov_rm_r, "mov" }, { MAP_1B, 0x89, M, op_mov_rm_r, "mov" },
	{ MAP_1B, 0x8a, M | B, op_mov_r_rm, "mov" }, { MAP_1B, 0x8b, M, op_mov_r_rm, "mov" },
	{ MAP_1B, 0x8d, M, op_lea, "lea" },
	{ MAP_1B, 0x8f, M | OPF_DEF64, op_pop_rm, "pop" },
	ROW8(MAP_1B, 0x90, 0, op_xchg_acc, "xchg/nop"),
	{ MAP_1B, 0x98, 0, op_cbw, "cbw" }, { MAP_1B, 0x99, 0, op_cwd, "cwd" },
	{ MAP_1B, 0xa0, B | OPF_MOFFS, op_mov_moffs, "mov" }, { MAP_1B, 0xa1, OPF_MOFFS, op_mov_moffs, "mov" },
	{ MAP_1B, 0xa2, B | OPF_MOFFS, op_mov_moffs, "mov" }, { MAP_1B, 0xa3, OPF_MOFFS, op_mov_moffs, "mov" },
	{ MAP_1B, 0xa8, B | OPF_IMM8, op_test_acc_imm, "test" }, { MAP_1B, 0xa9, OPF_IMMZ, op_test_acc_imm, "test" },
	ROW8(MAP_1B, 0xb0, B | OPF_IMM8U, op_mov_r_imm, "mov"),
	ROW8(MAP_1B, 0xb8, OPF_IMMV, op_mov_r_imm, "mov"),
	{ MAP_1B, 0xc2, OPF_IMM16 | OPF_FORCE64, op_ret, "ret" },
	{ MAP_1B, 0xc3, OPF_FORCE64, op_ret, "ret" },
	{ MAP_1B, 0xc6, M | B | OPF_IMM8, op_mov_rm_imm, "mov" },
	{ MAP_1B, 0xc7, M | OPF_IMMZ, op_mov_rm_imm, "mov" },
	{ MAP_1B, 0xe8, OPF_IMMZ | OPF_REL | OPF_FORCE64, op_call_rel, "call" },
	{ MAP_1B, 0xe9, OPF_IMMZ | OPF_REL | OPF_FORCE64, op_jmp_rel, "jmp" },
	{ MAP_1B, 0xeb, OPF_IMM8 | OPF_REL | OPF_FORCE64, op_jmp_rel, "jmp" },
	{ MAP_1B, 0xf5, 0, op_flagbit, "cmc" },
	{ MAP_1B, 0xf8, 0, op_flagbit, "clc" }, { MAP_1B, 0xf9, 0, op_flagbit, "stc" },
	{ MAP_1B, 0xfc, 0, op_flagbit, "cld" }, { MAP_1B, 0xfd, 0, op_flagbit, "std" },
	{ MAP_1B, 0xfe, M | B | L, op_grp4, "grp4" },
	{ MAP_1B, 0xff, M | L, op_grp5, "grp5" },
	{ MAP_0F, 0x0b, 0, op_ud2, "ud2" },
	/* 0F 19-1F: hint NOPs (incl. ENDBR64 = F3 0F 1E FA, NOP r/m = 0F 1F) */
	{ MAP_0F, 0x19, M, op_nop, "nop" }, { MAP_0F, 0x1a, M, op_nop, "nop" },
	{ MAP_0F, 0x1b, M, op_nop, "nop" }, { MAP_0F, 0x1c, M, op_nop, "nop" },
	{ MAP_0F, 0x1d, M, op_nop, "nop" }, { MAP_0F, 0x1e, M, op_nop, "nop" },
	{ MAP_0F, 0x1f, M, op_nop, "nop" },
	ROW16(MAP_0F, 0x40, M, op_cmovcc, "cmovcc"),
	ROW16(MAP_0F, 0x80, OPF_IMMZ | OPF_REL | OPF_FORCE64, op_jcc, "jcc"),
	ROW16(MAP_0F, 0x90, M | B, op_setcc, "setcc"),
	{ MAP_0F, 0xb6, M, op_movzx, "movzx" }, { MAP_0F, 0xb7, M, op_movzx, "movzx" },
	{ MAP_0F, 0xbe, M, op_movsx, "movsx" }, { MAP_0F, 0xbf, M, op_movsx, "movsx" },
	{ 0 }
};
