/*
 * Specialised handlers for the hottest integer forms, chosen by the
 * decoder (cpu_fast_handler) per operation, operand size and operand
 * kind, so each has no switch and no call on its path: register-register
 * and register-immediate ALU ops, TEST, INC/DEC, MOV, and Jcc evaluated
 * straight from the lazy flags. Each does exactly what the generic
 * handler in exec_int.c does for that form (same lazy-flag record), so
 * the two are interchangeable; the oracle tests run both.
 */
#include "cpu/block.h"
#include "cpu/exec_int2.h"
#include "cpu/mmu.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

enum { F_ADD, F_OR, F_ADC, F_SBB, F_AND, F_SUB, F_XOR, F_CMP };

static ALWAYS_INLINE uint64_t trunc_sz(uint64_t v, unsigned size)
{
	return size == 8 ? v : (uint32_t)v;
}

/* dst op= src for sizes 4 and 8; the lazy record as alu_calc() makes it. */
static ALWAYS_INLINE void alu_fast(struct cpu *cpu, unsigned op, unsigned size, unsigned dst, uint64_t b)
{
	uint64_t a = trunc_sz(cpu->s.gpr[dst], size), r;
	uint8_t cc;

	b = trunc_sz(b, size);
	switch (op) {
	case F_ADD: r = a + b; cc = CC_ADD; break;
	case F_OR:  r = a | b; cc = CC_LOGIC; break;
	case F_AND: r = a & b; cc = CC_LOGIC; break;
	case F_XOR: r = a ^ b; cc = CC_LOGIC; break;
	default:    r = a - b; cc = CC_SUB; break;	/* SUB, CMP */
	}
	r = trunc_sz(r, size);
	if (op != F_CMP)
		cpu->s.gpr[dst] = r;	/* a 32-bit result zero-extends */
	cpu->lf.op = cc;
	cpu->lf.size = (uint8_t)size;
	cpu->lf.res = r;
	cpu->lf.src1 = a;
	cpu->lf.src2 = b;
}

/* 01/09/21/29/31/39 with mod = 3: r/m op= reg; 03/0B/...: reg op= r/m; 81/83 mod = 3: r/m op= imm */
#define ALU_FAST(name, op, size)                                                       \
	static void fast_##name##_rmr##size(struct cpu *cpu, const struct insn *in)    \
	{                                                                              \
		alu_fast(cpu, op, size, in->rm, cpu->s.gpr[in->reg]);                  \
	}                                                                              \
	static void fast_##name##_rrm##size(struct cpu *cpu, const struct insn *in)    \
	{                                                                              \
		alu_fast(cpu, op, size, in->reg, cpu->s.gpr[in->rm]);                  \
	}                                                                              \
	static void fast_##name##_ri##size(struct cpu *cpu, const struct insn *in)     \
	{                                                                              \
		alu_fast(cpu, op, size, in->rm, in->imm);                              \
	}
#define ALU_FAST_SIZES(name, op) ALU_FAST(name, op, 4) ALU_FAST(name, op, 8)
ALU_FAST_SIZES(add, F_ADD)
ALU_FAST_SIZES(or, F_OR)
ALU_FAST_SIZES(and, F_AND)
ALU_FAST_SIZES(sub, F_SUB)
ALU_FAST_SIZES(xor, F_XOR)
ALU_FAST_SIZES(cmp, F_CMP)

/* Handlers by [ALU op][form: r/m,reg | reg,r/m | r/m,imm][size 4 | 8]; NULL for ADC/SBB (they read CF). */
#define ALU_ROW(name) { { fast_##name##_rmr4, fast_##name##_rmr8 }, { fast_##name##_rrm4, fast_##name##_rrm8 }, \
			{ fast_##name##_ri4, fast_##name##_ri8 } }
static const insn_fn alu_table[8][3][2] = {
	ALU_ROW(add), ALU_ROW(or), { { 0 } }, { { 0 } }, ALU_ROW(and), ALU_ROW(sub), ALU_ROW(xor), ALU_ROW(cmp),
};

/* 85 TEST r/m, reg with mod = 3 */
static void fast_test_rr4(struct cpu *cpu, const struct insn *in)
{
	cpu_set_lazy(cpu, CC_LOGIC, 4, (uint32_t)(cpu->s.gpr[in->rm] & cpu->s.gpr[in->reg]), 0, 0);
}

static void fast_test_rr8(struct cpu *cpu, const struct insn *in)
{
	cpu_set_lazy(cpu, CC_LOGIC, 8, cpu->s.gpr[in->rm] & cpu->s.gpr[in->reg], 0, 0);
}

/* CF from the lazy record without evaluating the rest (as cpu_get_cf). */
static ALWAYS_INLINE bool lazy_cf(struct cpu *cpu)
{
	const struct lazy_flags *lf = &cpu->lf;

	switch (lf->op) {
	case CC_ADD:
		return (lf->res & size_mask(lf->size)) < (lf->src1 & size_mask(lf->size));
	case CC_SUB:
		return (lf->src1 & size_mask(lf->size)) < (lf->src2 & size_mask(lf->size));
	case CC_LOGIC:
		return false;
	case CC_INC:
	case CC_DEC:
		return lf->src2 & 1;
	default:
		return cpu_get_cf(cpu);
	}
}

/* INC/DEC keep CF: the old CF goes into src2 (as incdec_calc). */
static ALWAYS_INLINE void incdec_fast(struct cpu *cpu, unsigned reg, unsigned size, bool dec)
{
	uint64_t a = trunc_sz(cpu->s.gpr[reg], size);
	uint64_t r = trunc_sz(dec ? a - 1 : a + 1, size);
	bool cf = lazy_cf(cpu);

	cpu->s.gpr[reg] = r;
	cpu->lf.op = dec ? CC_DEC : CC_INC;
	cpu->lf.size = (uint8_t)size;
	cpu->lf.res = r;
	cpu->lf.src1 = a;
	cpu->lf.src2 = cf;
}

/* 40-4F (32-bit modes): the register is in the opcode */
static void fast_inc_op4(struct cpu *cpu, const struct insn *in) { incdec_fast(cpu, in->opcode & 7, 4, false); }
static void fast_dec_op4(struct cpu *cpu, const struct insn *in) { incdec_fast(cpu, in->opcode & 7, 4, true); }
/* FF /0 /1 with mod = 3 */
static void fast_inc_rm4(struct cpu *cpu, const struct insn *in) { incdec_fast(cpu, in->rm, 4, false); }
static void fast_dec_rm4(struct cpu *cpu, const struct insn *in) { incdec_fast(cpu, in->rm, 4, true); }
static void fast_inc_rm8(struct cpu *cpu, const struct insn *in) { incdec_fast(cpu, in->rm, 8, false); }
static void fast_dec_rm8(struct cpu *cpu, const struct insn *in) { incdec_fast(cpu, in->rm, 8, true); }

/* MOV between registers (89/8B mod = 3) and MOV reg, imm (B8+r) */
static void fast_mov_rmr4(struct cpu *cpu, const struct insn *in) { cpu->s.gpr[in->rm] = (uint32_t)cpu->s.gpr[in->reg]; }
static void fast_mov_rmr8(struct cpu *cpu, const struct insn *in) { cpu->s.gpr[in->rm] = cpu->s.gpr[in->reg]; }
static void fast_mov_rrm4(struct cpu *cpu, const struct insn *in) { cpu->s.gpr[in->reg] = (uint32_t)cpu->s.gpr[in->rm]; }
static void fast_mov_rrm8(struct cpu *cpu, const struct insn *in) { cpu->s.gpr[in->reg] = cpu->s.gpr[in->rm]; }

static void fast_mov_ri4(struct cpu *cpu, const struct insn *in)
{
	cpu->s.gpr[(in->opcode & 7) | ((in->rex & 1) << 3)] = (uint32_t)in->imm;
}

static void fast_mov_ri8(struct cpu *cpu, const struct insn *in)
{
	cpu->s.gpr[(in->opcode & 7) | ((in->rex & 1) << 3)] = in->imm;
}

/*
 * Jcc straight from the lazy record: ZF and SF from the result alone for
 * any operation; after SUB/CMP every condition from the operands; after a
 * logic op CF = OF = 0. Anything else asks cpu_cond().
 */
static ALWAYS_INLINE bool cond_fast(struct cpu *cpu, unsigned cc)
{
	const struct lazy_flags *lf = &cpu->lf;
	unsigned sh = 64 - lf->size * 8;
	bool r;

	if (__builtin_expect(cc_is_stored(lf->op), 0))
		return cpu_cond(cpu, cc);
	switch (cc >> 1) {
	case 2:
		r = (lf->res << sh) == 0;
		break;
	case 4:
		r = (int64_t)(lf->res << sh) < 0;
		break;
	default:
		if (lf->op == CC_SUB) {
			uint64_t a = lf->src1 << sh, b = lf->src2 << sh;	/* compare in the top bits */

			switch (cc >> 1) {
			case 1: r = a < b; break;
			case 3: r = a <= b; break;
			case 6: r = (int64_t)a < (int64_t)b; break;
			case 7: r = (int64_t)a <= (int64_t)b; break;
			default: return cpu_cond(cpu, cc);
			}
		} else if (lf->op == CC_LOGIC) {
			int64_t s = (int64_t)(lf->res << sh);

			switch (cc >> 1) {
			case 0: case 1: r = false; break;
			case 3: r = s == 0; break;
			case 6: r = s < 0; break;
			case 7: r = s <= 0; break;
			default: return cpu_cond(cpu, cc);
			}
		} else {
			return cpu_cond(cpu, cc);
		}
	}
	return r ^ (cc & 1);
}

/* The near jump of cpu_jump_near() for operand size 4 or 8 (the only ones chosen here). */
static ALWAYS_INLINE void jump_rel(struct cpu *cpu, const struct insn *in)
{
	uint64_t target = cpu->next_rip + in->imm;

	if (in->opsize == 8) {
		if (__builtin_expect(!canonical(target), 0))
			cpu_raise_gp0(cpu);
	} else {
		target = (uint32_t)target;
		if (__builtin_expect(target > cpu->s.seg[RV_CS].limit, 0))
			cpu_raise_gp0(cpu);
	}
	cpu->next_rip = target;
}

#define JCC_FAST(cc)                                                          \
	static void fast_jcc_##cc(struct cpu *cpu, const struct insn *in)     \
	{                                                                     \
		if (cond_fast(cpu, cc))                                       \
			jump_rel(cpu, in);                                    \
	}
JCC_FAST(0) JCC_FAST(1) JCC_FAST(2) JCC_FAST(3) JCC_FAST(4) JCC_FAST(5) JCC_FAST(6) JCC_FAST(7)
JCC_FAST(8) JCC_FAST(9) JCC_FAST(10) JCC_FAST(11) JCC_FAST(12) JCC_FAST(13) JCC_FAST(14) JCC_FAST(15)
static const insn_fn jcc_table[16] = {
	fast_jcc_0, fast_jcc_1, fast_jcc_2, fast_jcc_3, fast_jcc_4, fast_jcc_5, fast_jcc_6, fast_jcc_7,
	fast_jcc_8, fast_jcc_9, fast_jcc_10, fast_jcc_11, fast_jcc_12, fast_jcc_13, fast_jcc_14, fast_jcc_15,
};

/*
 * C1 /0 /1 /4 /5 /7 (imm8) and D1 (by 1) on a register, sizes 4 and 8:
 * the same results and flags as int2_grp2() (exec_shift.c). Rotates set
 * only CF and OF; a zero count changes no flag but still writes the
 * register (a 32-bit write zero-extends).
 */
static ALWAYS_INLINE void shift_fast(struct cpu *cpu, const struct insn *in, unsigned op, unsigned size,
				     unsigned count)
{
	unsigned bits = size * 8;
	uint64_t v = trunc_sz(cpu->s.gpr[in->rm], size), res;
	uint32_t fl = 0;

	count &= bits - 1;
	if (count == 0) {
		cpu->s.gpr[in->rm] = v;
		return;
	}
	if (op <= 1) {
		bool cf, of;

		if (op == 0) {
			res = trunc_sz((v << count) | (v >> (bits - count)), size);
			cf = res & 1;
			of = ((res >> (bits - 1)) & 1) ^ cf;
		} else {
			res = trunc_sz((v >> count) | (v << (bits - count)), size);
			cf = (res >> (bits - 1)) & 1;
			of = cf ^ ((res >> (bits - 2)) & 1);
		}
		cpu->s.gpr[in->rm] = res;
		cpu_set_flags_eager(cpu, RV_FLAG_CF | RV_FLAG_OF, (cf ? RV_FLAG_CF : 0) | (of ? RV_FLAG_OF : 0));
		return;
	}
	res = int2_shift_arith(op, size, v, count, &fl);
	cpu->s.gpr[in->rm] = res;
	cpu->lf.op = CC_EAGER;
	cpu->lf.eager = fl & CPU_ARITH_FLAGS;
}

/*
 * Rotates whose CF/OF nobody can observe: the next instruction of the
 * same block overwrites all six flags without reading them and cannot
 * fault, and nothing ends a block between the two (see
 * cpu_fast_drop_dead_flags). Materializing the old flags for a rotate is
 * most of its cost.
 */
static ALWAYS_INLINE void rotate_noflags(struct cpu *cpu, const struct insn *in, bool left, unsigned size,
					 unsigned count)
{
	unsigned bits = size * 8;
	uint64_t v = trunc_sz(cpu->s.gpr[in->rm], size);

	count &= bits - 1;
	if (count)
		v = left ? (v << count) | (v >> (bits - count)) : (v >> count) | (v << (bits - count));
	cpu->s.gpr[in->rm] = trunc_sz(v, size);
}

#define ROT_NOFLAGS(name, left)                                                                                   \
	static void nf_##name##_i4(struct cpu *cpu, const struct insn *in) { rotate_noflags(cpu, in, left, 4, (unsigned)in->imm); } \
	static void nf_##name##_i8(struct cpu *cpu, const struct insn *in) { rotate_noflags(cpu, in, left, 8, (unsigned)in->imm); } \
	static void nf_##name##_14(struct cpu *cpu, const struct insn *in) { rotate_noflags(cpu, in, left, 4, 1); }              \
	static void nf_##name##_18(struct cpu *cpu, const struct insn *in) { rotate_noflags(cpu, in, left, 8, 1); }
ROT_NOFLAGS(rol, true)
ROT_NOFLAGS(ror, false)

#define SHIFT_FAST(name, op)                                                              \
	static void fast_##name##_i4(struct cpu *cpu, const struct insn *in) { shift_fast(cpu, in, op, 4, (unsigned)in->imm); } \
	static void fast_##name##_i8(struct cpu *cpu, const struct insn *in) { shift_fast(cpu, in, op, 8, (unsigned)in->imm); } \
	static void fast_##name##_14(struct cpu *cpu, const struct insn *in) { shift_fast(cpu, in, op, 4, 1); }              \
	static void fast_##name##_18(struct cpu *cpu, const struct insn *in) { shift_fast(cpu, in, op, 8, 1); }
SHIFT_FAST(rol, 0)
SHIFT_FAST(ror, 1)
SHIFT_FAST(shl, 4)
SHIFT_FAST(shr, 5)
SHIFT_FAST(sar, 7)
#define SHIFT_ROW(name) { { fast_##name##_i4, fast_##name##_i8 }, { fast_##name##_14, fast_##name##_18 } }
/* [/digit][imm8 | by 1][size 4 | 8]; NULL for RCL/RCR (they read CF) */
static const insn_fn shift_table[8][2][2] = {
	SHIFT_ROW(rol), SHIFT_ROW(ror), { { 0 } }, { { 0 } }, SHIFT_ROW(shl), SHIFT_ROW(shr), SHIFT_ROW(shl), SHIFT_ROW(sar),
};

/* Does fn overwrite all six arithmetic flags without reading any, and never fault? */
static bool writes_all_flags_safely(insn_fn fn)
{
	if (fn == fast_test_rr4 || fn == fast_test_rr8)
		return true;
	for (unsigned op = 0; op < 8; op++)
		for (unsigned form = 0; form < 3; form++)
			for (unsigned sz = 0; sz < 2; sz++)
				if (alu_table[op][form][sz] && fn == alu_table[op][form][sz])
					return true;
	return false;
}

void cpu_fast_drop_dead_flags(struct insn *in, const struct insn *next)
{
	static const insn_fn with[2][2][2] = {
		{ { fast_rol_i4, fast_rol_i8 }, { fast_rol_14, fast_rol_18 } },
		{ { fast_ror_i4, fast_ror_i8 }, { fast_ror_14, fast_ror_18 } },
	};
	static const insn_fn without[2][2][2] = {
		{ { nf_rol_i4, nf_rol_i8 }, { nf_rol_14, nf_rol_18 } },
		{ { nf_ror_i4, nf_ror_i8 }, { nf_ror_14, nf_ror_18 } },
	};

	/* cheap filter first: this runs for every instruction put in a block */
	if (in->map != MAP_1B || (in->opcode != 0xc1 && in->opcode != 0xd1) || !writes_all_flags_safely(next->fn))
		return;
	for (unsigned i = 0; i < 8; i++)
		if (in->fn == (&with[0][0][0])[i]) {
			in->fn = (&without[0][0][0])[i];
			return;
		}
}

insn_fn cpu_fast_handler(const struct insn *in)
{
	unsigned op = in->opcode, sz;
	bool rr = in->has_modrm && in->mod == 3;

	insn_fn mem = cpu_fast_mem_handler(in);

	if (mem)
		return mem;
	if (in->prefix & PFX_LOCK)
		return NULL;
	if (in->map == MAP_0F)
		return (op & 0xf0) == 0x80 && in->opsize >= 4 ? jcc_table[op & 15] : NULL;
	if (in->map != MAP_1B)
		return NULL;
	if ((op & 0xf0) == 0x70)
		return in->opsize >= 4 ? jcc_table[op & 15] : NULL;
	if (in->opsize != 4 && in->opsize != 8)
		return NULL;
	sz = in->opsize == 8;
	if (op < 0x40 && (op & 7) <= 3 && (op & 1) && rr)
		return alu_table[op >> 3][(op & 2) >> 1][sz];	/* 01/03, 09/0B, ... */
	if ((op == 0x81 || op == 0x83) && rr)
		return alu_table[in->reg & 7][2][sz];
	if (op >= 0x40 && op <= 0x4f)
		return sz ? NULL : (op & 8) ? fast_dec_op4 : fast_inc_op4;
	if (op == 0xff && rr && (in->reg & 7) < 2) {
		static const insn_fn t[2][2] = { { fast_inc_rm4, fast_inc_rm8 }, { fast_dec_rm4, fast_dec_rm8 } };

		return t[in->reg & 1][sz];
	}
	if ((op == 0xc1 || op == 0xd1) && rr)
		return shift_table[in->reg & 7][op == 0xd1][sz];
	if (op == 0x85 && rr)
		return sz ? fast_test_rr8 : fast_test_rr4;
	if (op == 0x89 && rr)
		return sz ? fast_mov_rmr8 : fast_mov_rmr4;
	if (op == 0x8b && rr)
		return sz ? fast_mov_rrm8 : fast_mov_rrm4;
	if (op >= 0xb8 && op <= 0xbf)
		return sz ? fast_mov_ri8 : fast_mov_ri4;
	return NULL;
}
