/* BCD adjustments DAA, DAS, AAA, AAS, AAM, AAD and SALC (all #UD in 64-bit mode). */
#include "cpu/exec_int2.h"

/*
 * SDM vol. 2A pseudo-code for each; flags the manuals leave undefined:
 * OF of DAA/DAS is the sign change of AL; AAA/AAS set SF/ZF/PF from the
 * final AL and clear OF; AAM clears CF/AF/OF; AAD sets CF/AF/OF like the
 * 8-bit addition AL + AH * imm that it performs.
 */
uint16_t int2_bcd(unsigned op, uint16_t ax, uint8_t imm, uint32_t *fl)
{
	uint8_t al = (uint8_t)ax, ah = (uint8_t)(ax >> 8), old_al = al;
	bool cf = *fl & F_CF, af = *fl & F_AF;
	uint32_t f;

	switch (op) {
	case 0x27: /* DAA */
	case 0x2f: { /* DAS */
		bool ncf = false;
		if ((al & 0x0f) > 9 || af) {
			if (op == 0x27) {
				ncf = cf || al > 0xf9;
				al = (uint8_t)(al + 6);
			} else {
				ncf = cf || al < 6;
				al = (uint8_t)(al - 6);
			}
			af = true;
		} else {
			af = false;
		}
		if (old_al > 0x99 || cf) {
			al = (uint8_t)(op == 0x27 ? al + 0x60 : al - 0x60);
			ncf = true;
		}
		f = int2_szp(al, 1) | (ncf ? F_CF : 0) | (af ? F_AF : 0);
		if (op == 0x27 ? (!(old_al & 0x80) && (al & 0x80)) : ((old_al & 0x80) && !(al & 0x80)))
			f |= F_OF;
		*fl = f;
		return (uint16_t)(ah << 8 | al);
	}
	case 0x37: /* AAA */
	case 0x3f: { /* AAS */
		uint16_t r = ax;
		if ((al & 0x0f) > 9 || af) {
			if (op == 0x37)
				r = (uint16_t)(ax + 0x106);
			else
				r = (uint16_t)(ax - 6 - 0x100);	/* AX - 6, then AH - 1 */
			af = cf = true;
		} else {
			af = cf = false;
		}
		r = (uint16_t)(r & 0xff0f);
		*fl = int2_szp(r & 0xff, 1) | (cf ? F_CF : 0) | (af ? F_AF : 0);
		return r;
	}
	case 0xd4: /* AAM (imm != 0: the caller raised #DE) */
		ah = (uint8_t)(al / imm);
		al = (uint8_t)(al % imm);
		*fl = int2_szp(al, 1);
		return (uint16_t)(ah << 8 | al);
	default: { /* 0xd5 AAD */
		uint8_t t = (uint8_t)(ah * imm);
		unsigned sum = (unsigned)al + t;
		uint8_t r = (uint8_t)sum;
		f = int2_szp(r, 1);
		if (sum > 0xff)
			f |= F_CF;
		if ((al ^ t ^ r) & 0x10)
			f |= F_AF;
		if (((al ^ r) & (t ^ r)) & 0x80)
			f |= F_OF;
		*fl = f;
		return r;
	}
	}
}

/* 27 DAA, 2F DAS, 37 AAA, 3F AAS, D4 AAM ib, D5 AAD ib */
void int2_bcd_op(struct cpu *cpu, const struct insn *in)
{
	uint32_t fl;
	uint16_t ax;

	if (in->opcode == 0xd4 && (uint8_t)in->imm == 0)
		cpu_raise(cpu, EXC_DE, 0);
	fl = int2_get_flags(cpu);
	ax = int2_bcd(in->opcode, (uint16_t)cpu->s.gpr[RV_RAX], (uint8_t)in->imm, &fl);
	cpu_reg_set(cpu, RV_RAX, 2, ax);
	int2_flags_all(cpu, fl);
}

/* D6 SALC (undocumented): AL = CF ? 0xFF : 0 */
void int2_salc(struct cpu *cpu, const struct insn *in)
{
	cpu_reg_set(cpu, RV_RAX, 1, cpu_get_cf(cpu) ? 0xff : 0);
}
