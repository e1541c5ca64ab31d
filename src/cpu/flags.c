/* Lazy arithmetic flags (QEMU's CC_OP scheme): evaluated only when read. */
#include "cpu/cpu.h"

/*
 * The carry out of the top bit follows from the operands and the result
 * alone, with or without a carry-in (full-adder identity), so ADD/ADC and
 * SUB/SBB share one evaluation:
 *   add: CF = msb((a & b) | ((a | b) & ~r))
 *   sub: CF = msb((~a & b) | (~(a ^ b) & r))
 */
static uint64_t flags_eval(const struct lazy_flags *lf)
{
	unsigned sb = lf->size * 8 - 1;
	uint64_t m = size_mask(lf->size);
	uint64_t r = lf->res & m, a = lf->src1, b = lf->src2;
	uint64_t f = 0;

	switch (lf->op) {
	case CC_EAGER:
		return lf->eager & CPU_ARITH_FLAGS;
	case CC_LAHF:
		/* SF ZF - AF - PF - CF in AH: the same bits RFLAGS has them in (AMD APM vol. 3, LAHF) */
		return ((lf->eager >> 8) & (CPU_ARITH_FLAGS & ~RV_FLAG_OF)) | (lf->eager & 1 ? RV_FLAG_OF : 0);
	case CC_ADD:
	case CC_ADC:
		f |= ((((a & b) | ((a | b) & ~r)) >> sb) & 1) ? RV_FLAG_CF : 0;
		f |= ((((a ^ r) & (b ^ r)) >> sb) & 1) ? RV_FLAG_OF : 0;
		f |= (a ^ b ^ r) & RV_FLAG_AF;
		break;
	case CC_SUB:
	case CC_SBB:
		f |= ((((~a & b) | (~(a ^ b) & r)) >> sb) & 1) ? RV_FLAG_CF : 0;
		f |= ((((a ^ b) & (a ^ r)) >> sb) & 1) ? RV_FLAG_OF : 0;
		f |= (a ^ b ^ r) & RV_FLAG_AF;
		break;
	case CC_LOGIC:
		break;
	case CC_INC:
		f |= (b & 1) ? RV_FLAG_CF : 0;
		f |= ((((a ^ r) & (1 ^ r)) >> sb) & 1) ? RV_FLAG_OF : 0;
		f |= (a ^ 1 ^ r) & RV_FLAG_AF;
		break;
	case CC_DEC:
		f |= (b & 1) ? RV_FLAG_CF : 0;
		f |= ((((a ^ 1) & (a ^ r)) >> sb) & 1) ? RV_FLAG_OF : 0;
		f |= (a ^ 1 ^ r) & RV_FLAG_AF;
		break;
	default:
		break;
	}
	f |= r == 0 ? RV_FLAG_ZF : 0;
	f |= ((r >> sb) & 1) ? RV_FLAG_SF : 0;
	f |= parity8(r) ? RV_FLAG_PF : 0;
	return f;
}

uint64_t cpu_get_rflags(struct cpu *cpu)
{
	return (cpu->s.rflags & ~(uint64_t)CPU_ARITH_FLAGS) | flags_eval(&cpu->lf) | RV_FLAG_FIXED1;
}

void cpu_set_rflags(struct cpu *cpu, uint64_t v)
{
	uint64_t old = cpu->s.rflags;

	cpu->s.rflags = (v & ~(uint64_t)CPU_ARITH_FLAGS) | RV_FLAG_FIXED1;
	cpu->lf.op = CC_EAGER;
	cpu->lf.eager = v & CPU_ARITH_FLAGS;
	/* EFLAGS.VM selects virtual-8086 mode */
	if ((old ^ v) & RV_FLAG_VM)
		cpu_update_mode(cpu);
}

void cpu_set_flags_eager(struct cpu *cpu, uint64_t mask, uint64_t flags)
{
	uint64_t cur = flags_eval(&cpu->lf);

	mask &= CPU_ARITH_FLAGS;
	cpu->lf.eager = (cur & ~mask) | (flags & mask);
	cpu->lf.op = CC_EAGER;
}

void cpu_set_flags_lahf(struct cpu *cpu)
{
	uint64_t f = flags_eval(&cpu->lf);

	cpu->lf.eager = ((f & CPU_ARITH_FLAGS & ~RV_FLAG_OF) << 8) | (f & RV_FLAG_OF ? 1 : 0);
	cpu->lf.op = CC_LAHF;
}

bool cpu_get_cf(struct cpu *cpu)
{
	const struct lazy_flags *lf = &cpu->lf;
	uint64_t m = size_mask(lf->size);

	switch (lf->op) {
	case CC_ADD:
		return (lf->res & m) < (lf->src1 & m);
	case CC_SUB:
		return (lf->src1 & m) < (lf->src2 & m);
	case CC_LOGIC:
		return false;
	case CC_INC:
	case CC_DEC:
		return lf->src2 & 1;
	default:
		return flags_eval(lf) & RV_FLAG_CF;
	}
}

static inline int64_t sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (int64_t)(v << sh) >> sh;
}

bool cpu_cond(struct cpu *cpu, unsigned cc)
{
	const struct lazy_flags *lf = &cpu->lf;
	bool r;

	/* Fast paths for the common compare-and-branch and test-and-branch */
	if (!cc_is_stored(lf->op) && ((cc >> 1) == 2 || (cc >> 1) == 4)) {
		/* ZF and SF come from the result alone, whatever the operation */
		uint64_t res = lf->res & size_mask(lf->size);

		r = (cc >> 1) == 2 ? res == 0 : (res >> (lf->size * 8 - 1)) & 1;
		goto out;
	}
	if (lf->op == CC_SUB) {
		uint64_t m = size_mask(lf->size);
		uint64_t a = lf->src1 & m, b = lf->src2 & m;

		switch (cc >> 1) {
		case 1: r = a < b; goto out;
		case 2: r = a == b; goto out;
		case 3: r = a <= b; goto out;
		case 6: r = sext(a, lf->size) < sext(b, lf->size); goto out;
		case 7: r = sext(a, lf->size) <= sext(b, lf->size); goto out;
		default: break;
		}
	} else if (lf->op == CC_LOGIC) {
		int64_t s = sext(lf->res, lf->size);

		switch (cc >> 1) {
		case 0: r = false; goto out;
		case 1: r = false; goto out;
		case 2: r = s == 0; goto out;
		case 3: r = s == 0; goto out;
		case 4: r = s < 0; goto out;
		case 6: r = s < 0; goto out;
		case 7: r = s <= 0; goto out;
		default: break;
		}
	}
	{
		uint64_t f = flags_eval(lf);
		bool of = f & RV_FLAG_OF, sf = f & RV_FLAG_SF;

		switch (cc >> 1) {
		case 0: r = of; break;
		case 1: r = f & RV_FLAG_CF; break;
		case 2: r = f & RV_FLAG_ZF; break;
		case 3: r = f & (RV_FLAG_CF | RV_FLAG_ZF); break;
		case 4: r = sf; break;
		case 5: r = f & RV_FLAG_PF; break;
		case 6: r = sf != of; break;
		default: r = (f & RV_FLAG_ZF) || sf != of; break;
		}
	}
out:
	return r ^ (cc & 1);
}
