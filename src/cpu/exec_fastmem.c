/*
 * Specialised handlers for the hottest memory-operand forms (MOV, MOVZX,
 * MOVSX(D), ALU/CMP/TEST with a memory source, LEA, PUSH/POP reg, CALL
 * rel, RET), chosen at decode time per operation, size and addressing
 * form (base+disp, base+index*scale+disp, RIP-relative, in 64- or 32-bit
 * address size), so the effective address is a fixed expression and the
 * access the inline flat-segment TLB path of mmu.h. Anything the fast
 * path refuses goes through cpu_read/cpu_write with every check. Each
 * handler does what the generic one in exec_int.c does for its form.
 */
#include "cpu/block.h"
#include "cpu/mmu.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Addressing forms, fixed at decode time */
enum { EA_B64, EA_BI64, EA_RIP, EA_B32, EA_BI32, EA_GEN, EA_NR };

static ALWAYS_INLINE uint64_t ea_k(const struct cpu *cpu, const struct insn *in, unsigned k)
{
	const uint64_t *g = cpu->s.gpr;

	switch (k) {
	case EA_B64:  return g[in->base] + (uint64_t)in->disp;
	case EA_BI64: return g[in->base] + (g[in->index] << in->scale) + (uint64_t)in->disp;
	case EA_RIP:  return cpu->s.rip + in->len + (uint64_t)in->disp;
	case EA_B32:  return (uint32_t)(g[in->base] + (uint64_t)in->disp);
	case EA_BI32: return (uint32_t)(g[in->base] + (g[in->index] << in->scale) + (uint64_t)in->disp);
	default:      return insn_ea(cpu, in);
	}
}

static unsigned ea_kind(const struct insn *in)
{
	bool b = in->base != REG_NONE, i = in->index != REG_NONE;

	if (in->addrsize == 8)
		return in->rip_rel ? EA_RIP : (b && !i) ? EA_B64 : (b && i) ? EA_BI64 : EA_GEN;
	if (in->addrsize == 4 && !in->rip_rel)
		return (b && !i) ? EA_B32 : (b && i) ? EA_BI32 : EA_GEN;
	return EA_GEN;
}

static ALWAYS_INLINE uint64_t ld(struct cpu *cpu, const struct insn *in, unsigned k, unsigned size)
{
	return cpu_read_fast(cpu, in->seg, ea_k(cpu, in, k), size);
}

static ALWAYS_INLINE uint64_t tr(uint64_t v, unsigned size)
{
	return size == 8 ? v : size == 4 ? (uint32_t)v : size == 2 ? (uint16_t)v : (uint8_t)v;
}

static ALWAYS_INLINE void set_lazy(struct cpu *cpu, uint8_t op, unsigned size, uint64_t r, uint64_t a, uint64_t b)
{
	cpu->lf.op = op;
	cpu->lf.size = (uint8_t)size;
	cpu->lf.res = r;
	cpu->lf.src1 = a;
	cpu->lf.src2 = b;
}

enum { F_ADD, F_OR, F_ADC, F_SBB, F_AND, F_SUB, F_XOR, F_CMP };

/* a op b for sizes 4/8 as alu_calc() records it; returns the result */
static ALWAYS_INLINE uint64_t alu(struct cpu *cpu, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
	uint64_t r;
	uint8_t cc;

	a = tr(a, size);
	b = tr(b, size);
	switch (op) {
	case F_ADD: r = a + b; cc = CC_ADD; break;
	case F_OR:  r = a | b; cc = CC_LOGIC; break;
	case F_AND: r = a & b; cc = CC_LOGIC; break;
	case F_XOR: r = a ^ b; cc = CC_LOGIC; break;
	default:    r = a - b; cc = CC_SUB; break;
	}
	r = tr(r, size);
	set_lazy(cpu, cc, size, r, a, b);
	return r;
}

/* One handler per addressing form: name_k##K, and a table name_t[EA_NR]. */
#define EA_FORMS(name, ...)                                                                    \
	static ALWAYS_INLINE void name##_body(struct cpu *cpu, const struct insn *in, unsigned k) \
	{ __VA_ARGS__ }                                                                             \
	static void name##_0(struct cpu *cpu, const struct insn *in) { name##_body(cpu, in, 0); } \
	static void name##_1(struct cpu *cpu, const struct insn *in) { name##_body(cpu, in, 1); } \
	static void name##_2(struct cpu *cpu, const struct insn *in) { name##_body(cpu, in, 2); } \
	static void name##_3(struct cpu *cpu, const struct insn *in) { name##_body(cpu, in, 3); } \
	static void name##_4(struct cpu *cpu, const struct insn *in) { name##_body(cpu, in, 4); } \
	static void name##_5(struct cpu *cpu, const struct insn *in) { name##_body(cpu, in, 5); } \
	static const insn_fn name##_t[EA_NR] = { name##_0, name##_1, name##_2, name##_3, name##_4, name##_5 };

/* 8B MOV r, [m]; 89 MOV [m], r; C7 /0 MOV [m], imm (a 32-bit register write zero-extends) */
EA_FORMS(ld4, cpu->s.gpr[in->reg] = ld(cpu, in, k, 4);)
EA_FORMS(ld8, cpu->s.gpr[in->reg] = ld(cpu, in, k, 8);)
EA_FORMS(st4, cpu_write_fast(cpu, in->seg, ea_k(cpu, in, k), (uint32_t)cpu->s.gpr[in->reg], 4);)
EA_FORMS(st8, cpu_write_fast(cpu, in->seg, ea_k(cpu, in, k), cpu->s.gpr[in->reg], 8);)
EA_FORMS(sti4, cpu_write_fast(cpu, in->seg, ea_k(cpu, in, k), (uint32_t)in->imm, 4);)
EA_FORMS(sti8, cpu_write_fast(cpu, in->seg, ea_k(cpu, in, k), in->imm, 8);)
/*
 * 8A MOV r8, [m]; 88 MOV [m], r8; C6 /0 MOV [m], imm8. Without REX,
 * registers 4-7 are AH, CH, DH, BH: the _h forms (register - 4, bits 15:8).
 */
EA_FORMS(ld1l, { uint64_t *r = &cpu->s.gpr[in->reg]; uint8_t v = (uint8_t)ld(cpu, in, k, 1);
		 *r = (*r & ~0xffull) | v; })
EA_FORMS(ld1h, { uint64_t *r = &cpu->s.gpr[in->reg - 4]; uint8_t v = (uint8_t)ld(cpu, in, k, 1);
		 *r = (*r & ~0xff00ull) | (uint64_t)v << 8; })
EA_FORMS(st1l, cpu_write_fast(cpu, in->seg, ea_k(cpu, in, k), (uint8_t)cpu->s.gpr[in->reg], 1);)
EA_FORMS(st1h, cpu_write_fast(cpu, in->seg, ea_k(cpu, in, k), (uint8_t)(cpu->s.gpr[in->reg - 4] >> 8), 1);)
EA_FORMS(sti1, cpu_write_fast(cpu, in->seg, ea_k(cpu, in, k), (uint8_t)in->imm, 1);)
/* 0F B6/B7 MOVZX, 0F BE/BF MOVSX into 32/64-bit registers, 63 MOVSXD (REX.W) */
EA_FORMS(zx1, cpu->s.gpr[in->reg] = ld(cpu, in, k, 1);)
EA_FORMS(zx2, cpu->s.gpr[in->reg] = ld(cpu, in, k, 2);)
EA_FORMS(sx14, cpu->s.gpr[in->reg] = (uint32_t)(int32_t)(int8_t)ld(cpu, in, k, 1);)
EA_FORMS(sx24, cpu->s.gpr[in->reg] = (uint32_t)(int32_t)(int16_t)ld(cpu, in, k, 2);)
EA_FORMS(sx18, cpu->s.gpr[in->reg] = (uint64_t)(int64_t)(int8_t)ld(cpu, in, k, 1);)
EA_FORMS(sx28, cpu->s.gpr[in->reg] = (uint64_t)(int64_t)(int16_t)ld(cpu, in, k, 2);)
EA_FORMS(sx48, cpu->s.gpr[in->reg] = (uint64_t)(int64_t)(int32_t)ld(cpu, in, k, 4);)
/* 8D LEA: computed in the address size, truncated to the operand size */
EA_FORMS(lea4, cpu->s.gpr[in->reg] = (uint32_t)ea_k(cpu, in, k);)
EA_FORMS(lea8, cpu->s.gpr[in->reg] = ea_k(cpu, in, k);)

/* 03/0B/23/2B/33/3B: reg op= [m] */
#define ALU_LOAD(name, op)                                                                        \
	EA_FORMS(name##4, { uint64_t b = ld(cpu, in, k, 4);                                        \
			    uint64_t r = alu(cpu, op, 4, cpu->s.gpr[in->reg], b);                  \
			    if (op != F_CMP) cpu->s.gpr[in->reg] = r; })                           \
	EA_FORMS(name##8, { uint64_t b = ld(cpu, in, k, 8);                                        \
			    uint64_t r = alu(cpu, op, 8, cpu->s.gpr[in->reg], b);                  \
			    if (op != F_CMP) cpu->s.gpr[in->reg] = r; })
ALU_LOAD(add_rm, F_ADD)
ALU_LOAD(or_rm, F_OR)
ALU_LOAD(and_rm, F_AND)
ALU_LOAD(sub_rm, F_SUB)
ALU_LOAD(xor_rm, F_XOR)
ALU_LOAD(cmp_rm, F_CMP)

/* 39 CMP [m], r; 81/83 /7 CMP [m], imm; 85 TEST [m], r; F7 /0 TEST [m], imm */
EA_FORMS(cmp_mr4, alu(cpu, F_CMP, 4, ld(cpu, in, k, 4), cpu->s.gpr[in->reg]);)
EA_FORMS(cmp_mr8, alu(cpu, F_CMP, 8, ld(cpu, in, k, 8), cpu->s.gpr[in->reg]);)
EA_FORMS(cmp_mi4, alu(cpu, F_CMP, 4, ld(cpu, in, k, 4), in->imm);)
EA_FORMS(cmp_mi8, alu(cpu, F_CMP, 8, ld(cpu, in, k, 8), in->imm);)
EA_FORMS(test_mr4, set_lazy(cpu, CC_LOGIC, 4, (uint32_t)(ld(cpu, in, k, 4) & cpu->s.gpr[in->reg]), 0, 0);)
EA_FORMS(test_mr8, set_lazy(cpu, CC_LOGIC, 8, ld(cpu, in, k, 8) & cpu->s.gpr[in->reg], 0, 0);)
EA_FORMS(test_mi4, set_lazy(cpu, CC_LOGIC, 4, (uint32_t)(ld(cpu, in, k, 4) & in->imm), 0, 0);)
EA_FORMS(test_mi8, set_lazy(cpu, CC_LOGIC, 8, ld(cpu, in, k, 8) & in->imm, 0, 0);)
/* 80 /7 CMP byte [m], imm8 */
EA_FORMS(cmp_mi1, { uint64_t a = ld(cpu, in, k, 1), b = (uint8_t)in->imm;
		    set_lazy(cpu, CC_SUB, 1, (uint8_t)(a - b), a, b); })

/*
 * Stack forms with the stack width equal to the operand size (64-bit
 * mode, or a 32-bit SS with 32-bit operands); others call cpu_push/cpu_pop.
 * rSP is committed only after the access (a fault leaves it unchanged).
 */
static ALWAYS_INLINE void push_n(struct cpu *cpu, uint64_t v, unsigned size)
{
	uint64_t sp;

	if (size == 4 && __builtin_expect(cpu->stack_size != 4, 0)) {
		cpu_push(cpu, v, size);
		return;
	}
	sp = tr(cpu->s.gpr[RV_RSP] - size, size);
	cpu_write_fast(cpu, RV_SS, sp, v, size);
	cpu->s.gpr[RV_RSP] = sp;
}

static inline unsigned opreg(const struct insn *in)
{
	return (in->opcode & 7) | ((in->rex & 1) << 3);
}

/* 50-57 PUSH reg (PUSH rSP pushes the old value) */
static void fast_push4(struct cpu *cpu, const struct insn *in) { push_n(cpu, (uint32_t)cpu->s.gpr[opreg(in)], 4); }
static void fast_push8(struct cpu *cpu, const struct insn *in) { push_n(cpu, cpu->s.gpr[opreg(in)], 8); }

/* 58-5F POP reg: rSP moves first, so POP rSP loads the popped value */
static ALWAYS_INLINE void pop_n(struct cpu *cpu, const struct insn *in, unsigned size)
{
	uint64_t sp, v;

	if (size == 4 && __builtin_expect(cpu->stack_size != 4, 0)) {
		v = cpu_pop(cpu, size);
		cpu_reg_set(cpu, opreg(in), size, v);
		return;
	}
	sp = tr(cpu->s.gpr[RV_RSP], size);
	v = cpu_read_fast(cpu, RV_SS, sp, size);
	cpu->s.gpr[RV_RSP] = tr(sp + size, size);
	cpu->s.gpr[opreg(in)] = v;
}

static void fast_pop4(struct cpu *cpu, const struct insn *in) { pop_n(cpu, in, 4); }
static void fast_pop8(struct cpu *cpu, const struct insn *in) { pop_n(cpu, in, 8); }

/* The target checks of cpu_jump_near() for operand size 4 or 8. */
static ALWAYS_INLINE uint64_t near_target(struct cpu *cpu, uint64_t t, unsigned size)
{
	if (size == 8) {
		if (__builtin_expect(!canonical(t), 0))
			cpu_raise_gp0(cpu);
	} else {
		t = (uint32_t)t;
		if (__builtin_expect(t > cpu->s.seg[RV_CS].limit, 0))
			cpu_raise_gp0(cpu);
	}
	return t;
}

/* E8 CALL rel: check the target, push, then jump (as op_call_rel) */
static ALWAYS_INLINE void call_n(struct cpu *cpu, const struct insn *in, unsigned size)
{
	uint64_t ret = cpu->next_rip, t = near_target(cpu, ret + in->imm, size);

	push_n(cpu, ret, size);
	cpu->next_rip = t;
}

static void fast_call4(struct cpu *cpu, const struct insn *in) { call_n(cpu, in, 4); }
static void fast_call8(struct cpu *cpu, const struct insn *in) { call_n(cpu, in, 8); }

/* C3 RET: rSP moves only once the target is known good (as op_ret) */
static ALWAYS_INLINE void ret_n(struct cpu *cpu, unsigned size)
{
	uint64_t sp, t;

	if (size == 4 && __builtin_expect(cpu->stack_size != 4, 0)) {
		uint64_t m = size_mask(cpu->stack_size);

		sp = cpu->s.gpr[RV_RSP] & m;
		t = near_target(cpu, cpu_read(cpu, RV_SS, sp, 4), 4);
		cpu_reg_set(cpu, RV_RSP, cpu->stack_size, sp + 4);
		cpu->next_rip = t;
		return;
	}
	sp = tr(cpu->s.gpr[RV_RSP], size);
	t = near_target(cpu, cpu_read_fast(cpu, RV_SS, sp, size), size);
	cpu->s.gpr[RV_RSP] = tr(sp + size, size);
	cpu->next_rip = t;
}

static void fast_ret4(struct cpu *cpu, const struct insn *in) { ret_n(cpu, 4); }
static void fast_ret8(struct cpu *cpu, const struct insn *in) { ret_n(cpu, 8); }

insn_fn cpu_fast_mem_handler(const struct insn *in)
{
	static const insn_fn *const alu_load[8][2] = {
		{ add_rm4_t, add_rm8_t }, { or_rm4_t, or_rm8_t }, { NULL, NULL }, { NULL, NULL },
		{ and_rm4_t, and_rm8_t }, { sub_rm4_t, sub_rm8_t }, { xor_rm4_t, xor_rm8_t }, { cmp_rm4_t, cmp_rm8_t },
	};
	unsigned op = in->opcode, sz, k, r = in->reg & 7;
	bool mem = in->has_modrm && in->mod != 3;

	if (in->prefix & PFX_LOCK)
		return NULL;
	if (in->map == MAP_1B && in->opsize >= 4) {
		sz = in->opsize == 8;
		if (op >= 0x50 && op <= 0x57)
			return sz ? fast_push8 : fast_push4;
		if (op >= 0x58 && op <= 0x5f)
			return sz ? fast_pop8 : fast_pop4;
		if (op == 0xe8)
			return sz ? fast_call8 : fast_call4;
		if (op == 0xc3)
			return sz ? fast_ret8 : fast_ret4;
	}
	if (!mem)
		return NULL;
	k = ea_kind(in);
	if (in->map == MAP_0F && (in->opsize == 4 || in->opsize == 8)) {
		sz = in->opsize == 8;
		switch (op) {
		case 0xb6: return zx1_t[k];
		case 0xb7: return zx2_t[k];
		case 0xbe: return sz ? sx18_t[k] : sx14_t[k];
		case 0xbf: return sz ? sx28_t[k] : sx24_t[k];
		default: return NULL;
		}
	}
	if (in->map != MAP_1B)
		return NULL;
	if (op == 0x80 && r == 7)
		return cmp_mi1_t[k];
	if (op == 0x88 || op == 0x8a) {
		bool high = !in->rex && in->reg >= 4 && in->reg < 8;

		if (op == 0x88)
			return high ? st1h_t[k] : st1l_t[k];
		return high ? ld1h_t[k] : ld1l_t[k];
	}
	if (op == 0xc6)
		return r == 0 ? sti1_t[k] : NULL;
	if (in->opsize != 4 && in->opsize != 8)
		return NULL;
	sz = in->opsize == 8;
	if (op < 0x40 && (op & 7) == 3 && alu_load[op >> 3][sz])
		return alu_load[op >> 3][sz][k];
	switch (op) {
	case 0x8b: return sz ? ld8_t[k] : ld4_t[k];
	case 0x89: return sz ? st8_t[k] : st4_t[k];
	case 0xc7: return r == 0 ? (sz ? sti8_t[k] : sti4_t[k]) : NULL;
	case 0x8d: return sz ? lea8_t[k] : lea4_t[k];
	case 0x63: return sz ? sx48_t[k] : NULL;	/* REX.W: only in 64-bit mode (MOVSXD) */
	case 0x39: return sz ? cmp_mr8_t[k] : cmp_mr4_t[k];
	case 0x81: case 0x83: return r == 7 ? (sz ? cmp_mi8_t[k] : cmp_mi4_t[k]) : NULL;
	case 0x85: return sz ? test_mr8_t[k] : test_mr4_t[k];
	case 0xf7: return r == 0 ? (sz ? test_mi8_t[k] : test_mi4_t[k]) : NULL;
	default: return NULL;
	}
}
