/*
 * Random x86-64 programs for the differential tests of the translator
 * (test_jit_diff.c, and the fuzz target fuzz_jit.c, which draws the same
 * programs from its input). A program is straight-line code with forward
 * branches, a counted loop, calls, pushes and pops, loads and stores,
 * self-modifying stores and page faults, ending in HLT. Only instructions
 * whose flags are all defined are left as the last writer before a flag
 * reader: the others are followed by a full flag writer, so both engines
 * must agree bit for bit (AF aside: logic operations leave it undefined,
 * and nothing here reads it).
 *
 * Encoded by hand from the SDM's tables, independently of the translator's
 * encoder.
 */
#ifndef RV_TEST_JIT_GEN_H
#define RV_TEST_JIT_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Guest-physical (= linear, identity-mapped) layout. */
#define JG_CODE     0x100000u	/* program, then its functions */
#define JG_CODE_MAX 0x1000u	/* bytes of a program */
#define JG_CODE_SLOT 0x2000u	/* the code slot: a program loaded at its `at` may cross the page in it */
#define JG_DATA     0x200000u	/* RBX = JG_DATA + 0x80, R11 = JG_DATA + 0x180 */
#define JG_STACK    0x201f00u	/* RSP */
#define JG_UNMAPPED 0x40000000u	/* loads from here fault (#PF) */

/* The random source: a counter-based generator, or bytes (the fuzzer's input) when given. */
struct jg_rng {
	uint64_t s;
	const uint8_t *bytes;
	size_t len, pos;
};

static inline uint32_t jg_rand(struct jg_rng *r)
{
	if (r->bytes) {
		uint32_t v = 0;

		for (int i = 0; i < 4; i++)
			v = v << 8 | (r->pos < r->len ? r->bytes[r->pos++] : 0);
		return v;
	}
	r->s += 0x9e3779b97f4a7c15ull;
	uint64_t z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)(z ^ (z >> 31));
}

static inline unsigned jg_pick(struct jg_rng *r, unsigned n)
{
	return jg_rand(r) % n;
}

/* Registers a program may write: all but RBX, RSP and R11 (memory bases) and R15 (the loop counter) */
static const uint8_t jg_dst[] = { 0, 1, 2, 5, 6, 7, 8, 9, 10, 12, 13, 14 };

struct jg_prog {
	uint8_t code[JG_CODE_MAX];
	unsigned len;
	/* instruction starts, for forward branch targets */
	unsigned start[256];
	unsigned n;
	/* forward branches to resolve: position of rel8, index of the target instruction */
	struct { unsigned at, target_insn; } fix[64];
	unsigned nfix;
	uint64_t regs[16];
	uint64_t flags;
	unsigned at;		/* where it is loaded in the code slot (JG_CODE + at), at most JG_CODE_SLOT - JG_CODE_MAX */
};

static inline void jg_b(struct jg_prog *p, unsigned b)
{
	if (p->len < JG_CODE_MAX)
		p->code[p->len++] = (uint8_t)b;
}

static inline void jg_imm(struct jg_prog *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		jg_b(p, (unsigned)(v >> (8 * i)) & 0xff);
}

static inline unsigned jg_reg(struct jg_rng *r)
{
	return jg_dst[jg_pick(r, sizeof(jg_dst))];
}

/* Any register as a source (bases included: reading them is harmless). */
static inline unsigned jg_src(struct jg_rng *r)
{
	unsigned g = jg_pick(r, 16);

	return g == 4 ? 3 : g;
}

/* Prefixes and REX for operand size `size` (1/2/4/8) with ModRM reg `reg` and r/m register or base `rm`. */
static inline void jg_prefix(struct jg_prog *p, unsigned size, unsigned reg, unsigned rm, bool force_rex)
{
	unsigned rex = (size == 8 ? 8 : 0) | (reg & 8 ? 4 : 0) | (rm & 8 ? 1 : 0);

	if (size == 2)
		jg_b(p, 0x66);
	if (rex || force_rex)
		jg_b(p, 0x40 | rex);
}

/* An operand: a register, or memory [RBX + d8] / [R11 + d8] / [RSP + d8]. */
struct jg_op {
	bool mem;
	unsigned reg;		/* register, or base */
	int8_t disp;
};

static inline void jg_modrm(struct jg_prog *p, unsigned reg, struct jg_op rm)
{
	if (!rm.mem) {
		jg_b(p, 0xc0 | (reg & 7) << 3 | (rm.reg & 7));
		return;
	}
	jg_b(p, 0x40 | (reg & 7) << 3 | (rm.reg & 7));
	if ((rm.reg & 7) == 4)
		jg_b(p, 0x24);	/* SIB: base RSP/R12, no index */
	jg_b(p, (uint8_t)rm.disp);
}

static inline struct jg_op jg_memop(struct jg_rng *r)
{
	static const uint8_t bases[] = { 3, 11, 4 };
	struct jg_op o = { .mem = true, .reg = bases[jg_pick(r, 3)] };

	/* RSP-based accesses stay above RSP, the others anywhere in their 128 bytes */
	o.disp = (int8_t)(o.reg == 4 ? jg_pick(r, 0x40) : jg_pick(r, 0x7c));
	return o;
}

static inline unsigned jg_size(struct jg_rng *r)
{
	static const uint8_t sizes[] = { 8, 8, 4, 4, 2, 1 };

	return sizes[jg_pick(r, sizeof(sizes))];
}

/*
 * [66] [REX] opcode bytes ModRM: `op` holds up to 3 opcode bytes (first in
 * the low byte), `reg` the ModRM.reg register or /digit. Byte operations
 * always take a REX, so registers 4-7 are SPL-DIL (never RSP as a
 * destination: jg_dst leaves it out).
 */
static inline void jg_rm(struct jg_prog *p, unsigned size, uint32_t op, unsigned nop, unsigned reg,
			 struct jg_op rm)
{
	jg_prefix(p, size, reg, rm.reg, size == 1);
	for (unsigned i = 0; i < nop; i++)
		jg_b(p, (op >> (8 * i)) & 0xff);
	jg_modrm(p, reg, rm);
}

/* A full flag writer (CMP/ADD/SUB/XOR/OR/AND between 64-bit registers), after instructions with undefined flags. */
static inline void jg_define_flags(struct jg_prog *p, struct jg_rng *r)
{
	static const uint8_t ops[] = { 0x39, 0x01, 0x29, 0x31, 0x09, 0x21 };
	unsigned op = jg_pick(r, sizeof(ops));

	jg_rm(p, 8, ops[op], 1, jg_src(r), (struct jg_op){ .reg = op == 0 ? jg_src(r) : jg_reg(r) });
}

/* One instruction (or a short idiom) at the end of p. */
static inline void jg_insn(struct jg_prog *p, struct jg_rng *r, unsigned idx, unsigned total)
{
	unsigned kind = jg_pick(r, 26), size = jg_size(r);
	unsigned dst = jg_reg(r), src = jg_src(r);
	bool mem = jg_pick(r, 3) == 0;
	struct jg_op rm = mem ? jg_memop(r) : (struct jg_op){ .reg = dst };
	struct jg_op srm = mem ? rm : (struct jg_op){ .reg = src };	/* a source r/m */
	bool b = size == 1;

	switch (kind) {
	case 0: case 1: case 2: case 3: {	/* ALU op r/m, reg / op reg, r/m */
		unsigned op = jg_pick(r, 8);

		if (jg_pick(r, 2))
			jg_rm(p, size, op << 3 | !b, 1, src, rm);
		else
			jg_rm(p, size, op << 3 | 2 | !b, 1, dst, srm);
		break;
	}
	case 4: case 5: {	/* group 1 with an immediate */
		unsigned form = b ? 0x80 : jg_pick(r, 2) ? 0x83 : 0x81;

		jg_rm(p, size, form, 1, jg_pick(r, 8), rm);
		jg_imm(p, jg_rand(r), form == 0x81 ? (size == 2 ? 2 : 4) : 1);
		break;
	}
	case 6:	/* INC/DEC, NOT/NEG */
		if (jg_pick(r, 2))
			jg_rm(p, size, b ? 0xfe : 0xff, 1, jg_pick(r, 2), rm);
		else
			jg_rm(p, size, b ? 0xf6 : 0xf7, 1, 2 + jg_pick(r, 2), rm);
		break;
	case 7:	/* MOV r/m, reg and reg, r/m */
		if (jg_pick(r, 2))
			jg_rm(p, size, b ? 0x88 : 0x89, 1, src, rm);
		else
			jg_rm(p, size, b ? 0x8a : 0x8b, 1, dst, srm);
		break;
	case 8: {	/* MOV reg, imm32 / imm64 */
		bool w = jg_pick(r, 2);

		jg_prefix(p, w ? 8 : 4, 0, dst, false);
		jg_b(p, 0xb8 | (dst & 7));
		jg_imm(p, (uint64_t)jg_rand(r) << 32 | jg_rand(r), w ? 8 : 4);
		break;
	}
	case 9: {	/* MOVZX/MOVSX r, r/m8 / r/m16, MOVSXD */
		unsigned which = jg_pick(r, 5), dsize = jg_pick(r, 2) ? 8 : 4;

		if (which == 4) {
			jg_rm(p, 8, 0x63, 1, dst, srm);
		} else {
			/* the REX a byte source needs for SPL-DIL */
			jg_prefix(p, dsize, dst, srm.reg, true);
			jg_b(p, 0x0f);
			jg_b(p, 0xb6 + (which & 1) + (which & 2 ? 8 : 0));
			jg_modrm(p, dst, srm);
		}
		break;
	}
	case 10: {	/* LEA reg, [base + index*scale + d8] */
		unsigned base = jg_src(r), index = jg_src(r), w = jg_pick(r, 2);

		if (index == 4)
			index = 0;
		jg_b(p, 0x40 | (w ? 8 : 0) | (dst & 8 ? 4 : 0) | (index & 8 ? 2 : 0) | (base & 8 ? 1 : 0));
		jg_b(p, 0x8d);
		jg_b(p, 0x44 | (dst & 7) << 3);
		jg_b(p, jg_pick(r, 4) << 6 | (index & 7) << 3 | (base & 7));
		jg_b(p, jg_rand(r) & 0xff);
		break;
	}
	case 11: {	/* shifts and rotates by 1, imm8 or CL; then a flag writer */
		unsigned form = jg_pick(r, 3);

		jg_rm(p, size, (form == 0 ? 0xd0 : form == 1 ? 0xc0 : 0xd2) | !b, 1, jg_pick(r, 8), rm);
		if (form == 1)
			jg_b(p, jg_rand(r) & 0x3f);
		jg_define_flags(p, r);
		break;
	}
	case 12: {	/* IMUL r, r/m (, imm8); MUL/IMUL r/m; then a flag writer */
		unsigned form = jg_pick(r, 3);

		if (b)
			size = 4;
		if (form == 0)
			jg_rm(p, size, 0xaf0f, 2, dst, srm);
		else if (form == 1) {
			jg_rm(p, size, 0x6b, 1, dst, srm);
			jg_b(p, jg_rand(r) & 0xff);
		} else
			jg_rm(p, size, 0xf7, 1, 4 + jg_pick(r, 2), srm);
		jg_define_flags(p, r);
		break;
	}
	case 13: case 14: {	/* flag readers: SETcc, CMOVcc, ADC/SBB */
		unsigned cc = jg_pick(r, 16), which = jg_pick(r, 3);

		if (which == 0)
			jg_rm(p, 1, 0x900f | cc << 8, 2, 0, rm);
		else if (which == 1)
			jg_rm(p, b ? 4 : size, 0x400f | cc << 8, 2, dst, srm);
		else
			jg_rm(p, size, (jg_pick(r, 2) ? 0x10 : 0x18) | !b, 1, src, rm);
		break;
	}
	case 15:	/* BT/BTS/BTR/BTC with an immediate, or with a register on a register; then a flag writer */
		if (b)
			size = 8;
		if (jg_pick(r, 2) || mem) {
			jg_rm(p, size, 0xba0f, 2, 4 + jg_pick(r, 4), rm);
			jg_b(p, jg_rand(r) & 0xff);
		} else {
			jg_rm(p, size, (0xa3 + 8 * jg_pick(r, 4)) << 8 | 0x0f, 2, src, rm);
		}
		jg_define_flags(p, r);
		break;
	case 16:	/* BSWAP, XCHG, XADD, CMPXCHG; then a flag writer */
		switch (jg_pick(r, 4)) {
		case 0:
			jg_prefix(p, jg_pick(r, 2) ? 8 : 4, 0, dst, false);
			jg_b(p, 0x0f);
			jg_b(p, 0xc8 | (dst & 7));
			break;
		case 1:
			jg_rm(p, size, b ? 0x86 : 0x87, 1, dst, mem ? rm : (struct jg_op){ .reg = jg_reg(r) });
			break;
		default:
			jg_rm(p, size, ((jg_pick(r, 2) ? 0xc0 : 0xb0) | !b) << 8 | 0x0f, 2, dst,
			      mem ? rm : (struct jg_op){ .reg = jg_reg(r) });
			break;
		}
		jg_define_flags(p, r);
		break;
	case 17:	/* PUSH reg or imm, then POP reg */
		if (jg_pick(r, 2)) {
			jg_b(p, 0x6a);
			jg_b(p, jg_rand(r) & 0xff);
		} else {
			if (src & 8)
				jg_b(p, 0x41);
			jg_b(p, 0x50 | (src & 7));
		}
		if (dst & 8)
			jg_b(p, 0x41);
		jg_b(p, 0x58 | (dst & 7));
		break;
	case 18:	/* CBW/CWDE/CDQE, CWD/CDQ/CQO; CLC/STC/CMC */
		if (jg_pick(r, 2)) {
			unsigned sz = jg_pick(r, 3);

			jg_prefix(p, sz == 0 ? 2 : sz == 1 ? 4 : 8, 0, 0, false);
			jg_b(p, 0x98 | jg_pick(r, 2));
		} else {
			static const uint8_t fl[] = { 0xf5, 0xf8, 0xf9 };

			jg_b(p, fl[jg_pick(r, 3)]);
		}
		break;
	case 19: {	/* a forward conditional branch over 1-3 instructions */
		unsigned skip = 1 + jg_pick(r, 3);

		if (idx + skip < total && p->nfix < 64) {
			jg_b(p, 0x70 | jg_pick(r, 16));
			p->fix[p->nfix].at = p->len;
			p->fix[p->nfix++].target_insn = idx + 1 + skip;
			jg_b(p, 0);
		}
		break;
	}
	case 20:	/* self-modifying: MOV byte [rip+1], imm8 rewrites the next ADD AL, imm8 */
		jg_b(p, 0xc6);
		jg_b(p, 0x05);
		jg_imm(p, 1, 4);
		jg_b(p, jg_rand(r) & 0xff);
		jg_b(p, 0x04);
		jg_b(p, 0x00);
		break;
	case 21:	/* a load that faults (rarely: it ends the program): not mapped, or not canonical */
		if (jg_pick(r, 8) == 0) {
			static const uint64_t bad[] = { JG_UNMAPPED, 0x8000000000000000ull, 0x0000800000000000ull,
							0xffff7ffffffff000ull };

			/* mov rX, imm64; mov dst, [rX + small] with rX = RBX's neighbour R11 kept: use dst itself */
			jg_prefix(p, 8, 0, dst, false);
			jg_b(p, 0xb8 | (dst & 7));
			jg_imm(p, bad[jg_pick(r, 4)] + (jg_rand(r) & 0xff8), 8);
			jg_rm(p, 8, 0x8b, 1, dst, (struct jg_op){ .mem = true, .reg = dst, .disp = 0 });
		}
		break;
	case 22:	/* a call to the function after the program (ADD RAX,1; RET) */
		if (p->nfix < 64) {
			jg_b(p, 0xe8);
			p->fix[p->nfix].at = p->len;
			p->fix[p->nfix++].target_insn = 0xffff;
			jg_imm(p, 0, 4);
		}
		break;
	default:	/* TEST r/m, reg; TEST/CMP r/m, imm */
		if (jg_pick(r, 2)) {
			jg_rm(p, size, b ? 0x84 : 0x85, 1, src, rm);
		} else {
			jg_rm(p, size, b ? 0xf6 : 0xf7, 1, 0, rm);
			jg_imm(p, jg_rand(r), b ? 1 : size == 2 ? 2 : 4);
		}
		break;
	}
}

/*
 * A whole program: n random instructions in a counted loop (R15 counts
 * 1-3 iterations), HLT, then the function the calls reach.
 */
static inline void jg_program(struct jg_prog *p, struct jg_rng *r, unsigned n)
{
	unsigned loop_start, fn;

	memset(p, 0, sizeof(*p));
	if (n > 200)
		n = 200;
	/* mov r15d, 1..3 */
	jg_b(p, 0x41);
	jg_b(p, 0xbf);
	jg_imm(p, 1 + jg_pick(r, 3), 4);
	loop_start = p->len;
	for (unsigned i = 0; i < n; i++) {
		p->start[p->n++] = p->len;
		jg_insn(p, r, i, n);
		/* keep R15 for the loop and RBX/R13/RSP for memory: rewritten dst registers are not those */
	}
	p->start[p->n++] = p->len;
	/* dec r15d; jnz loop */
	jg_b(p, 0x41);
	jg_b(p, 0xff);
	jg_b(p, 0xcf);
	{
		int rel = (int)loop_start - (int)(p->len + 6);

		jg_b(p, 0x0f);
		jg_b(p, 0x85);
		jg_imm(p, (uint32_t)rel, 4);
	}
	jg_b(p, 0xf4);
	fn = p->len;
	jg_b(p, 0x48);	/* add rax, 1; ret */
	jg_b(p, 0x83);
	jg_b(p, 0xc0);
	jg_b(p, 0x01);
	jg_b(p, 0xc3);
	for (unsigned f = 0; f < p->nfix; f++) {
		unsigned at = p->fix[f].at;

		if (p->fix[f].target_insn == 0xffff) {
			uint32_t rel = (uint32_t)(fn - (at + 4));

			memcpy(p->code + at, &rel, 4);
		} else {
			unsigned tgt = p->fix[f].target_insn < p->n ? p->start[p->fix[f].target_insn] : p->start[p->n - 1];
			int rel = (int)tgt - (int)(at + 1);

			p->code[at] = (uint8_t)(rel > 127 ? 127 : rel);
		}
	}
	for (unsigned g = 0; g < 16; g++)
		p->regs[g] = (uint64_t)jg_rand(r) << 32 | jg_rand(r);
	p->regs[3] = JG_DATA + 0x80;
	p->regs[11] = JG_DATA + 0x180;
	p->regs[4] = JG_STACK;
	p->flags = jg_rand(r) & 0x8d5;
}

#endif
