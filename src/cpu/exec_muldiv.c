/* Group 3 (F6/F7: TEST, NOT, NEG, MUL, IMUL, DIV, IDIV) and the two- and three-operand IMUL forms. */
#include "cpu/exec_int2.h"
#include "cpu/int2_atomic.h"

/*
 * AMD (checked against the host): MUL/IMUL set CF/OF and leave SF, ZF,
 * AF, PF unchanged; DIV/IDIV clear SF, ZF, PF, set AF and leave CF, OF.
 */
void int2_mul(bool is_signed, unsigned size, uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi, uint32_t *fl)
{
	uint64_t m = size_mask(size), l, h;
	bool ovf;

	if (size == 8) {
		if (is_signed) {
			__int128 p = (__int128)(int64_t)a * (int64_t)b;
			l = (uint64_t)p;
			h = (uint64_t)(p >> 64);
			ovf = h != (uint64_t)((int64_t)l >> 63);
		} else {
			unsigned __int128 p = (unsigned __int128)a * b;
			l = (uint64_t)p;
			h = (uint64_t)(p >> 64);
			ovf = h != 0;
		}
	} else {
		unsigned bits = size * 8;
		uint64_t p;
		if (is_signed) {
			int64_t sp = (int64_t)int2_sext(a, size) * (int64_t)int2_sext(b, size);
			p = (uint64_t)sp;
			ovf = (uint64_t)sp != int2_sext(p, size);
		} else {
			p = (a & m) * (b & m);
			ovf = (p >> bits) != 0;
		}
		l = p & m;
		h = (p >> bits) & m;
	}
	*lo = l;
	*hi = h;
	*fl = (*fl & ~(F_CF | F_OF)) | (ovf ? F_CF | F_OF : 0);
}

bool int2_div(bool is_signed, unsigned size, uint64_t hi, uint64_t lo, uint64_t divisor,
	      uint64_t *quot, uint64_t *rem)
{
	unsigned bits = size * 8;
	uint64_t m = size_mask(size);
	unsigned __int128 n;

	divisor &= m;
	if (divisor == 0)
		return false;
	n = size == 8 ? ((unsigned __int128)hi << 64) | lo
		      : (unsigned __int128)(((hi & m) << bits) | (lo & m));
	if (!is_signed) {
		unsigned __int128 q = n / divisor;
		if (q > m)
			return false;
		*quot = (uint64_t)q;
		*rem = (uint64_t)(n % divisor);
		return true;
	}
	/* Signed: divide magnitudes, then fix the signs (x86 truncates toward zero). */
	{
		unsigned top = bits * 2 - 1;
		bool nneg = (n >> top) & 1, dneg = int2_msb(divisor, size);
		unsigned __int128 un = n, q, r;
		uint64_t ud = divisor;
		unsigned __int128 lim;

		if (nneg) {
			un = ~n + 1;
			if (bits < 64)
				un &= ((unsigned __int128)1 << (bits * 2)) - 1;
		}
		if (dneg)
			ud = (-divisor) & m;
		q = un / ud;
		r = un % ud;
		lim = (unsigned __int128)1 << (bits - 1);	/* |quotient| bound */
		if (nneg != dneg) {
			if (q > lim)
				return false;
			*quot = (uint64_t)(-(uint64_t)q) & m;
		} else {
			if (q >= lim)
				return false;
			*quot = (uint64_t)q & m;
		}
		*rem = nneg ? (uint64_t)(-(uint64_t)r) & m : (uint64_t)r & m;
		return true;
	}
}

static void grp3_not_neg(struct cpu *cpu, const struct insn *in, bool neg)
{
	unsigned size = in->opsize;
	uint64_t m = size_mask(size), v, res;

	if (in->mod != 3 && (in->prefix & PFX_LOCK)) {
		uint64_t ea = insn_ea(cpu, in);
		void *p = cpu_rmw_ptr(cpu, in->seg, ea, size);
		if (p) {
			v = atomic_load_sz(p, size);
			do {
				res = (neg ? -v : ~v) & m;
			} while (!atomic_cas_sz(p, size, &v, res));
			if (neg)
				cpu_set_lazy(cpu, CC_SUB, size, res, 0, v);
			return;
		}
	}
	v = insn_rm_read(cpu, in);
	res = (neg ? -v : ~v) & m;
	insn_rm_write(cpu, in, res);
	if (neg)
		cpu_set_lazy(cpu, CC_SUB, size, res, 0, v & m);
}

static void grp3_muldiv(struct cpu *cpu, const struct insn *in, unsigned op)
{
	unsigned size = in->opsize;
	uint64_t src = insn_rm_read(cpu, in);
	uint64_t lo, hi, q, r;
	uint32_t fl = 0;

	if (op < 6) {
		/* MUL / IMUL: AL*src -> AX, or rAX*src -> rDX:rAX */
		int2_mul(op == 5, size, cpu->s.gpr[RV_RAX], src, &lo, &hi, &fl);
		if (size == 1) {
			cpu_reg_set(cpu, RV_RAX, 2, (hi << 8) | lo);
		} else {
			cpu_reg_set(cpu, RV_RAX, size, lo);
			cpu_reg_set(cpu, RV_RDX, size, hi);
		}
		int2_flags(cpu, F_CF | F_OF, fl);
		return;
	}
	if (size == 1) {
		uint64_t ax = cpu->s.gpr[RV_RAX] & 0xffff;
		if (!int2_div(op == 7, 1, ax >> 8, ax & 0xff, src, &q, &r))
			cpu_raise(cpu, EXC_DE, 0);
		cpu_reg_set(cpu, RV_RAX, 2, (r << 8) | q);
	} else {
		if (!int2_div(op == 7, size, cpu->s.gpr[RV_RDX], cpu->s.gpr[RV_RAX], src, &q, &r))
			cpu_raise(cpu, EXC_DE, 0);
		cpu_reg_set(cpu, RV_RAX, size, q);
		cpu_reg_set(cpu, RV_RDX, size, r);
	}
	int2_flags(cpu, F_SF | F_ZF | F_PF | F_AF, F_AF);
}

/* F6/F7 */
void int2_grp3(struct cpu *cpu, const struct insn *in)
{
	unsigned op = in->reg & 7;

	if ((in->prefix & PFX_LOCK) && (op != 2 && op != 3))
		cpu_raise_ud(cpu);
	switch (op) {
	case 0:
	case 1: { /* TEST r/m, imm */
		uint64_t v = insn_rm_read(cpu, in) & in->imm & size_mask(in->opsize);
		cpu_set_lazy(cpu, CC_LOGIC, in->opsize, v, 0, 0);
		break;
	}
	case 2:
		grp3_not_neg(cpu, in, false);
		break;
	case 3:
		grp3_not_neg(cpu, in, true);
		break;
	default:
		grp3_muldiv(cpu, in, op);
		break;
	}
}

/* 0F AF IMUL Gv,Ev; 69 IMUL Gv,Ev,Iz; 6B IMUL Gv,Ev,Ib */
void int2_imul_rm(struct cpu *cpu, const struct insn *in)
{
	unsigned size = in->opsize;
	uint64_t a = insn_rm_read(cpu, in), b, lo, hi;
	uint32_t fl = 0;

	b = in->map == MAP_0F ? cpu_reg_get(cpu, in->reg, size) : in->imm;
	int2_mul(true, size, a, b, &lo, &hi, &fl);
	cpu_reg_set(cpu, in->reg, size, lo);
	int2_flags(cpu, F_CF | F_OF, fl);
}
