/*
 * The x86-64 encoder of the translator: each host instruction form written
 * once (Intel SDM vol. 2, ch. 2: legacy prefixes, REX, opcode, ModRM, SIB,
 * displacement, immediate). It knows encodings, not guest semantics.
 * Code is written through the writable view of the code buffer; rel32
 * targets are addresses in the executable view.
 */
#ifndef RV_JIT_EMIT_H
#define RV_JIT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hreg {
	H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
	H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15,
	H_NONE = 0xff,
};
/* An 8-bit register operand naming AH, CH, DH or BH (only encodable without REX). */
#define H_HIGH8(r) (0x10 | (r))

/* A register or memory operand of a host instruction. */
struct xop {
	uint8_t is_mem;
	uint8_t reg;		/* register: enum hreg, or H_HIGH8() for byte operations */
	uint8_t base, index;	/* memory: H_NONE when absent; neither: absolute [disp32] */
	uint8_t scale;		/* 0-3 */
	int32_t disp;
};

static inline struct xop xreg(unsigned r)
{
	return (struct xop){ .is_mem = 0, .reg = (uint8_t)r, .base = H_NONE, .index = H_NONE };
}

static inline struct xop xmem(unsigned base, unsigned index, unsigned scale, int32_t disp)
{
	return (struct xop){ .is_mem = 1, .reg = H_NONE, .base = (uint8_t)base, .index = (uint8_t)index,
			     .scale = (uint8_t)scale, .disp = disp };
}

/* Absolute [disp32]: the translator's data lives in the low 2 GiB (see codebuf.h). */
static inline struct xop xabs(const void *p)
{
	return xmem(H_NONE, H_NONE, 0, (int32_t)(intptr_t)p);
}

struct emit {
	uint8_t *p;		/* next byte, in the writable view */
	uint8_t *end;
	intptr_t rx_delta;	/* executable address = writable address + rx_delta */
	bool overflow;		/* ran out of room: the caller flushes and starts again */
};

static inline uintptr_t emit_rx(const struct emit *e)
{
	return (uintptr_t)e->p + (uintptr_t)e->rx_delta;
}

/* Raw bytes. */
void emit_u8(struct emit *e, unsigned b);
void emit_u32(struct emit *e, uint32_t v);
void emit_u64(struct emit *e, uint64_t v);

/*
 * The general form: [66] [F2/F3] [REX] opcode bytes (`op` holds up to
 * three, the first in the low byte; `oplen` of them), ModRM with `reg`
 * (a register or a /digit) and the operand `rm`, then `immlen` immediate
 * bytes of imm. `w` sets REX.W; `byte` says the register operands are
 * 8-bit (SPL-DIL need a REX, AH-BH refuse one). Returns false when the
 * combination cannot be encoded (AH-BH with a REX).
 */
struct xform {
	uint8_t lock, p66, rep;	/* rep: 0, 0xf2 or 0xf3 */
	uint8_t w;
	uint8_t reg_byte, rm_byte;	/* which register operands are 8-bit */
	uint32_t op;
	uint8_t oplen;
};
bool emit_modrm_insn(struct emit *e, const struct xform *f, unsigned reg, struct xop rm,
		     uint64_t imm, unsigned immlen);
/* Can it be encoded (no AH-BH together with a REX)? Emits nothing. */
bool emit_modrm_ok(const struct xform *f, unsigned reg, struct xop rm);
/* The same form without ModRM: prefixes, REX.W / REX.B for `rb` (opcode +r, or H_NONE), opcode, immediate. */
void emit_plain_insn(struct emit *e, const struct xform *f, unsigned rb, uint64_t imm, unsigned immlen);

/* Common forms (64-bit unless the name or `size` says otherwise; size is 1, 2, 4 or 8). */
void emit_mov_rr(struct emit *e, unsigned size, unsigned dst, unsigned src);
void emit_load(struct emit *e, unsigned size, unsigned dst, struct xop m);	/* mov r, m */
void emit_store(struct emit *e, unsigned size, struct xop m, unsigned src);	/* mov m, r */
void emit_store_imm(struct emit *e, unsigned size, struct xop m, int32_t imm);	/* mov m, imm (sign-extended) */
void emit_mov_imm(struct emit *e, unsigned dst, uint64_t imm);			/* shortest form */
void emit_movzx_load(struct emit *e, unsigned size, unsigned dst, struct xop m);	/* 1/2-byte zero-extending load */
void emit_lea(struct emit *e, unsigned size, unsigned dst, struct xop m);	/* size 4 or 8 */
/* ALU group 1 (0 add, 1 or, 2 adc, 3 sbb, 4 and, 5 sub, 6 xor, 7 cmp) on r/m with an immediate. */
void emit_alu_imm(struct emit *e, unsigned size, unsigned aluop, struct xop rm, int32_t imm);
/* ALU group 1 with a register source: op rm, reg. */
void emit_alu_rm_r(struct emit *e, unsigned size, unsigned aluop, struct xop rm, unsigned reg);
/* ALU group 1 with a memory source: op reg, rm. */
void emit_alu_r_rm(struct emit *e, unsigned size, unsigned aluop, unsigned reg, struct xop rm);
/* Shift group 2 by an immediate (4 shl, 5 shr, 7 sar ...). */
void emit_shift_imm(struct emit *e, unsigned size, unsigned op, struct xop rm, unsigned count);
void emit_test_imm(struct emit *e, unsigned size, struct xop rm, int32_t imm);
/* RORX dst, src, imm (BMI2; no flags): 64-bit registers. */
void emit_rorx(struct emit *e, unsigned dst, unsigned src, unsigned imm);

/* SSE2 on a qword in an XMM register (PADDQ/PSUBQ: a 16-byte aligned memory operand). */
void emit_movq_load_xmm(struct emit *e, unsigned xmm, struct xop m);	/* movq xmm, m64 */
void emit_movq_store_xmm(struct emit *e, struct xop m, unsigned xmm);	/* movq m64, xmm */
void emit_paddq(struct emit *e, unsigned xmm, struct xop m);
void emit_psubq(struct emit *e, unsigned xmm, struct xop m);
/* LAHF / SAHF (in 64-bit mode where CPUID 8000_0001h ECX bit 0 says so). */
void emit_lahf(struct emit *e);
void emit_sahf(struct emit *e);
/* SETcc r/m8. */
void emit_setcc(struct emit *e, unsigned cc, struct xop rm);
void emit_push_m(struct emit *e, struct xop m);		/* push qword m */
void emit_pop_m(struct emit *e, struct xop m);		/* pop qword m */
void emit_push_r(struct emit *e, unsigned r);
void emit_pop_r(struct emit *e, unsigned r);
void emit_ret(struct emit *e);
void emit_call_m(struct emit *e, struct xop m);		/* call qword m */
void emit_jmp_r(struct emit *e, unsigned r);
void emit_jmp_m(struct emit *e, struct xop m);

/*
 * Near jumps and calls to an executable address. Each returns the
 * writable address of its rel32 field, for emit_patch_rel32().
 */
uint8_t *emit_jmp(struct emit *e, uintptr_t target);
uint8_t *emit_jcc(struct emit *e, unsigned cc, uintptr_t target);
uint8_t *emit_call(struct emit *e, uintptr_t target);
/* Point the rel32 field at `field` (writable view) to `target` (executable view). */
void emit_patch_rel32(uint8_t *field, intptr_t rx_delta, uintptr_t target);

/* Short forward branch: emit jcc rel8 (cc 0-15, or 16 for jmp) and bind it later. */
uint8_t *emit_jcc8(struct emit *e, unsigned cc);
void emit_bind8(struct emit *e, uint8_t *field);

#endif
