/* Private header of the second integer group (shifts, mul/div, bits, atomics, strings, BCD, misc). */
#ifndef RV_CPU_EXEC_INT2_H
#define RV_CPU_EXEC_INT2_H

#include "cpu/cpu.h"

#define F_CF RV_FLAG_CF
#define F_PF RV_FLAG_PF
#define F_AF RV_FLAG_AF
#define F_ZF RV_FLAG_ZF
#define F_SF RV_FLAG_SF
#define F_OF RV_FLAG_OF

static inline uint64_t int2_sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - size * 8;
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

static inline unsigned int2_msb(uint64_t v, unsigned size)
{
	return (unsigned)(v >> (size * 8 - 1)) & 1;
}

/* SF, ZF and PF of a result of `size` bytes. */
static inline uint32_t int2_szp(uint64_t res, unsigned size)
{
	uint32_t f = 0;
	res &= size_mask(size);
	if (res == 0)
		f |= F_ZF;
	if (int2_msb(res, size))
		f |= F_SF;
	if (parity8(res))
		f |= F_PF;
	return f;
}

/*
 * SHL/SAL (op 4 or 6), SHR (5), SAR (7) of a `size`-byte value by a count of
 * 1-31 (1-63 for 8 bytes): the result, and in *fl every arithmetic flag.
 * Flags the manuals leave undefined take the values an AMD Zen host
 * produces: OF of a multi-bit shift uses the single-bit formula on the last
 * step, and AF is set. Inline because the decoder's specialised handlers
 * (exec_fast.c) use it on their hot path too.
 */
static inline uint64_t int2_shift_arith(unsigned op, unsigned size, uint64_t v, unsigned count,
					uint32_t *fl)
{
	unsigned bits = size * 8, cf;
	uint64_t m = size_mask(size), res;
	uint32_t f;

	switch (op) {
	case 4: /* SHL/SAL */
	case 6:
		res = count >= 64 ? 0 : (v << count) & m;
		cf = count > bits ? 0 : (v >> (bits - count)) & 1;
		f = int2_szp(res, size) | (cf ? F_CF : 0);
		f |= (int2_msb(res, size) ^ cf) ? F_OF : 0;
		break;
	case 5: /* SHR */
		res = v >> count;
		cf = (v >> (count - 1)) & 1;
		f = int2_szp(res, size) | (cf ? F_CF : 0);
		/* OF: the sign change of the last step */
		f |= (int2_msb(res, size) ^ int2_msb(res << 1, size)) ? F_OF : 0;
		if (count == 1 && int2_msb(v, size))
			f |= F_OF;
		break;
	default: { /* 7: SAR */
		int64_t sv = (int64_t)int2_sext(v, size);
		res = (uint64_t)(sv >> count) & m;
		cf = (unsigned)((sv >> (count - 1)) & 1);
		f = int2_szp(res, size) | (cf ? F_CF : 0);
		break;
	}
	}
	*fl = f | F_AF;
	return res;
}

/*
 * Pure computations, kept free of struct cpu so tests can compare them
 * with the host CPU directly. `fl` holds the arithmetic flags: read for
 * inputs (CF of RCL/RCR) and updated in place.
 */
/* op is the ModRM /digit of the C0/C1/D0-D3 group; count already masked. */
uint64_t int2_shift(unsigned op, unsigned size, uint64_t v, unsigned count, uint32_t *fl);
/* SHLD (left = true) / SHRD; count already masked. */
uint64_t int2_shxd(bool left, unsigned size, uint64_t dst, uint64_t src, unsigned count, uint32_t *fl);
/* BCD adjustments on AL/AX: op is the opcode (27, 2F, 37, 3F, D4, D5); returns the new AX. */
uint16_t int2_bcd(unsigned op, uint16_t ax, uint8_t imm, uint32_t *fl);
/* Division; returns false for #DE. */
bool int2_div(bool is_signed, unsigned size, uint64_t hi, uint64_t lo, uint64_t divisor,
	      uint64_t *quot, uint64_t *rem);
/* Full multiply of two `size`-byte values; low and high halves, flags CF/OF and AMD's SF/ZF/PF/AF. */
void int2_mul(bool is_signed, unsigned size, uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi, uint32_t *fl);

/* Shared helpers for handlers. */
uint64_t int2_reg_rd(struct cpu *cpu, const struct insn *in, unsigned reg, unsigned size);
void int2_reg_wr(struct cpu *cpu, const struct insn *in, unsigned reg, unsigned size, uint64_t v);
/* Set all six arithmetic flags (or only `mask`) eagerly. */
static inline void int2_flags(struct cpu *cpu, uint32_t mask, uint32_t fl)
{
	cpu_set_flags_eager(cpu, mask, fl);
}
uint32_t int2_get_flags(struct cpu *cpu);
/* All six arithmetic flags at once: no need to evaluate the old ones. */
static inline void int2_flags_all(struct cpu *cpu, uint32_t fl)
{
	cpu->lf.op = CC_EAGER;
	cpu->lf.eager = fl & CPU_ARITH_FLAGS;
}

/* Handlers (one per opcode or group). */
void int2_grp2(struct cpu *cpu, const struct insn *in);
void int2_shld_shrd(struct cpu *cpu, const struct insn *in);
void int2_grp3(struct cpu *cpu, const struct insn *in);
void int2_imul_rm(struct cpu *cpu, const struct insn *in);
void int2_bcd_op(struct cpu *cpu, const struct insn *in);
void int2_salc(struct cpu *cpu, const struct insn *in);
void int2_bt(struct cpu *cpu, const struct insn *in);
void int2_grp8(struct cpu *cpu, const struct insn *in);
void int2_bsf_bsr(struct cpu *cpu, const struct insn *in);
void int2_popcnt(struct cpu *cpu, const struct insn *in);
void int2_bswap(struct cpu *cpu, const struct insn *in);
void int2_movbe_crc32(struct cpu *cpu, const struct insn *in);
void int2_cmpxchg(struct cpu *cpu, const struct insn *in);
void int2_xadd(struct cpu *cpu, const struct insn *in);
void int2_grp9(struct cpu *cpu, const struct insn *in);
void int2_movs(struct cpu *cpu, const struct insn *in);
void int2_cmps(struct cpu *cpu, const struct insn *in);
void int2_stos(struct cpu *cpu, const struct insn *in);
void int2_lods(struct cpu *cpu, const struct insn *in);
void int2_scas(struct cpu *cpu, const struct insn *in);
void int2_ins(struct cpu *cpu, const struct insn *in);
void int2_outs(struct cpu *cpu, const struct insn *in);
void int2_loop(struct cpu *cpu, const struct insn *in);
void int2_enter(struct cpu *cpu, const struct insn *in);
void int2_leave(struct cpu *cpu, const struct insn *in);
void int2_pusha(struct cpu *cpu, const struct insn *in);
void int2_popa(struct cpu *cpu, const struct insn *in);
void int2_lahf(struct cpu *cpu, const struct insn *in);
void int2_sahf(struct cpu *cpu, const struct insn *in);
void int2_xlat(struct cpu *cpu, const struct insn *in);
void int2_nop_hint(struct cpu *cpu, const struct insn *in);

#endif
