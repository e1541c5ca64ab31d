/*
 * Integer instructions translated to the same host instruction: the guest's
 * opcode re-encoded with host operands (a host register for a guest
 * register held in one, cpu->s.gpr[] for the others, [S1+S2] after the
 * inline TLB check for guest memory). The host computes the result and
 * the flags exactly as the guest instruction defines them; flags the
 * manuals leave undefined come out as the host's.
 */
#include <cpuid.h>

#include "jit/tr.h"

/* Flags a condition code reads (Jcc/SETcc/CMOVcc, SDM vol. 1, B.1). */
static unsigned cc_reads(unsigned cc)
{
	static const uint16_t r[8] = {
		FL_OF, FL_CF, FL_ZF, FL_CF | FL_ZF, FL_SF, FL_PF, FL_SF | FL_OF, FL_ZF | FL_SF | FL_OF,
	};
	return r[(cc >> 1) & 7];
}

/* Shift and rotate group (C0/C1/D0-D3; SHLD/SHRD): flags by operation and count. */
static void shift_use(const struct insn *in, unsigned op, bool by_cl, unsigned *r, unsigned *w, unsigned *mw)
{
	unsigned count = 1;

	*mw = op < 4 ? FL_CF | FL_OF : FL_ALL;
	if (by_cl) {
		*r = *mw;	/* a zero count leaves every flag: they must be right before */
		*w = 0;
		return;
	}
	if (in->map == MAP_1B && (in->opcode == 0xc0 || in->opcode == 0xc1))
		count = (unsigned)in->imm & (in->opsize == 8 ? 63 : 31);
	else if (in->map == MAP_0F)
		count = (unsigned)in->imm & (in->opsize == 8 ? 63 : 31);
	if (!count) {
		*r = *w = *mw = 0;
	} else if (op < 4) {
		*r = FL_CF | FL_OF;	/* rotates: CF/OF only, and a count that wraps may leave them */
		*w = 0;
	} else {
		*r = 0;
		*w = FL_ALL;
	}
}

static void flag_use(const struct insn *in, unsigned op, unsigned digit, unsigned *r, unsigned *w, unsigned *mw);

void tr_flag_use(const struct insn *in, unsigned *r, unsigned *w, unsigned *mw)
{
	unsigned op = in->opcode, digit = in->reg & 7;

	*r = 0;
	*w = 0;
	*mw = 0;
	flag_use(in, op, digit, r, w, mw);
	*mw |= *w;
}

/* (tr_flag_use without the may-write closure) */
static void flag_use(const struct insn *in, unsigned op, unsigned digit, unsigned *r, unsigned *w, unsigned *mw)
{
	if (in->map == MAP_1B) {
		if (op < 0x40 && (op & 7) < 6) {
			*w = FL_ALL;
			*r = ((op >> 3) & 7) == 2 || ((op >> 3) & 7) == 3 ? FL_CF : 0;
			return;
		}
		switch (op) {
		case 0x40 ... 0x4f:	/* INC/DEC r (32-bit code) */
			*w = FL_ALL & ~FL_CF;
			return;
		case 0x69: case 0x6b: case 0x84: case 0x85: case 0xa8: case 0xa9:
			*w = FL_ALL;
			return;
		case 0x70 ... 0x7f:
			*r = cc_reads(op & 15);
			return;
		case 0x80 ... 0x83:
			*w = FL_ALL;
			*r = digit == 2 || digit == 3 ? FL_CF : 0;
			return;
		case 0x9e:	/* SAHF */
			*w = FL_ALL & ~FL_OF;
			return;
		case 0x9f:	/* LAHF */
			*r = FL_ALL & ~FL_OF;
			return;
		case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
			shift_use(in, digit, op == 0xd2 || op == 0xd3, r, w, mw);
			return;
		case 0xf5:
			*r = *w = FL_CF;
			return;
		case 0xf8: case 0xf9:
			*w = FL_CF;
			return;
		case 0xf6: case 0xf7:
			if (digit == 2)
				return;
			if (digit >= 6)
				break;	/* DIV/IDIV: the interpreter's */
			*w = FL_ALL;
			return;
		case 0xfe: case 0xff:
			if (digit < 2)
				*w = FL_ALL & ~FL_CF;
			else if (digit > 6)
				break;
			return;
		case 0x50 ... 0x5f: case 0x63: case 0x68: case 0x6a: case 0x86 ... 0x8d:
		case 0x90 ... 0x99: case 0xb0 ... 0xbf: case 0xc2: case 0xc3: case 0xc6: case 0xc7:
		case 0xc9: case 0xe8: case 0xe9: case 0xeb:
			return;
		default:
			break;
		}
	} else if (in->map == MAP_0F) {
		switch (op) {
		case 0x40 ... 0x4f: case 0x80 ... 0x8f: case 0x90 ... 0x9f:
			*r = cc_reads(op & 15);
			return;
		case 0xa3: case 0xab: case 0xb3: case 0xbb: case 0xba:
			*w = FL_ALL & ~FL_ZF;	/* CF; the rest undefined, ZF kept (SDM) */
			return;
		case 0xa4: case 0xac:
			shift_use(in, 4, false, r, w, mw);
			return;
		case 0xa5: case 0xad:
			shift_use(in, 4, true, r, w, mw);
			return;
		case 0xaf: case 0xb0: case 0xb1: case 0xc0: case 0xc1: case 0xb8:
			*w = FL_ALL;
			return;
		case 0xbc: case 0xbd:
			*w = in->sse_pfx == SSE_F3 ? FL_ALL & ~FL_OF : FL_ALL;
			return;
		case 0x0d: case 0x18 ... 0x1f: case 0xb6: case 0xb7: case 0xbe: case 0xbf: case 0xc8 ... 0xcf:
			return;
		default:
			break;
		}
	} else if (in->map == MAP_0F38 && (op == 0xf0 || op == 0xf1)) {
		return;
	}
	/* the interpreter's handler: it may read any flag */
	*r = FL_ALL;
	*w = 0;
}

/* ------------------------------------------------------------------ */
/* The generic re-encoding.                                            */

struct gform {
	unsigned size;		/* operand size */
	unsigned rm_size;	/* of the r/m operand, if it differs (MOVZX/MOVSX/MOVSXD) */
	bool digit;		/* ModRM.reg is an opcode extension, not a register */
	bool reg_rd, reg_wr;
	bool rm_rd, rm_wr;
	bool rm_in_reg;		/* a register r/m must stay a register (BT's bit offset would reach past memory) */
	uint32_t op;		/* host opcode bytes, first in the low byte */
	unsigned oplen;
	uint8_t rep;		/* a mandatory F2/F3 */
	unsigned immlen;
	uint64_t imm;
};

/* Is `x` one of AH-BH? */
static bool is_high8(struct xop x)
{
	return !x.is_mem && (x.reg & 0x10);
}

/*
 * Instructions that may leave a 32-bit r/m register unwritten (so not
 * zero-extended): CMPXCHG on a mismatch, shifts and rotates by CL or by a
 * count that masks to zero.
 */
static bool write_may_not_happen(const struct insn *in)
{
	if (in->map == MAP_0F)
		return in->opcode == 0xb1 || in->opcode == 0xa5 || in->opcode == 0xad ||
		       ((in->opcode == 0xa4 || in->opcode == 0xac) && !(in->imm & 31));
	if (in->opcode == 0xd2 || in->opcode == 0xd3)
		return true;
	return (in->opcode == 0xc0 || in->opcode == 0xc1) && !(in->imm & 31);
}

/* Translate `in` by the form g; false (nothing emitted) when it cannot be inlined. */
static bool gen(struct tr *t, const struct gform *g)
{
	const struct insn *in = t->in;
	bool mem = in->mod != 3;
	unsigned r, w, mw, rm_size = g->rm_size ? g->rm_size : g->size;
	unsigned regcode;
	struct xop rm, reg8 = xreg(0);
	bool reg_via_s2 = false;
	struct xform f = {
		.lock = !!(in->prefix & PFX_LOCK), .p66 = g->size == 2, .rep = g->rep, .w = g->size == 8,
		.reg_byte = g->size == 1 && !g->digit, .rm_byte = rm_size == 1, .op = g->op,
		.oplen = (uint8_t)g->oplen,
	};

	if (mem && !tr_mem_ok(t, in, g->rm_wr))
		return false;
	if (!g->digit && g->size == 1)
		reg8 = tr_greg8(t, in, in->reg);
	if (mem && is_high8(reg8))
		return false;	/* AH-BH cannot meet the REX that [S1+S2] needs */
	if (!mem && rm_size == 4 && g->rm_wr && !greg_mapped(in->rm) && write_may_not_happen(in))
		return false;	/* a register in cpu->s.gpr: no zero-extension to fake */
	tr_flag_use(in, &r, &w, &mw);

	if (mem) {
		rm = tr_mem(t, in, rm_size, g->rm_wr, 0);
		tr_flags_before(t, r, w, mw);	/* after the TLB check's arithmetic; S2 is free again */
	} else {
		tr_flags_before(t, r, w, mw);	/* before S1/S2 take operands: loading the flags needs S2 */
		rm = rm_size == 1 ? tr_greg8(t, in, in->rm) : tr_greg(t, in->rm);
		if (rm.is_mem && !g->digit && in->rm == in->reg) {
			/* one register in cpu->s.gpr for both operands (XADD r10, r10): one scratch for both */
			emit_load(&t->e, 8, S2, rm);
			rm = xreg(S2);
		} else if (rm.is_mem && g->rm_in_reg) {
			emit_load(&t->e, 8, S1, rm);
			rm = xreg(S1);
		}
	}
	if (g->digit) {
		regcode = in->reg & 7;
	} else if (g->size == 1 && !reg8.is_mem) {
		regcode = reg8.reg;
	} else if (greg_mapped(in->reg)) {
		regcode = in->reg;
	} else {
		if (!(!rm.is_mem && rm.reg == S2))
			emit_load(&t->e, 8, S2, gpr_slot(t->cpu, in->reg));
		regcode = S2;
		reg_via_s2 = true;
	}
	emit_modrm_insn(&t->e, &f, regcode, rm, g->imm, g->immlen);
	tr_flags_after(t, mw);
	if (reg_via_s2 && (g->reg_wr || (!rm.is_mem && rm.reg == S2 && g->rm_wr)))
		emit_store(&t->e, g->size >= 4 ? 8 : g->size, gpr_slot(t->cpu, in->reg), S2);
	if (!mem && !rm.is_mem && rm.reg == S1 && g->rm_wr)
		emit_store(&t->e, rm_size >= 4 ? 8 : rm_size, gpr_slot(t->cpu, in->rm), S1);
	if (!mem && rm.is_mem && g->rm_wr && rm_size == 4)
		emit_store_imm(&t->e, 4, xmem(H_NONE, H_NONE, 0, rm.disp + 4), 0);	/* zero-extension */
	return true;
}

/*
 * After a register-only ALU instruction (aluop: group 1's digit, 8 for
 * TEST) translated natively: how its flags can be computed again
 * (tr_note_replay), the first operand being r/m or the register.
 */
static void note_replay(struct tr *t, unsigned aluop, bool rm_first, bool imm)
{
	const struct insn *in = t->in;
	unsigned size = in->opsize;
	struct xop rm, reg;

	if (in->mod != 3)
		return;
	rm = size == 1 ? tr_greg8(t, in, in->rm) : tr_greg(t, in->rm);
	if (imm) {
		tr_note_replay(t, aluop, size, rm, rm, true, (int32_t)in->imm);
		return;
	}
	reg = size == 1 ? tr_greg8(t, in, in->reg) : tr_greg(t, in->reg);
	tr_note_replay(t, aluop, size, rm_first ? rm : reg, rm_first ? reg : rm, false, 0);
}

/* ALU forms 00-3B: op r/m,reg (x0/x1) and op reg,r/m (x2/x3). */
static bool alu_modrm(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned op = (in->opcode >> 3) & 7;
	bool to_rm = !(in->opcode & 2);
	struct gform g = {
		.size = in->opsize, .reg_rd = true, .rm_rd = true, .op = in->opcode, .oplen = 1,
	};

	if (op != 7) {
		g.rm_wr = to_rm;
		g.reg_wr = !to_rm;
	}
	if (!gen(t, &g))
		return false;
	note_replay(t, op, to_rm, false);
	return true;
}

/* Immediate forms: group 1 (80-83), MOV r/m,imm (C6/C7), TEST r/m,imm (F6/F7 /0), shifts by imm. */
static bool with_imm(struct tr *t, unsigned op, bool writes)
{
	const struct insn *in = t->in;
	struct gform g = {
		.size = in->opsize, .digit = true, .rm_rd = true, .rm_wr = writes,
		.op = op, .oplen = 1, .immlen = in->imm_len, .imm = in->imm,
	};

	return gen(t, &g);
}

/* Accumulator-immediate forms (04/05 ... 3C/3D, A8/A9): the host's RAX is the guest's. */
static bool acc_imm(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned r, w, mw;
	struct xform f = { .p66 = in->opsize == 2, .w = in->opsize == 8, .op = in->opcode, .oplen = 1 };

	tr_flag_use(in, &r, &w, &mw);
	tr_flags_before(t, r, w, mw);
	emit_plain_insn(&t->e, &f, H_NONE, in->imm, in->imm_len);
	tr_flags_after(t, mw);
	tr_note_replay(t, in->opcode >= 0xa8 ? 8 : (in->opcode >> 3) & 7, in->opsize, xreg(H_RAX), xreg(H_RAX), true,
		       (int32_t)in->imm);
	return true;
}

/* MOV reg, imm (B0-BF). */
static bool mov_imm(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned g = (in->opcode & 7) | ((in->rex & 1) << 3);
	unsigned size = in->opcode < 0xb8 ? 1 : in->opsize;
	struct xop dst = size == 1 ? tr_greg8(t, in, g) : tr_greg(t, g);
	struct xform f = { .p66 = size == 2, .w = size == 8, .reg_byte = size == 1,
			   .op = size == 1 ? 0xb0 : 0xb8, .oplen = 1 };

	if (!dst.is_mem) {
		emit_plain_insn(&t->e, &f, dst.reg, in->imm, in->imm_len);
		return true;
	}
	if (size == 8 && (int64_t)in->imm != (int32_t)in->imm) {
		emit_mov_imm(&t->e, S2, in->imm);
		emit_store(&t->e, 8, dst, S2);
	} else {
		/* 32-bit: the store of 8 bytes is the zero-extension */
		emit_store_imm(&t->e, size == 4 ? 8 : size, dst,
			       size == 4 ? (int32_t)(uint32_t)in->imm : (int32_t)in->imm);
		if (size == 4 && (int32_t)in->imm < 0)
			emit_store_imm(&t->e, 4, xmem(H_NONE, H_NONE, 0, dst.disp + 4), 0);
	}
	return true;
}

/* LEA: no memory access, only the address arithmetic, into the destination. */
static bool lea(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned size = in->opsize;
	struct xop dst;

	if (in->mod == 3 || in->addrsize == 2 || size == 2)
		return false;
	/* 64-bit arithmetic cut to a 32-bit result is what a 32-bit LEA of 64-bit registers gives */
	if (!in->rip_rel && greg_mapped(in->reg) && (in->base == REG_NONE || greg_mapped(in->base)) &&
	    (in->index == REG_NONE || greg_mapped(in->index)) &&
	    (in->addrsize == size || (size == 4 && in->addrsize == 8)) &&
	    (in->base != REG_NONE || in->index != REG_NONE)) {
		emit_lea(&t->e, size, in->reg,
			 xmem(in->base == REG_NONE ? H_NONE : in->base, in->index == REG_NONE ? H_NONE : in->index,
			      in->scale, (int32_t)in->disp));
		return true;
	}
	tr_ea(t, in, 0);	/* S1: zero-extended when the address size is 32 */
	if (size == 4)
		emit_mov_rr(&t->e, 4, S1, S1);	/* the result is 32 bits of it */
	dst = tr_greg(t, in->reg);
	if (dst.is_mem)
		emit_store(&t->e, 8, dst, S1);
	else
		emit_mov_rr(&t->e, 8, in->reg, S1);
	return true;
}

/* Opcodes without operands on registers the host holds as the guest does: CBW/CWD..., CMC/CLC/STC, LAHF/SAHF. */
static bool plain(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned r, w, mw;
	struct xform f = { .p66 = in->opsize == 2, .w = in->opsize == 8, .op = in->opcode, .oplen = 1 };

	tr_flag_use(in, &r, &w, &mw);
	tr_flags_before(t, r, w, mw);
	emit_plain_insn(&t->e, &f, H_NONE, 0, 0);
	tr_flags_after(t, mw);
	return true;
}

/* BSWAP r (0F C8+r), 32 and 64 bits. */
static bool bswap(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned g = (in->opcode & 7) | ((in->rex & 1) << 3);
	struct xform f = { .w = in->opsize == 8, .op = 0xc80f, .oplen = 2 };

	if (in->opsize == 2)
		return false;
	if (greg_mapped(g)) {
		emit_plain_insn(&t->e, &f, g, 0, 0);
		return true;
	}
	emit_load(&t->e, 8, S2, gpr_slot(t->cpu, g));
	emit_plain_insn(&t->e, &f, S2, 0, 0);
	emit_store(&t->e, 8, gpr_slot(t->cpu, g), S2);
	return true;
}

/* XCHG rAX, r (91-97). */
static bool xchg_acc(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned g = (in->opcode & 7) | ((in->rex & 1) << 3);
	struct xform f = { .p66 = in->opsize == 2, .w = in->opsize == 8, .op = 0x90, .oplen = 1 };

	if (!greg_mapped(g))
		return false;
	if (g == 0)
		return true;	/* 90 is NOP, even in 64-bit code (no zero-extension of EAX) */
	emit_plain_insn(&t->e, &f, g, 0, 0);
	return true;
}

/* Host CPUID bits for the instructions that are copied only where the host has them. */
enum host_feature { HOST_LZCNT, HOST_BMI1, HOST_POPCNT, HOST_MOVBE };

static bool host_has(enum host_feature f)
{
	unsigned a, b, c, d;

	switch (f) {
	case HOST_LZCNT:
		return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5));
	case HOST_BMI1:
		return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 3));
	case HOST_POPCNT:
		return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 23));
	case HOST_MOVBE:
		return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 22));
	}
	return false;
}

/*
 * CLI and SWAPGS at CPL 0 (the Linux kernel runs each twice per system
 * call): they change the vCPU's state in memory and nothing else, so the
 * block goes on. At another CPL the slow path runs them in the
 * interpreter (IOPL for CLI, #GP for SWAPGS); outside 64-bit mode SWAPGS
 * is the interpreter's (#UD).
 */
static bool sys_inline(struct tr *t, bool swapgs)
{
	struct cpu *cpu = t->cpu;

	if (swapgs && !(t->key & KEY_64))
		return false;
	tr_flags_to_ctx(t);
	emit_alu_imm(&t->e, 1, 7, xabs(&cpu->s.cpl), 0);
	tr_jcc_slow(t, 5);
	t->host_valid = false;
	if (swapgs) {
		emit_load(&t->e, 8, S1, xabs(&cpu->s.seg[RV_GS].base));
		emit_load(&t->e, 8, S2, xabs(&cpu->s.kernel_gs_base));
		emit_store(&t->e, 8, xabs(&cpu->s.seg[RV_GS].base), S2);
		emit_store(&t->e, 8, xabs(&cpu->s.kernel_gs_base), S1);
	} else {
		emit_alu_imm(&t->e, 4, 4, xabs(&cpu->s.rflags), (int32_t)~RV_FLAG_IF);
	}
	return true;
}

bool tr_sys_inline(const struct insn *in)
{
	return (in->map == MAP_1B && in->opcode == 0xfa) ||
	       (in->map == MAP_0F && in->opcode == 0x01 && in->mod == 3 && (in->reg & 7) == 7 && (in->rm & 7) == 0);
}

static bool map_0f(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned op = in->opcode;
	struct gform g = { .size = in->opsize, .reg_rd = true, .rm_rd = true, .op = 0x0f | op << 8, .oplen = 2 };

	switch (op) {
	case 0x01:
		return tr_sys_inline(in) && sys_inline(t, true);
	case 0x1f:	/* the multi-byte NOP: no access */
		return true;
	case 0x18:	/* PREFETCHh: a hint */
		return in->mod != 3 && (in->reg & 7) < 4;
	case 0x40 ... 0x4f:	/* CMOVcc: the load happens whatever the condition */
		g.reg_wr = true;
		return gen(t, &g);
	case 0x90 ... 0x9f:	/* SETcc r/m8 */
		g.size = 1;
		g.digit = true;
		g.rm_rd = false;
		g.rm_wr = true;
		return gen(t, &g);
	case 0xa3: case 0xab: case 0xb3: case 0xbb:
		/* BT* r/m, reg: with memory the bit offset reaches outside the operand */
		if (in->mod != 3)
			return false;
		g.rm_wr = op != 0xa3;
		g.rm_in_reg = true;
		return gen(t, &g);
	case 0xba:
		if ((in->reg & 7) < 4)
			return false;
		g.digit = true;
		g.rm_wr = (in->reg & 7) != 4;
		g.immlen = 1;
		g.imm = in->imm;
		return gen(t, &g);
	case 0xa4: case 0xac:	/* SHLD/SHRD r/m, reg, imm8 */
		g.rm_wr = true;
		g.immlen = 1;
		g.imm = in->imm;
		return gen(t, &g);
	case 0xa5: case 0xad:	/* by CL */
		g.rm_wr = true;
		return gen(t, &g);
	case 0xaf:
		g.reg_wr = true;
		return gen(t, &g);
	case 0xb0: case 0xb1:	/* CMPXCHG: the host's RAX is the accumulator */
		g.size = op == 0xb0 ? 1 : in->opsize;
		g.rm_wr = true;
		return gen(t, &g);
	case 0xc0: case 0xc1:	/* XADD */
		g.size = op == 0xc0 ? 1 : in->opsize;
		g.rm_wr = g.reg_wr = true;
		return gen(t, &g);
	case 0xb6: case 0xbe:
		g.rm_size = 1;
		g.reg_wr = true;
		return gen(t, &g);
	case 0xb7: case 0xbf:
		g.rm_size = 2;
		g.reg_wr = true;
		return gen(t, &g);
	case 0xbc: case 0xbd:	/* BSF/BSR, TZCNT/LZCNT with F3 */
		if (in->sse_pfx == SSE_F3) {
			if (!host_has(op == 0xbc ? HOST_BMI1 : HOST_LZCNT))
				return false;
			g.rep = 0xf3;
		} else if (in->sse_pfx != SSE_NONE && in->sse_pfx != SSE_66) {
			return false;
		}
		g.reg_wr = true;
		return gen(t, &g);
	case 0xb8:
		if (in->sse_pfx != SSE_F3 || !host_has(HOST_POPCNT))
			return false;
		g.rep = 0xf3;
		g.reg_wr = true;
		return gen(t, &g);
	case 0xc8 ... 0xcf:
		return bswap(t);
	default:
		return false;
	}
}

bool tr_native(struct tr *t)
{
	const struct insn *in = t->in;
	unsigned op = in->opcode, digit = in->reg & 7;

	/* F2/F3 on these integer forms mean nothing but are kept by the interpreter's rules: leave them there */
	if (in->map == MAP_1B && (in->prefix & (PFX_REP | PFX_REPNE)) && op != 0x90)
		return false;
	if (in->map == MAP_0F)
		return map_0f(t);
	if (in->map == MAP_0F38) {
		struct gform g = { .size = in->opsize, .op = 0x380f | op << 16, .oplen = 3 };

		if ((op != 0xf0 && op != 0xf1) || in->mod == 3 || in->sse_pfx != SSE_NONE || !host_has(HOST_MOVBE))
			return false;
		g.reg_rd = g.rm_wr = op == 0xf1;
		g.rm_rd = g.reg_wr = op == 0xf0;
		return gen(t, &g);
	}
	if (in->map != MAP_1B)
		return false;
	if (op < 0x40 && (op & 7) < 4)
		return alu_modrm(t);
	if (op < 0x40 && (op & 7) < 6)
		return acc_imm(t);
	switch (op) {
	case 0x40 ... 0x4f: {	/* INC/DEC r32 (not 64-bit code, where these are REX) */
		struct gform g = { .size = in->opsize, .digit = true, .rm_rd = true, .rm_wr = true,
				   .op = 0xff, .oplen = 1 };
		struct insn fake = *in;

		fake.mod = 3;
		fake.rm = op & 7;
		fake.reg = op >= 0x48;
		t->in = &fake;
		gen(t, &g);
		t->in = in;
		return true;
	}
	case 0x63:	/* MOVSXD (64-bit code; ARPL elsewhere is the interpreter's) */
		if (!(t->key & KEY_64)) 
			return false;
		{
			struct gform g = { .size = in->opsize, .rm_size = 4, .reg_rd = false, .reg_wr = true,
					   .rm_rd = true, .op = 0x63, .oplen = 1 };

			if (in->opsize != 8)
				g.op = 0x8b;	/* without REX.W it is a plain 32-bit MOV */
			return gen(t, &g);
		}
	case 0x69: case 0x6b: {
		struct gform g = { .size = in->opsize, .reg_wr = true, .rm_rd = true, .op = op, .oplen = 1,
				   .immlen = in->imm_len, .imm = in->imm };

		return gen(t, &g);
	}
	case 0x80: case 0x81: case 0x82: case 0x83:
		if (!with_imm(t, op == 0x82 ? 0x80 : op, digit != 7))
			return false;
		note_replay(t, digit, true, true);
		return true;
	case 0x84: case 0x85: {
		struct gform g = { .size = in->opsize, .reg_rd = true, .rm_rd = true, .op = op, .oplen = 1 };

		if (!gen(t, &g))
			return false;
		note_replay(t, 8, true, false);
		return true;
	}
	case 0x86: case 0x87: {
		struct gform g = { .size = in->opsize, .reg_rd = true, .reg_wr = true, .rm_rd = true,
				   .rm_wr = true, .op = op, .oplen = 1 };

		return gen(t, &g);
	}
	case 0x88: case 0x89: {
		struct gform g = { .size = in->opsize, .reg_rd = true, .rm_wr = true, .op = op, .oplen = 1 };

		return gen(t, &g);
	}
	case 0x8a: case 0x8b: {
		struct gform g = { .size = in->opsize, .reg_wr = true, .rm_rd = true, .op = op, .oplen = 1 };

		return gen(t, &g);
	}
	case 0x8d:
		return lea(t);
	case 0x90 ... 0x97:
		/*
		 * PAUSE is nothing here, but a guest of nested SVM may intercept
		 * it (APM vol. 2, chapter 15, "Pause Intercept Filtering"): in
		 * guest mode the slow path runs it in the interpreter.
		 */
		if (op == 0x90 && (in->prefix & PFX_REP)) {
			if (t->cpu->svm_offered) {
				tr_flags_to_ctx(t);
				emit_alu_imm(&t->e, 1, 7, xabs(&t->cpu->svm.guest), 0);
				tr_jcc_slow(t, 5);
				t->host_valid = false;
			}
			return true;
		}
		return xchg_acc(t);
	case 0x98: case 0x99: case 0x9e: case 0x9f: case 0xf5: case 0xf8: case 0xf9:
		return plain(t);
	case 0xa8: case 0xa9:
		return acc_imm(t);
	case 0xfa:
		return sys_inline(t, false);
	case 0xb0 ... 0xbf:
		return mov_imm(t);
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		return with_imm(t, op, true);
	case 0xc6: case 0xc7:
		if (digit != 0)
			return false;
		return with_imm(t, op, true);
	case 0xf6: case 0xf7:
		if (digit >= 6)
			return false;	/* DIV/IDIV may raise #DE */
		if (digit < 2) {
			if (!with_imm(t, op, false))
				return false;
			note_replay(t, 8, true, true);
			return true;
		}
		{
			struct gform g = { .size = in->opsize, .digit = true, .rm_rd = true, .rm_wr = digit < 4,
					   .op = op, .oplen = 1 };

			return gen(t, &g);
		}
	case 0xfe: case 0xff:
		if (digit >= 2)
			return false;
		return with_imm(t, op, true);
	default:
		return false;
	}
}
