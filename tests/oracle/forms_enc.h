/* Small instruction encoder for the oracle's generated form families (header-only, static helpers). */
#ifndef ORACLE_FORMS_ENC_H
#define ORACLE_FORMS_ENC_H

#include <stdio.h>
#include <string.h>

#include "oracle.h"

#define ENC_MEM (-1)		/* r/m operand is memory: [rbx + ENC_DISP] */
#define ENC_DISP 0x10

struct enc {
	uint8_t b[16];
	unsigned n;
	char hex[48];
};

static inline void enc_byte(struct enc *e, uint8_t v)
{
	if (e->n < sizeof(e->b))
		e->b[e->n++] = v;
}

static inline void enc_imm(struct enc *e, uint64_t v, unsigned len)
{
	unsigned i;
	for (i = 0; i < len; i++)
		enc_byte(e, (uint8_t)(v >> (8 * i)));
}

static inline const char *enc_hex(struct enc *e)
{
	unsigned i, k = 0;
	for (i = 0; i < e->n; i++)
		k += (unsigned)snprintf(e->hex + k, sizeof(e->hex) - k, "%s%02x", i ? " " : "", e->b[i]);
	return e->hex;
}

/*
 * [66] [REX] opcode ModRM [disp8]: operand `size` (1, 2, 4, 8), ModRM.reg =
 * reg (0-15; a /digit for groups), r/m = register rm (0-15) or ENC_MEM.
 * rex40 forces a REX prefix (byte registers SPL..DIL instead of AH..BH).
 */
static inline void enc_modrm_insn(struct enc *e, unsigned size, const uint8_t *op, unsigned oplen,
				  unsigned reg, int rm, bool rex40)
{
	uint8_t rex = 0x40;
	unsigned i;

	e->n = 0;
	if (size == 2)
		enc_byte(e, 0x66);
	if (size == 8)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	if (rm >= 0 && (rm & 8))
		rex |= 1;
	if (rex != 0x40 || rex40)
		enc_byte(e, rex);
	for (i = 0; i < oplen; i++)
		enc_byte(e, op[i]);
	if (rm == ENC_MEM) {
		enc_byte(e, (uint8_t)(0x40 | ((reg & 7) << 3) | RBX));
		enc_byte(e, ENC_DISP);
	} else {
		enc_byte(e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
	}
}

static inline const char *enc_reg_name(unsigned reg, unsigned size, bool rex)
{
	static const char *const r64[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
	static const char *const r32[16] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
		"r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d" };
	static const char *const r16[16] = { "ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
		"r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w" };
	static const char *const r8[16] = { "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
		"r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b" };
	static const char *const r8h[4] = { "ah", "ch", "dh", "bh" };

	switch (size) {
	case 1: return (!rex && reg >= 4 && reg < 8) ? r8h[reg - 4] : r8[reg & 15];
	case 2: return r16[reg & 15];
	case 4: return r32[reg & 15];
	default: return r64[reg & 15];
	}
}

static inline const char *enc_rm_name(int rm, unsigned size, bool rex)
{
	return rm == ENC_MEM ? "[rbx+0x10]" : enc_reg_name((unsigned)rm, size, rex);
}

#endif
