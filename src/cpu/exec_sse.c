/* MMX, SSE and SSE2 instructions (0F map), LDMXCSR/STMXCSR, FXSAVE/FXRSTOR and fences. */
/*
 * One handler per opcode; the mandatory prefix (insn.sse_pfx) picks the
 * form. Checks come in the architectural order: #UD (encoding, CR0.EM,
 * CR4.OSFXSR), #NM (CR0.TS), #MF for MMX, then memory (#GP alignment of
 * the aligned forms, #PF), and SIMD floating-point exceptions last.
 * Nothing is committed before the last access that can fault.
 */
#include "cpu/fpu_priv.h"
#include "cpu/mmu.h"

static uint8_t *xmm_reg(struct cpu *cpu, unsigned n)
{
	return cpu->s.fpu.xmm[n & 15];
}

/* Read the XMM r/m operand: a register, or len bytes of memory (16-byte aligned if `aligned`), zero-filled. */
static void sse_src(struct cpu *cpu, const struct insn *in, uint8_t v[16], unsigned len, bool aligned)
{
	if (in->mod == 3) {
		memcpy(v, xmm_reg(cpu, in->rm), 16);
		return;
	}
	uint64_t ea = insn_ea(cpu, in);

	if (aligned)
		fpu_check_align(cpu, in->seg, ea, 16);
	memset(v, 0, 16);
	cpu_read_bytes(cpu, in->seg, ea, v, len);
}

/* Read the MMX r/m operand (len 4 or 8 bytes from memory). */
static uint64_t mmx_src(struct cpu *cpu, const struct insn *in, unsigned len)
{
	uint64_t v = 0;

	if (in->mod == 3)
		return mmx_get(cpu, in->rm);
	cpu_read_bytes(cpu, in->seg, insn_ea(cpu, in), &v, len);
	return v;
}

static void mem_store(struct cpu *cpu, const struct insn *in, const void *v, unsigned len, bool aligned)
{
	uint64_t ea = insn_ea(cpu, in);

	if (aligned)
		fpu_check_align(cpu, in->seg, ea, 16);
	cpu_write_bytes(cpu, in->seg, ea, v, len);
}

/* Size of a general-register operand of an SSE form: REX.W selects 64 bits. */
static unsigned sse_gpr_size(const struct insn *in)
{
	return (in->rex & 8) ? 8 : 4;
}

/*
 * Apply the exception flags of a SIMD floating-point operation (SDM vol. 1,
 * 11.5). Unmasked ones raise #XM (CR4.OSXMMEXCPT) or #UD, with the flags
 * recorded and the destination untouched. When a pre-computation exception
 * (IE, DE, ZE) is unmasked, post-computation flags are not reported.
 * Approximations (the host ran with everything masked): with several
 * elements the flags of the masked results are reported too, and with UE
 * unmasked, PE is that of the denormalized result, where hardware rounds
 * with an unbounded exponent (a tiny result exact there gets no PE).
 */
static void sse_flags(struct cpu *cpu, unsigned flags)
{
	uint32_t *mx = &cpu->s.fpu.mxcsr;
	unsigned unmasked = flags & ~(*mx >> 7) & MXCSR_EXC;

	if (unmasked) {
		if (unmasked & 0x7)
			flags &= 0x7;
		*mx |= flags;
		if (cpu->s.cr4 & RV_CR4_OSXMMEXCPT)
			cpu_raise(cpu, EXC_XM, 0);
		cpu_raise_ud(cpu);
	}
	*mx |= flags;
}

/* ------------------------------------------------------------------ */
/* Floating-point arithmetic.                                          */

/* The four forms of an op in enum fph_sse_op order PS, SS, PD, SD. */
static unsigned sse_form(const struct insn *in)
{
	static const uint8_t form[4] = { 0, 2, 1, 3 };	/* none->PS, 66->PD, F3->SS, F2->SD */

	return form[in->sse_pfx];
}

static void sse_fp_run(struct cpu *cpu, const struct insn *in, unsigned op, unsigned form)
{
	static const uint8_t len[4] = { 16, 4, 16, 8 };
	uint8_t s[16], d[16];
	unsigned flags;

	sse_src(cpu, in, s, len[form], len[form] == 16);
	memcpy(d, xmm_reg(cpu, in->reg), 16);
	flags = fph_sse_exec(op, d, s, cpu->s.fpu.mxcsr);
	sse_flags(cpu, flags);
	memcpy(xmm_reg(cpu, in->reg), d, 16);
}

static void sse_arith(struct cpu *cpu, const struct insn *in)
{
	unsigned base;

	fpu_check_sse(cpu);
	switch (in->opcode) {
	case 0x51: base = FPH_SQRTPS; break;
	case 0x58: base = FPH_ADDPS; break;
	case 0x59: base = FPH_MULPS; break;
	case 0x5c: base = FPH_SUBPS; break;
	case 0x5d: base = FPH_MINPS; break;
	case 0x5e: base = FPH_DIVPS; break;
	default: base = FPH_MAXPS; break;
	}
	sse_fp_run(cpu, in, base + sse_form(in), sse_form(in));
}

/* 52 RSQRTPS/SS, 53 RCPPS/SS: approximations, computed by the host as on hardware of its vendor. */
static void sse_approx(struct cpu *cpu, const struct insn *in)
{
	unsigned form = sse_form(in);

	if (form >= 2)
		cpu_raise_ud(cpu);
	fpu_check_sse(cpu);
	sse_fp_run(cpu, in, (in->opcode == 0x52 ? FPH_RSQRTPS : FPH_RCPPS) + form, form);
}

static void sse_cmp(struct cpu *cpu, const struct insn *in)
{
	static const uint8_t base[4] = { FPH_CMPPS, FPH_CMPSS, FPH_CMPPD, FPH_CMPSD };
	unsigned form = sse_form(in);

	fpu_check_sse(cpu);
	sse_fp_run(cpu, in, base[form] + (in->imm & 7), form);
}

/* 2E UCOMISS/UCOMISD, 2F COMISS/COMISD: ZF, PF, CF; OF, SF, AF cleared. */
static void sse_comi(struct cpu *cpu, const struct insn *in)
{
	uint8_t s[16], d[16];
	uint64_t fl = 0;
	bool dbl = in->sse_pfx == SSE_66;
	unsigned op;

	if (in->sse_pfx != SSE_NONE && !dbl)
		cpu_raise_ud(cpu);
	fpu_check_sse(cpu);
	sse_src(cpu, in, s, dbl ? 8 : 4, false);
	memcpy(d, xmm_reg(cpu, in->reg), 16);
	op = in->opcode == 0x2e ? (dbl ? FPH_UCOMISD : FPH_UCOMISS) : (dbl ? FPH_COMISD : FPH_COMISS);
	sse_flags(cpu, fph_sse_exec(op, d, s, cpu->s.fpu.mxcsr));
	if (d[0])
		fl |= RV_FLAG_ZF;
	if (d[1])
		fl |= RV_FLAG_PF;
	if (d[2])
		fl |= RV_FLAG_CF;
	cpu_set_flags_eager(cpu, CPU_ARITH_FLAGS, fl);
}

/* 54-57: ANDPS/ANDNPS/ORPS/XORPS and the PD forms (bitwise, no exceptions). */
static void sse_logic(struct cpu *cpu, const struct insn *in)
{
	uint64_t a[2], b[2];
	uint8_t s[16];

	if (in->sse_pfx != SSE_NONE && in->sse_pfx != SSE_66)
		cpu_raise_ud(cpu);
	fpu_check_sse(cpu);
	sse_src(cpu, in, s, 16, true);
	memcpy(b, s, 16);
	memcpy(a, xmm_reg(cpu, in->reg), 16);
	for (unsigned i = 0; i < 2; i++) {
		switch (in->opcode) {
		case 0x54: a[i] &= b[i]; break;
		case 0x55: a[i] = ~a[i] & b[i]; break;
		case 0x56: a[i] |= b[i]; break;
		default: a[i] ^= b[i]; break;
		}
	}
	memcpy(xmm_reg(cpu, in->reg), a, 16);
}

/* ------------------------------------------------------------------ */
/* Conversions.                                                        */

/* Run a packed conversion on a 16-byte image, store the low `outlen` bytes into dst. */
static void sse_cvt_packed(struct cpu *cpu, unsigned op, const uint8_t s[16], uint8_t *out)
{
	uint8_t d[16] = { 0 };

	sse_flags(cpu, fph_sse_exec(op, d, s, cpu->s.fpu.mxcsr));
	memcpy(out, d, 16);
}

/* 2A: CVTPI2PS, CVTSI2SS, CVTPI2PD, CVTSI2SD */
static void sse_cvt_2a(struct cpu *cpu, const struct insn *in)
{
	uint8_t s[16] = { 0 }, d[16];
	unsigned size = sse_gpr_size(in);

	fpu_check_sse(cpu);
	if (in->sse_pfx == SSE_NONE || in->sse_pfx == SSE_66) {
		uint64_t v;

		/* a register source makes this an MMX instruction (SDM vol. 1, 11.6.9) */
		if (in->mod == 3)
			fpu_check_mmx(cpu);
		v = mmx_src(cpu, in, 8);
		memcpy(s, &v, 8);
		if (in->sse_pfx == SSE_NONE) {
			sse_cvt_packed(cpu, FPH_CVTDQ2PS, s, d);
			memcpy(xmm_reg(cpu, in->reg), d, 8);
		} else {
			sse_cvt_packed(cpu, FPH_CVTDQ2PD, s, d);
			memcpy(xmm_reg(cpu, in->reg), d, 16);
		}
		if (in->mod == 3)
			mmx_enter(cpu);
		return;
	}
	uint64_t g = in->mod == 3 ? cpu_reg_get(cpu, in->rm, size)
				  : cpu_read(cpu, in->seg, insn_ea(cpu, in), size);
	unsigned op = in->sse_pfx == SSE_F3 ? (size == 8 ? FPH_CVTSI2SS64 : FPH_CVTSI2SS32)
					    : (size == 8 ? FPH_CVTSI2SD64 : FPH_CVTSI2SD32);

	memcpy(d, xmm_reg(cpu, in->reg), 16);
	sse_flags(cpu, fph_cvt_exec(op, d, &g, cpu->s.fpu.mxcsr));
	memcpy(xmm_reg(cpu, in->reg), d, 16);
}

/* 2C (truncating) and 2D: CVT(T)PS2PI, CVT(T)SS2SI, CVT(T)PD2PI, CVT(T)SD2SI */
static void sse_cvt_2c(struct cpu *cpu, const struct insn *in)
{
	bool trunc = in->opcode == 0x2c;
	uint8_t s[16], d[16];
	unsigned size = sse_gpr_size(in);

	fpu_check_sse(cpu);
	if (in->sse_pfx == SSE_NONE || in->sse_pfx == SSE_66) {
		uint64_t v;

		fpu_check_mmx(cpu);
		if (in->sse_pfx == SSE_NONE) {
			sse_src(cpu, in, s, 8, false);
			memset(s + 8, 0, 8);	/* zeros convert exactly */
			sse_cvt_packed(cpu, trunc ? FPH_CVTTPS2DQ : FPH_CVTPS2DQ, s, d);
		} else {
			sse_src(cpu, in, s, 16, true);
			sse_cvt_packed(cpu, trunc ? FPH_CVTTPD2DQ : FPH_CVTPD2DQ, s, d);
		}
		memcpy(&v, d, 8);
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, v);
		return;
	}
	bool dbl = in->sse_pfx == SSE_F2;
	uint64_t g = 0;
	unsigned op;

	sse_src(cpu, in, s, dbl ? 8 : 4, false);
	if (dbl)
		op = trunc ? (size == 8 ? FPH_CVTTSD2SI64 : FPH_CVTTSD2SI32)
			   : (size == 8 ? FPH_CVTSD2SI64 : FPH_CVTSD2SI32);
	else
		op = trunc ? (size == 8 ? FPH_CVTTSS2SI64 : FPH_CVTTSS2SI32)
			   : (size == 8 ? FPH_CVTSS2SI64 : FPH_CVTSS2SI32);
	sse_flags(cpu, fph_cvt_exec(op, s, &g, cpu->s.fpu.mxcsr));
	cpu_reg_set(cpu, in->reg, size, g);
}

/* 5A: CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS */
static void sse_cvt_5a(struct cpu *cpu, const struct insn *in)
{
	static const uint8_t op[4] = { FPH_CVTPS2PD, FPH_CVTPD2PS, FPH_CVTSS2SD, FPH_CVTSD2SS };
	static const uint8_t len[4] = { 8, 16, 4, 8 };
	unsigned k = in->sse_pfx;	/* NONE, 66, F3, F2 */
	uint8_t s[16], d[16];

	fpu_check_sse(cpu);
	sse_src(cpu, in, s, len[k], len[k] == 16);
	memcpy(d, xmm_reg(cpu, in->reg), 16);
	sse_flags(cpu, fph_sse_exec(op[k], d, s, cpu->s.fpu.mxcsr));
	memcpy(xmm_reg(cpu, in->reg), d, 16);
}

/* 5B: CVTDQ2PS, CVTPS2DQ (66), CVTTPS2DQ (F3); E6: CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2) */
static void sse_cvt_dq(struct cpu *cpu, const struct insn *in)
{
	uint8_t s[16], d[16];
	unsigned op, len = 16;

	if (in->opcode == 0x5b) {
		static const uint8_t ops[3] = { FPH_CVTDQ2PS, FPH_CVTPS2DQ, FPH_CVTTPS2DQ };

		if (in->sse_pfx == SSE_F2)
			cpu_raise_ud(cpu);
		op = ops[in->sse_pfx];
	} else {
		if (in->sse_pfx == SSE_NONE)
			cpu_raise_ud(cpu);
		op = in->sse_pfx == SSE_66 ? FPH_CVTTPD2DQ : in->sse_pfx == SSE_F3 ? FPH_CVTDQ2PD : FPH_CVTPD2DQ;
		if (op == FPH_CVTDQ2PD)
			len = 8;
	}
	fpu_check_sse(cpu);
	sse_src(cpu, in, s, len, len == 16);
	memset(d, 0, 16);
	sse_flags(cpu, fph_sse_exec(op, d, s, cpu->s.fpu.mxcsr));
	memcpy(xmm_reg(cpu, in->reg), d, 16);
}

/* ------------------------------------------------------------------ */
/* Moves.                                                              */

/* 10/11: MOVUPS, MOVUPD, MOVSS, MOVSD (load and store directions) */
static void sse_mov_10(struct cpu *cpu, const struct insn *in)
{
	bool store = in->opcode == 0x11;
	unsigned len = in->sse_pfx == SSE_F3 ? 4 : in->sse_pfx == SSE_F2 ? 8 : 16;
	uint8_t v[16];

	fpu_check_sse(cpu);
	if (store) {
		if (in->mod == 3)
			memcpy(xmm_reg(cpu, in->rm), xmm_reg(cpu, in->reg), len);
		else
			mem_store(cpu, in, xmm_reg(cpu, in->reg), len, false);
		return;
	}
	if (in->mod == 3) {
		memcpy(xmm_reg(cpu, in->reg), xmm_reg(cpu, in->rm), len);
		return;
	}
	sse_src(cpu, in, v, len, false);	/* scalar loads zero the rest */
	memcpy(xmm_reg(cpu, in->reg), v, 16);
}

/* 28/29: MOVAPS/MOVAPD; 2B: MOVNTPS/MOVNTPD; E7 66: MOVNTDQ; 6F/7F 66: MOVDQA, F3: MOVDQU */
static void sse_mov_128(struct cpu *cpu, const struct insn *in, bool store, bool aligned)
{
	uint8_t v[16];

	fpu_check_sse(cpu);
	if (store) {
		if (in->mod == 3)
			memcpy(xmm_reg(cpu, in->rm), xmm_reg(cpu, in->reg), 16);
		else
			mem_store(cpu, in, xmm_reg(cpu, in->reg), 16, aligned);
	} else {
		sse_src(cpu, in, v, 16, aligned);
		memcpy(xmm_reg(cpu, in->reg), v, 16);
	}
}

static void sse_movap(struct cpu *cpu, const struct insn *in)
{
	if (in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);	/* F3/F2 0F 2B are SSE4a MOVNTSS/SD */
	if (in->opcode == 0x2b && in->mod == 3)
		cpu_raise_ud(cpu);
	sse_mov_128(cpu, in, in->opcode != 0x28, true);
}

/* 12/13/16/17: MOVLPS/MOVHLPS, MOVLPD, MOVHPS/MOVLHPS, MOVHPD */
static void sse_mov_half(struct cpu *cpu, const struct insn *in)
{
	bool high = in->opcode >= 0x16;
	bool store = in->opcode & 1;
	uint8_t *x = xmm_reg(cpu, in->reg);
	uint8_t v[8];

	if (in->sse_pfx > SSE_66 || ((store || in->sse_pfx == SSE_66) && in->mod == 3))
		cpu_raise_ud(cpu);	/* MOVSLDUP & co. are SSE3 */
	fpu_check_sse(cpu);
	if (in->mod == 3) {
		/* MOVHLPS: low <- src high; MOVLHPS: high <- src low */
		const uint8_t *s = xmm_reg(cpu, in->rm);

		memcpy(v, high ? s : s + 8, 8);
		memcpy(high ? x + 8 : x, v, 8);
		return;
	}
	if (store) {
		mem_store(cpu, in, high ? x + 8 : x, 8, false);
		return;
	}
	cpu_read_bytes(cpu, in->seg, insn_ea(cpu, in), v, 8);
	memcpy(high ? x + 8 : x, v, 8);
}

/* 14/15: UNPCKLPS/UNPCKHPS/UNPCKLPD/UNPCKHPD */
static void sse_unpck(struct cpu *cpu, const struct insn *in)
{
	uint32_t a[4], b[4], r[4];
	uint8_t s[16];
	unsigned h = in->opcode == 0x15 ? 2 : 0;

	if (in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	fpu_check_sse(cpu);
	sse_src(cpu, in, s, 16, true);
	memcpy(b, s, 16);
	memcpy(a, xmm_reg(cpu, in->reg), 16);
	if (in->sse_pfx == SSE_NONE) {
		r[0] = a[h]; r[1] = b[h]; r[2] = a[h + 1]; r[3] = b[h + 1];
	} else {
		r[0] = a[h]; r[1] = a[h + 1]; r[2] = b[h]; r[3] = b[h + 1];
	}
	memcpy(xmm_reg(cpu, in->reg), r, 16);
}

/* C6: SHUFPS/SHUFPD */
static void sse_shuf(struct cpu *cpu, const struct insn *in)
{
	uint32_t a[4], b[4], r[4];
	uint8_t s[16];
	unsigned imm = (unsigned)in->imm & 0xff;

	if (in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	fpu_check_sse(cpu);
	sse_src(cpu, in, s, 16, true);
	memcpy(b, s, 16);
	memcpy(a, xmm_reg(cpu, in->reg), 16);
	if (in->sse_pfx == SSE_NONE) {
		r[0] = a[imm & 3]; r[1] = a[(imm >> 2) & 3];
		r[2] = b[(imm >> 4) & 3]; r[3] = b[(imm >> 6) & 3];
	} else {
		unsigned lo = (imm & 1) * 2, hi = ((imm >> 1) & 1) * 2;

		r[0] = a[lo]; r[1] = a[lo + 1]; r[2] = b[hi]; r[3] = b[hi + 1];
	}
	memcpy(xmm_reg(cpu, in->reg), r, 16);
}

/* 50: MOVMSKPS/MOVMSKPD */
static void sse_movmsk(struct cpu *cpu, const struct insn *in)
{
	const uint8_t *x = xmm_reg(cpu, in->rm);
	unsigned m = 0;

	if (in->mod != 3 || in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	fpu_check_sse(cpu);
	if (in->sse_pfx == SSE_NONE) {
		for (unsigned i = 0; i < 4; i++)
			m |= (unsigned)(x[4 * i + 3] >> 7) << i;
	} else {
		m = (unsigned)(x[7] >> 7) | (unsigned)(x[15] >> 7) << 1;
	}
	cpu_reg_set(cpu, in->reg, sse_gpr_size(in), m);
}

/* 6E: MOVD/MOVQ mm|xmm, r/m32|64 */
static void sse_movd_in(struct cpu *cpu, const struct insn *in)
{
	unsigned size = sse_gpr_size(in);
	uint64_t v;

	if (in->sse_pfx == SSE_NONE) {
		fpu_check_mmx(cpu);
	} else if (in->sse_pfx == SSE_66) {
		fpu_check_sse(cpu);
	} else {
		cpu_raise_ud(cpu);
	}
	v = in->mod == 3 ? cpu_reg_get(cpu, in->rm, size) : cpu_read(cpu, in->seg, insn_ea(cpu, in), size);
	if (in->sse_pfx == SSE_NONE) {
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, v);
	} else {
		uint8_t *x = xmm_reg(cpu, in->reg);

		memset(x, 0, 16);
		memcpy(x, &v, 8);
	}
}

/* 7E: MOVD/MOVQ r/m32|64, mm|xmm; F3: MOVQ xmm, xmm/m64 */
static void sse_movd_out(struct cpu *cpu, const struct insn *in)
{
	unsigned size = sse_gpr_size(in);
	uint64_t v;

	if (in->sse_pfx == SSE_F3) {
		uint8_t s[16];

		fpu_check_sse(cpu);
		sse_src(cpu, in, s, 8, false);
		memset(s + 8, 0, 8);
		memcpy(xmm_reg(cpu, in->reg), s, 16);
		return;
	}
	if (in->sse_pfx == SSE_NONE) {
		fpu_check_mmx(cpu);
		v = mmx_get(cpu, in->reg);
	} else if (in->sse_pfx == SSE_66) {
		fpu_check_sse(cpu);
		memcpy(&v, xmm_reg(cpu, in->reg), 8);
	} else {
		cpu_raise_ud(cpu);
	}
	if (in->mod == 3)
		cpu_reg_set(cpu, in->rm, size, v & size_mask(size));
	else
		cpu_write(cpu, in->seg, insn_ea(cpu, in), v, size);
	if (in->sse_pfx == SSE_NONE)
		mmx_enter(cpu);
}

/* 6F/7F: MOVQ mm (none), MOVDQA (66), MOVDQU (F3) */
static void sse_mov_6f(struct cpu *cpu, const struct insn *in)
{
	bool store = in->opcode == 0x7f;

	if (in->sse_pfx == SSE_66 || in->sse_pfx == SSE_F3) {
		sse_mov_128(cpu, in, store, in->sse_pfx == SSE_66);
		return;
	}
	if (in->sse_pfx != SSE_NONE)
		cpu_raise_ud(cpu);
	fpu_check_mmx(cpu);
	if (store) {
		uint64_t v = mmx_get(cpu, in->reg);

		if (in->mod == 3) {
			mmx_enter(cpu);
			mmx_set(cpu, in->rm, v);
		} else {
			cpu_write64(cpu, in->seg, insn_ea(cpu, in), v);
			mmx_enter(cpu);
		}
	} else {
		uint64_t v = mmx_src(cpu, in, 8);

		mmx_enter(cpu);
		mmx_set(cpu, in->reg, v);
	}
}

/* D6: MOVQ xmm/m64, xmm (66); MOVQ2DQ (F3); MOVDQ2Q (F2) */
static void sse_movq_d6(struct cpu *cpu, const struct insn *in)
{
	uint8_t *x;

	if (in->sse_pfx == SSE_66) {
		fpu_check_sse(cpu);
		x = xmm_reg(cpu, in->reg);
		if (in->mod == 3) {
			uint8_t *d = xmm_reg(cpu, in->rm);

			memmove(d, x, 8);
			memset(d + 8, 0, 8);
		} else {
			mem_store(cpu, in, x, 8, false);
		}
		return;
	}
	if (in->sse_pfx == SSE_NONE || in->mod != 3)
		cpu_raise_ud(cpu);
	fpu_check_sse(cpu);
	fpu_check_mmx(cpu);
	if (in->sse_pfx == SSE_F3) {
		uint64_t v = mmx_get(cpu, in->rm);

		x = xmm_reg(cpu, in->reg);
		memset(x, 0, 16);
		memcpy(x, &v, 8);
		mmx_enter(cpu);
	} else {
		uint64_t v;

		memcpy(&v, xmm_reg(cpu, in->rm), 8);
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, v);
	}
}

/* E7: MOVNTQ (none), MOVNTDQ (66); C3: MOVNTI */
static void sse_movnt(struct cpu *cpu, const struct insn *in)
{
	if (in->mod == 3)
		cpu_raise_ud(cpu);
	if (in->opcode == 0xc3) {
		unsigned size = sse_gpr_size(in);

		if (in->sse_pfx != SSE_NONE)
			cpu_raise_ud(cpu);
		/* an integer store: no CR0.EM/TS or CR4.OSFXSR checks (SDM vol. 2, MOVNTI) */
		cpu_write(cpu, in->seg, insn_ea(cpu, in), cpu_reg_get(cpu, in->reg, size), size);
		return;
	}
	if (in->sse_pfx == SSE_66) {
		sse_mov_128(cpu, in, true, true);
	} else if (in->sse_pfx == SSE_NONE) {
		fpu_check_mmx(cpu);
		cpu_write64(cpu, in->seg, insn_ea(cpu, in), mmx_get(cpu, in->reg));
		mmx_enter(cpu);
	} else {
		cpu_raise_ud(cpu);
	}
}

/* F7: MASKMOVQ (none), MASKMOVDQU (66): byte-masked store to DS:rDI. */
static void sse_maskmov(struct cpu *cpu, const struct insn *in)
{
	uint8_t data[16], mask[16];
	unsigned len = in->sse_pfx == SSE_66 ? 16 : 8;
	uint64_t di = cpu->s.gpr[RV_RDI] & size_mask(in->addrsize);
	bool any = false;

	if (in->mod != 3 || in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	if (len == 16) {
		fpu_check_sse(cpu);
		memcpy(data, xmm_reg(cpu, in->reg), 16);
		memcpy(mask, xmm_reg(cpu, in->rm), 16);
	} else {
		uint64_t d = mmx_get(cpu, in->reg), m = mmx_get(cpu, in->rm);

		fpu_check_mmx(cpu);
		memcpy(data, &d, 8);
		memcpy(mask, &m, 8);
	}
	for (unsigned i = 0; i < len; i++)
		any |= (mask[i] & 0x80) != 0;
	if (any) {
		cpu_check_write(cpu, in->seg, di, len);
		for (unsigned i = 0; i < len; i++)
			if (mask[i] & 0x80)
				cpu_write8(cpu, in->seg, (di + i) & size_mask(in->addrsize), data[i]);
	}
	if (len == 8)
		mmx_enter(cpu);
}

/* ------------------------------------------------------------------ */
/* Packed integers.                                                     */

/* 60-6D, 74-76, D1-FE: MMX (no prefix) and SSE2 (66) forms of the same operation. */
static void sse_pint(struct cpu *cpu, const struct insn *in)
{
	if (in->sse_pfx == SSE_NONE) {
		uint64_t a, b;
		/* MMX PUNPCKL* read only 32 bits from memory */
		unsigned len = (in->opcode >= 0x60 && in->opcode <= 0x62) ? 4 : 8;

		if (in->opcode == 0x6c || in->opcode == 0x6d)
			cpu_raise_ud(cpu);
		fpu_check_mmx(cpu);
		b = mmx_src(cpu, in, len);
		a = mmx_get(cpu, in->reg);
		simd_int_op(in->opcode, (uint8_t *)&a, (const uint8_t *)&b, 8, 0);
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, a);
	} else if (in->sse_pfx == SSE_66) {
		uint8_t s[16], d[16];

		fpu_check_sse(cpu);
		sse_src(cpu, in, s, 16, true);
		memcpy(d, xmm_reg(cpu, in->reg), 16);
		simd_int_op(in->opcode, d, s, 16, 0);
		memcpy(xmm_reg(cpu, in->reg), d, 16);
	} else {
		cpu_raise_ud(cpu);
	}
}

/* 71/72/73: shifts by imm8 of mm/xmm (register operand only) */
static void sse_shift_imm(struct cpu *cpu, const struct insn *in)
{
	unsigned op = (unsigned)in->opcode << 8 | (in->reg & 7);
	uint8_t imm = (uint8_t)in->imm;

	if (in->mod != 3 || in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	if (in->sse_pfx == SSE_NONE) {
		uint64_t a;

		fpu_check_mmx(cpu);
		a = mmx_get(cpu, in->rm);
		if (!simd_int_op(op, (uint8_t *)&a, (const uint8_t *)&a, 8, imm))
			cpu_raise_ud(cpu);
		mmx_enter(cpu);
		mmx_set(cpu, in->rm, a);
	} else {
		uint8_t d[16];

		fpu_check_sse(cpu);
		memcpy(d, xmm_reg(cpu, in->rm), 16);
		if (!simd_int_op(op, d, d, 16, imm))
			cpu_raise_ud(cpu);
		memcpy(xmm_reg(cpu, in->rm), d, 16);
	}
}

/* 70: PSHUFW (none), PSHUFD (66), PSHUFHW (F3), PSHUFLW (F2) */
static void sse_pshuf(struct cpu *cpu, const struct insn *in)
{
	unsigned imm = (unsigned)in->imm & 0xff;

	if (in->sse_pfx == SSE_NONE) {
		uint16_t s[4], r[4];
		uint64_t v;

		fpu_check_mmx(cpu);
		v = mmx_src(cpu, in, 8);
		memcpy(s, &v, 8);
		for (unsigned i = 0; i < 4; i++)
			r[i] = s[(imm >> (2 * i)) & 3];
		memcpy(&v, r, 8);
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, v);
		return;
	}
	uint8_t b[16];

	fpu_check_sse(cpu);
	sse_src(cpu, in, b, 16, true);
	if (in->sse_pfx == SSE_66) {
		uint32_t s[4], r[4];

		memcpy(s, b, 16);
		for (unsigned i = 0; i < 4; i++)
			r[i] = s[(imm >> (2 * i)) & 3];
		memcpy(xmm_reg(cpu, in->reg), r, 16);
	} else {
		uint16_t s[8], r[8];
		unsigned base = in->sse_pfx == SSE_F3 ? 4 : 0;

		memcpy(s, b, 16);
		memcpy(r, s, 16);
		for (unsigned i = 0; i < 4; i++)
			r[base + i] = s[base + ((imm >> (2 * i)) & 3)];
		memcpy(xmm_reg(cpu, in->reg), r, 16);
	}
}

/* C4: PINSRW mm|xmm, r32/m16, imm8 */
static void sse_pinsrw(struct cpu *cpu, const struct insn *in)
{
	uint16_t w;

	if (in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	if (in->sse_pfx == SSE_NONE)
		fpu_check_mmx(cpu);
	else
		fpu_check_sse(cpu);
	w = in->mod == 3 ? (uint16_t)cpu_reg_get(cpu, in->rm, 4) : cpu_read16(cpu, in->seg, insn_ea(cpu, in));
	if (in->sse_pfx == SSE_NONE) {
		uint64_t v = mmx_get(cpu, in->reg);
		unsigned sh = 16 * (in->imm & 3);

		v = (v & ~(0xffffull << sh)) | ((uint64_t)w << sh);
		mmx_enter(cpu);
		mmx_set(cpu, in->reg, v);
	} else {
		memcpy(xmm_reg(cpu, in->reg) + 2 * (in->imm & 7), &w, 2);
	}
}

/* C5: PEXTRW r32, mm|xmm, imm8 */
static void sse_pextrw(struct cpu *cpu, const struct insn *in)
{
	uint16_t w;

	if (in->mod != 3 || in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	if (in->sse_pfx == SSE_NONE) {
		fpu_check_mmx(cpu);
		w = (uint16_t)(mmx_get(cpu, in->rm) >> (16 * (in->imm & 3)));
		mmx_enter(cpu);
	} else {
		fpu_check_sse(cpu);
		memcpy(&w, xmm_reg(cpu, in->rm) + 2 * (in->imm & 7), 2);
	}
	cpu_reg_set(cpu, in->reg, sse_gpr_size(in), w);
}

/* D7: PMOVMSKB r32, mm|xmm */
static void sse_pmovmskb(struct cpu *cpu, const struct insn *in)
{
	uint8_t b[16];
	unsigned len = 8, m = 0;

	if (in->mod != 3 || in->sse_pfx > SSE_66)
		cpu_raise_ud(cpu);
	if (in->sse_pfx == SSE_NONE) {
		uint64_t v;

		fpu_check_mmx(cpu);
		v = mmx_get(cpu, in->rm);
		memcpy(b, &v, 8);
		mmx_enter(cpu);
	} else {
		fpu_check_sse(cpu);
		memcpy(b, xmm_reg(cpu, in->rm), 16);
		len = 16;
	}
	for (unsigned i = 0; i < len; i++)
		m |= (unsigned)(b[i] >> 7) << i;
	cpu_reg_set(cpu, in->reg, sse_gpr_size(in), m);
}

/* 77: EMMS: all x87 tags empty. */
static void sse_emms(struct cpu *cpu, const struct insn *in)
{
	if (in->sse_pfx != SSE_NONE)
		cpu_raise_ud(cpu);
	fpu_check_mmx(cpu);
	cpu->s.fpu.ftw = 0;
}

/* ------------------------------------------------------------------ */
/* 0F AE: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, CLFLUSH and the fences.    */

/*
 * RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE (F3 0F AE /0-/3, register
 * operand): 64-bit mode with CR4.FSGSBASE, else #UD; a 32-bit operand
 * zero-extends; a non-canonical base is #GP(0) (SDM vol. 2, RDFSBASE and
 * WRFSBASE).
 */
static void fsgsbase(struct cpu *cpu, const struct insn *in, unsigned r)
{
	struct rv_segment *seg = &cpu->s.seg[r & 1 ? RV_GS : RV_FS];
	uint64_t *g = &cpu->s.gpr[in->rm];
	bool wide = (in->rex & 8) != 0;

	if (!cpu_64bit(cpu) || !(cpu->s.cr4 & RV_CR4_FSGSBASE))
		cpu_raise_ud(cpu);
	if (r < 2) {
		*g = wide ? seg->base : (uint32_t)seg->base;
		return;
	}
	if (wide && (uint64_t)((int64_t)(*g << 16) >> 16) != *g)
		cpu_raise_gp0(cpu);
	seg->base = wide ? *g : (uint32_t)*g;
	cpu_update_flat(cpu);	/* a base of 0 or not: the fast path's flat bits */
}

static void sse_grp15(struct cpu *cpu, const struct insn *in)
{
	unsigned r = in->reg & 7;
	bool wide = (in->rex & 8) != 0;
	unsigned nxmm = cpu_64bit(cpu) ? 16 : 8;
	uint8_t img[512];
	uint64_t ea;

	if (in->sse_pfx == SSE_F3 && in->mod == 3 && r < 4) {
		fsgsbase(cpu, in, r);
		return;
	}
	if (in->sse_pfx != SSE_NONE)
		cpu_raise_ud(cpu);	/* CLFLUSHOPT (66): not provided */
	if (in->mod == 3) {
		if (r < 5)
			cpu_raise_ud(cpu);
		/* x86 ordering holds on the x86 host except for store-load: MFENCE needs a real fence */
		if (r == 6)
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return;
	}
	ea = insn_ea(cpu, in);
	switch (r) {
	case 0:		/* FXSAVE: #NM on EM or TS, 16-byte alignment (SDM vol. 2, FXSAVE) */
	case 1:		/* FXRSTOR */
		if (cpu->s.cr0 & (RV_CR0_EM | RV_CR0_TS))
			cpu_raise(cpu, EXC_NM, 0);
		fpu_check_align(cpu, in->seg, ea, 16);
		if (r == 0) {
			unsigned n = 160 + 16 * nxmm;

			fpu_fxsave_to(cpu, img, wide, nxmm);
			cpu_write_bytes(cpu, in->seg, ea, img, n);
		} else {
			struct cpu_fpu save = cpu->s.fpu;

			cpu_read_bytes(cpu, in->seg, ea, img, 160 + 16 * nxmm);
			if (!fpu_fxrstor_from(cpu, img, wide, nxmm)) {
				cpu->s.fpu = save;
				cpu_raise_gp0(cpu);
			}
		}
		return;
	case 2:		/* LDMXCSR */
	case 3: {	/* STMXCSR */
		fpu_check_sse(cpu);
		if (r == 3) {
			cpu_write32(cpu, in->seg, ea, cpu->s.fpu.mxcsr);
			return;
		}
		uint32_t v = cpu_read32(cpu, in->seg, ea);

		if (v & ~MXCSR_MASK_SUPPORTED)
			cpu_raise_gp0(cpu);
		cpu->s.fpu.mxcsr = v;
		return;
	}
	case 7:		/* CLFLUSH: checked like a byte read, no data moves (no MMIO access either) */
		cpu_translate(cpu, cpu_linear(cpu, in->seg, ea, 1, ACC_READ), ACC_READ);
		return;
	default:	/* XSAVE family: not offered in CPUID */
		cpu_raise_ud(cpu);
	}
}

/* ------------------------------------------------------------------ */
/* Dispatch on the opcodes that have several unrelated forms.           */

#define PINT(op, name) { MAP_0F, op, OPF_MODRM, sse_pint, name }

const struct opdesc cpu_ops_sse[] = {
	{ MAP_0F, 0x10, OPF_MODRM, sse_mov_10, "movups" },
	{ MAP_0F, 0x11, OPF_MODRM, sse_mov_10, "movups" },
	{ MAP_0F, 0x12, OPF_MODRM, sse_mov_half, "movlps" },
	{ MAP_0F, 0x13, OPF_MODRM, sse_mov_half, "movlps" },
	{ MAP_0F, 0x14, OPF_MODRM, sse_unpck, "unpcklps" },
	{ MAP_0F, 0x15, OPF_MODRM, sse_unpck, "unpckhps" },
	{ MAP_0F, 0x16, OPF_MODRM, sse_mov_half, "movhps" },
	{ MAP_0F, 0x17, OPF_MODRM, sse_mov_half, "movhps" },
	{ MAP_0F, 0x28, OPF_MODRM, sse_movap, "movaps" },
	{ MAP_0F, 0x29, OPF_MODRM, sse_movap, "movaps" },
	{ MAP_0F, 0x2a, OPF_MODRM, sse_cvt_2a, "cvtsi2ss" },
	{ MAP_0F, 0x2b, OPF_MODRM, sse_movap, "movntps" },
	{ MAP_0F, 0x2c, OPF_MODRM, sse_cvt_2c, "cvttss2si" },
	{ MAP_0F, 0x2d, OPF_MODRM, sse_cvt_2c, "cvtss2si" },
	{ MAP_0F, 0x2e, OPF_MODRM, sse_comi, "ucomiss" },
	{ MAP_0F, 0x2f, OPF_MODRM, sse_comi, "comiss" },
	{ MAP_0F, 0x50, OPF_MODRM, sse_movmsk, "movmskps" },
	{ MAP_0F, 0x51, OPF_MODRM, sse_arith, "sqrtps" },
	{ MAP_0F, 0x52, OPF_MODRM, sse_approx, "rsqrtps" },
	{ MAP_0F, 0x53, OPF_MODRM, sse_approx, "rcpps" },
	{ MAP_0F, 0x54, OPF_MODRM, sse_logic, "andps" },
	{ MAP_0F, 0x55, OPF_MODRM, sse_logic, "andnps" },
	{ MAP_0F, 0x56, OPF_MODRM, sse_logic, "orps" },
	{ MAP_0F, 0x57, OPF_MODRM, sse_logic, "xorps" },
	{ MAP_0F, 0x58, OPF_MODRM, sse_arith, "addps" },
	{ MAP_0F, 0x59, OPF_MODRM, sse_arith, "mulps" },
	{ MAP_0F, 0x5a, OPF_MODRM, sse_cvt_5a, "cvtps2pd" },
	{ MAP_0F, 0x5b, OPF_MODRM, sse_cvt_dq, "cvtdq2ps" },
	{ MAP_0F, 0x5c, OPF_MODRM, sse_arith, "subps" },
	{ MAP_0F, 0x5d, OPF_MODRM, sse_arith, "minps" },
	{ MAP_0F, 0x5e, OPF_MODRM, sse_arith, "divps" },
	{ MAP_0F, 0x5f, OPF_MODRM, sse_arith, "maxps" },
	PINT(0x60, "punpcklbw"), PINT(0x61, "punpcklwd"), PINT(0x62, "punpckldq"),
	PINT(0x63, "packsswb"), PINT(0x64, "pcmpgtb"), PINT(0x65, "pcmpgtw"),
	PINT(0x66, "pcmpgtd"), PINT(0x67, "packuswb"), PINT(0x68, "punpckhbw"),
	PINT(0x69, "punpckhwd"), PINT(0x6a, "punpckhdq"), PINT(0x6b, "packssdw"),
	PINT(0x6c, "punpcklqdq"), PINT(0x6d, "punpckhqdq"),
	{ MAP_0F, 0x6e, OPF_MODRM, sse_movd_in, "movd" },
	{ MAP_0F, 0x6f, OPF_MODRM, sse_mov_6f, "movq" },
	{ MAP_0F, 0x70, OPF_MODRM | OPF_IMM8U, sse_pshuf, "pshufw" },
	{ MAP_0F, 0x71, OPF_MODRM | OPF_IMM8U, sse_shift_imm, "psxxw" },
	{ MAP_0F, 0x72, OPF_MODRM | OPF_IMM8U, sse_shift_imm, "psxxd" },
	{ MAP_0F, 0x73, OPF_MODRM | OPF_IMM8U, sse_shift_imm, "psxxq" },
	PINT(0x74, "pcmpeqb"), PINT(0x75, "pcmpeqw"), PINT(0x76, "pcmpeqd"),
	{ MAP_0F, 0x77, 0, sse_emms, "emms" },
	{ MAP_0F, 0x7e, OPF_MODRM, sse_movd_out, "movd" },
	{ MAP_0F, 0x7f, OPF_MODRM, sse_mov_6f, "movq" },
	{ MAP_0F, 0xae, OPF_MODRM, sse_grp15, "grp15" },
	{ MAP_0F, 0xc2, OPF_MODRM | OPF_IMM8U, sse_cmp, "cmpps" },
	{ MAP_0F, 0xc3, OPF_MODRM, sse_movnt, "movnti" },
	{ MAP_0F, 0xc4, OPF_MODRM | OPF_IMM8U, sse_pinsrw, "pinsrw" },
	{ MAP_0F, 0xc5, OPF_MODRM | OPF_IMM8U, sse_pextrw, "pextrw" },
	{ MAP_0F, 0xc6, OPF_MODRM | OPF_IMM8U, sse_shuf, "shufps" },
	PINT(0xd1, "psrlw"), PINT(0xd2, "psrld"), PINT(0xd3, "psrlq"), PINT(0xd4, "paddq"),
	PINT(0xd5, "pmullw"),
	{ MAP_0F, 0xd6, OPF_MODRM, sse_movq_d6, "movq" },
	{ MAP_0F, 0xd7, OPF_MODRM, sse_pmovmskb, "pmovmskb" },
	PINT(0xd8, "psubusb"), PINT(0xd9, "psubusw"), PINT(0xda, "pminub"), PINT(0xdb, "pand"),
	PINT(0xdc, "paddusb"), PINT(0xdd, "paddusw"), PINT(0xde, "pmaxub"), PINT(0xdf, "pandn"),
	PINT(0xe0, "pavgb"), PINT(0xe1, "psraw"), PINT(0xe2, "psrad"), PINT(0xe3, "pavgw"),
	PINT(0xe4, "pmulhuw"), PINT(0xe5, "pmulhw"),
	{ MAP_0F, 0xe6, OPF_MODRM, sse_cvt_dq, "cvtpd2dq" },
	{ MAP_0F, 0xe7, OPF_MODRM, sse_movnt, "movntq" },
	PINT(0xe8, "psubsb"), PINT(0xe9, "psubsw"), PINT(0xea, "pminsw"), PINT(0xeb, "por"),
	PINT(0xec, "paddsb"), PINT(0xed, "paddsw"), PINT(0xee, "pmaxsw"), PINT(0xef, "pxor"),
	PINT(0xf1, "psllw"), PINT(0xf2, "pslld"), PINT(0xf3, "psllq"), PINT(0xf4, "pmuludq"),
	PINT(0xf5, "pmaddwd"), PINT(0xf6, "psadbw"),
	{ MAP_0F, 0xf7, OPF_MODRM, sse_maskmov, "maskmovq" },
	PINT(0xf8, "psubb"), PINT(0xf9, "psubw"), PINT(0xfa, "psubd"), PINT(0xfb, "psubq"),
	PINT(0xfc, "paddb"), PINT(0xfd, "paddw"), PINT(0xfe, "paddd"),
	{ 0 }
};
