/* Shifts and rotates: the C0/C1/D0-D3 group and SHLD/SHRD (SDM vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD"). */
#include "cpu/exec_int2.h"

/*
 * Flags the manuals leave undefined take the values an AMD Zen host
 * produces (checked against the host in tests/unit/test_int2.c); the
 * SHL/SHR/SAR rules are in int2_shift_arith() (exec_int2.h).
 */
uint64_t int2_shift(unsigned op, unsigned size, uint64_t v, unsigned count, uint32_t *fl)
{
	unsigned bits = size * 8;
	uint64_t m = size_mask(size);
	uint64_t res;
	uint32_t f = *fl, cf;

	v &= m;
	if (count == 0)
		return v;
	switch (op & 7) {
	case 0: /* ROL */
	case 1: { /* ROR */
		unsigned c = count & (bits - 1);
		if (op == 0)
			res = c ? ((v << c) | (v >> (bits - c))) & m : v;
		else
			res = c ? ((v >> c) | (v << (bits - c))) & m : v;
		f &= ~(F_CF | F_OF);
		if (op == 0) {
			cf = res & 1;
			f |= cf ? F_CF : 0;
			f |= (int2_msb(res, size) ^ cf) ? F_OF : 0;
		} else {
			cf = int2_msb(res, size);
			f |= cf ? F_CF : 0;
			f |= (cf ^ int2_msb(res << 1, size)) ? F_OF : 0;
		}
		*fl = f;
		return res;
	}
	case 2: /* RCL */
	case 3: { /* RCR */
		unsigned c = count;
		uint64_t oldcf = (f & F_CF) ? 1 : 0;
		if (size <= 2)
			c %= bits + 1;
		if (c == 0) {
			res = v;
			cf = (unsigned)oldcf;
		} else if (op == 2) {
			res = (v << c) | (oldcf << (c - 1));
			if (c > 1)
				res |= v >> (bits + 1 - c);
			res &= m;
			cf = (v >> (bits - c)) & 1;
		} else {
			res = (v >> c) | (oldcf << (bits - c));
			if (c > 1)
				res |= v << (bits + 1 - c);
			res &= m;
			cf = (v >> (c - 1)) & 1;
		}
		f &= ~(F_CF | F_OF);
		f |= cf ? F_CF : 0;
		if (op == 2)
			f |= (int2_msb(res, size) ^ cf) ? F_OF : 0;
		else
			f |= (int2_msb(res, size) ^ int2_msb(res << 1, size)) ? F_OF : 0;
		*fl = f;
		return res;
	}
	default: /* SHL/SAL, SHR, SAR */
		return int2_shift_arith(op & 7, size, v, count, fl);
	}
}

/*
 * SHLD/SHRD by `count` (1..31/63). A 16-bit shift by more than 16 is
 * undefined; AMD shifts the 48-bit value dst:src:src (SHLD) or
 * src:src:dst (SHRD), which this reproduces.
 */
static uint64_t shxd_step(bool left, unsigned size, uint64_t dst, uint64_t src, unsigned count,
			  uint32_t *cf)
{
	unsigned bits = size * 8;
	uint64_t m = size_mask(size);

	if (size == 2) {
		if (left) {
			uint64_t wide = dst << 32 | src << 16 | src;
			*cf = (uint32_t)(wide >> (48 - count)) & 1;
			return (wide >> (32 - count)) & m;
		} else {
			uint64_t wide = src << 32 | src << 16 | dst;
			*cf = (uint32_t)(wide >> (count - 1)) & 1;
			return (wide >> count) & m;
		}
	}
	if (left) {
		*cf = (uint32_t)(dst >> (bits - count)) & 1;
		return ((dst << count) | (src >> (bits - count))) & m;
	}
	*cf = (uint32_t)(dst >> (count - 1)) & 1;
	return ((dst >> count) | (src << (bits - count))) & m;
}

/* Flags: OF is the sign change of the last one-bit step (defined only for count 1), AF is set (AMD). */
uint64_t int2_shxd(bool left, unsigned size, uint64_t dst, uint64_t src, unsigned count, uint32_t *fl)
{
	uint64_t m = size_mask(size), res, prev;
	uint32_t cf, pcf;

	dst &= m;
	src &= m;
	if (count == 0)
		return dst;
	res = shxd_step(left, size, dst, src, count, &cf);
	prev = count == 1 ? dst : shxd_step(left, size, dst, src, count - 1, &pcf);
	if (size == 2 && count > 16) {
		/* AMD: CF = 0; OF = 0 for SHLD, the last step's sign change for SHRD */
		cf = 0;
		if (left)
			prev = res;
	} else if (size == 2 && count == 16 && left) {
		/* AMD: OF = CF (bit 0 of the destination) */
		prev = res ^ ((uint64_t)cf << 15);
	}
	*fl = int2_szp(res, size) | (cf ? F_CF : 0) | F_AF |
	      (int2_msb(res ^ prev, size) ? F_OF : 0);
	return res;
}

/* C0/C1/D0/D1/D2/D3: the count comes from imm8, 1 or CL by opcode. */
void int2_grp2(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize, op = in->reg & 7, count;
	uint64_t v, res;
	uint32_t fl = 0;

	switch (in->opcode) {
	case 0xc0: case 0xc1:
		count = (unsigned)in->imm;
		break;
	case 0xd0: case 0xd1:
		count = 1;
		break;
	default:
		count = (unsigned)cpu->s.gpr[RV_RCX];
		break;
	}
	count &= size == 8 ? 0x3f : 0x1f;
	v = insn_rm_read(cpu, in);
	if (count == 0) {
		/* Flags untouched; the destination is still written (32-bit forms zero-extend). */
		insn_rm_write(cpu, in, v);
		return;
	}
	if (op == 2 || op == 3)
		fl = cpu_get_cf(cpu) ? F_CF : 0;
	res = int2_shift(op, size, v, count, &fl);
	insn_rm_write(cpu, in, res);
	if (op <= 3)
		int2_flags(cpu, F_CF | F_OF, fl);
	else
		int2_flags_all(cpu, fl);
}

/* 0F A4/A5 SHLD, 0F AC/AD SHRD. */
void int2_shld_shrd(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize, count;
	uint64_t dst, src, res;
	uint32_t fl = 0;

	count = (in->opcode & 1) ? (unsigned)cpu->s.gpr[RV_RCX] : (unsigned)in->imm;
	count &= size == 8 ? 0x3f : 0x1f;
	dst = insn_rm_read(cpu, in);
	src = cpu_reg_get(cpu, in->reg, size);
	if (count == 0) {
		insn_rm_write(cpu, in, dst);
		return;
	}
	res = int2_shxd(in->opcode < 0xa8, size, dst, src, count, &fl);
	insn_rm_write(cpu, in, res);
	int2_flags_all(cpu, fl);
}
