/* x87 FPU instructions (opcodes D8-DF and 9B), FPU reset and the FXSAVE image. */
/*
 * The register stack, tags, stack faults, exception masking and #MF are
 * modelled here; the arithmetic itself runs through the host bridge
 * (fp_host.c) with the guest's control word, which gives bit-exact results,
 * C1 rounding information and exception flags (Intel SDM vol. 1, ch. 8).
 */
#include "cpu/fpu_priv.h"

static const uint8_t x87_indefinite[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
static const uint8_t x87_zero[10];

/* ------------------------------------------------------------------ */
/* Device and pending-exception checks.                                */

void fpu_check_x87(struct cpu *cpu, bool waiting)
{
	if (cpu->s.cr0 & (RV_CR0_EM | RV_CR0_TS))
		cpu_raise(cpu, EXC_NM, 0);
	/*
	 * A pending unmasked exception is reported at the next waiting
	 * instruction (SDM vol. 1, 8.6). With CR0.NE = 0 the legacy path
	 * signals FERR# to an external interrupt controller instead; ringvm
	 * has no FERR# wiring, so the instruction simply proceeds there.
	 */
	if (waiting && (cpu->s.fpu.fsw & FSW_ES) && (cpu->s.cr0 & RV_CR0_NE))
		cpu_raise(cpu, EXC_MF, 0);
}

void fpu_check_mmx(struct cpu *cpu)
{
	if (cpu->s.cr0 & RV_CR0_EM)
		cpu_raise_ud(cpu);
	if (cpu->s.cr0 & RV_CR0_TS)
		cpu_raise(cpu, EXC_NM, 0);
	if ((cpu->s.fpu.fsw & FSW_ES) && (cpu->s.cr0 & RV_CR0_NE))
		cpu_raise(cpu, EXC_MF, 0);
}

void fpu_check_sse(struct cpu *cpu)
{
	if ((cpu->s.cr0 & RV_CR0_EM) || !(cpu->s.cr4 & RV_CR4_OSFXSR))
		cpu_raise_ud(cpu);
	if (cpu->s.cr0 & RV_CR0_TS)
		cpu_raise(cpu, EXC_NM, 0);
}

void fpu_check_align(struct cpu *cpu, int seg, uint64_t off, unsigned align)
{
	if (fpu_linear_of(cpu, seg, off) & (align - 1))
		cpu_raise_gp0(cpu);
}

/* ------------------------------------------------------------------ */
/* Tags.                                                               */

unsigned fpu_tag_of(const uint8_t v[10])
{
	unsigned exp = (v[8] | (unsigned)v[9] << 8) & 0x7fff;
	uint64_t mant;

	memcpy(&mant, v, 8);
	if (exp == 0x7fff)
		return 2;
	if (exp == 0)
		return mant ? 2 : 1;
	return (mant >> 63) ? 0 : 2;	/* unnormals are special */
}

uint16_t fpu_full_tag(const struct cpu *cpu)
{
	uint16_t tw = 0;

	for (unsigned p = 0; p < 8; p++) {
		unsigned t = ((cpu->s.fpu.ftw >> p) & 1) ? fpu_tag_of(cpu->s.fpu.st[p]) : 3;
		tw |= (uint16_t)(t << (2 * p));
	}
	return tw;
}

/* ------------------------------------------------------------------ */
/* Stack primitives.                                                   */

static void x87_set(struct cpu *cpu, unsigned i, const uint8_t v[10])
{
	unsigned p = fpu_phys(cpu, i);

	memcpy(cpu->s.fpu.st[p], v, 10);
	memset(cpu->s.fpu.st[p] + 10, 0, 6);
	cpu->s.fpu.ftw |= (uint8_t)(1u << p);
}

static void x87_push(struct cpu *cpu, const uint8_t v[10])
{
	fpu_set_top(cpu, fpu_top(cpu) - 1);
	x87_set(cpu, 0, v);
}

static void x87_pop(struct cpu *cpu)
{
	cpu->s.fpu.ftw &= (uint8_t)~(1u << fpu_top(cpu));
	fpu_set_top(cpu, fpu_top(cpu) + 1);
}

/*
 * Stack underflow or overflow: invalid operation with SF (SDM vol. 1,
 * 8.5.1.1), C1 = 0 for underflow and 1 for overflow. Returns true if IE is
 * masked, i.e. the instruction goes on with the QNaN indefinite.
 */
static bool x87_stack_fault(struct cpu *cpu, bool overflow)
{
	struct cpu_fpu *f = &cpu->s.fpu;

	f->fsw = (uint16_t)((f->fsw & ~FSW_C1) | FSW_IE | FSW_SF | (overflow ? FSW_C1 : 0));
	if (f->fcw & FSW_IE)
		return true;
	f->fsw |= FSW_ES | FSW_B;
	return false;
}

/*
 * Merge the host status word of one operation into *fsw: its exception
 * flags, the condition codes in ccmask, ES/B for unmasked exceptions.
 * Returns false if an unmasked exception in `block` means no result is stored.
 */
static bool x87_merge(const struct cpu *cpu, uint16_t *fsw, uint16_t hsw, uint16_t ccmask, uint16_t block)
{
	unsigned exc = hsw & FSW_EXC;
	unsigned unmasked = exc & ~cpu->s.fpu.fcw & FSW_EXC;

	*fsw = (uint16_t)((*fsw & ~ccmask) | (hsw & ccmask) | exc);
	if (unmasked)
		*fsw |= FSW_ES | FSW_B;
	return !(unmasked & block);
}

#define BLOCK_REG (FSW_IE | FSW_DE | FSW_ZE)			/* pre-computation exceptions */
#define BLOCK_MEM (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE)	/* memory destinations */

/* Remember the last non-control instruction (SDM vol. 1, 8.1.8). */
static void x87_note(struct cpu *cpu, const struct insn *in, bool mem, uint64_t ea)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	unsigned k = 0;

	while (k + 1 < in->len && (in->bytes[k] & 0xf8) != 0xd8)
		k++;
	f->fop = (uint16_t)(((in->bytes[k] & 7) << 8) | in->bytes[k + 1]);
	f->fip = cpu->s.rip;
	f->fcs = cpu->s.seg[RV_CS].selector;
	if (mem) {
		f->fdp = ea;
		f->fds = cpu->s.seg[in->seg].selector;
	}
}

/* ------------------------------------------------------------------ */
/* Operations.                                                         */

/*
 * ST(0) op (ST(i) or memory) through host op `hop`. dst: 0 writes ST(0),
 * 1 writes ST(i), -1 writes nothing (compares). Pops `pops` times. Returns
 * the condition codes for compares (C0/C2/C3), or -1 if the instruction
 * stopped on an unmasked exception.
 */
static int x87_binop(struct cpu *cpu, unsigned hop, unsigned i, const uint8_t *mem,
		     int dst, unsigned pops)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	struct fph_x87 x;
	uint16_t fsw = f->fsw;
	bool cmp = dst < 0;

	if (!fpu_valid(cpu, 0) || (!mem && !fpu_valid(cpu, i))) {
		/* compares report "unordered" even when IE is unmasked (as hardware does) */
		bool masked = x87_stack_fault(cpu, false);

		if (cmp) {
			if (dst == -1)
				f->fsw |= FSW_C0 | FSW_C2 | FSW_C3;
			if (!masked)
				return FSW_C0 | FSW_C2 | FSW_C3;
		} else if (!masked) {
			return -1;
		} else {
			x87_set(cpu, dst ? i : 0, x87_indefinite);
		}
		while (pops--)
			x87_pop(cpu);
		return FSW_C0 | FSW_C2 | FSW_C3;
	}
	memcpy(x.st0, fpu_st(cpu, 0), 10);
	if (mem) {
		memcpy(x.mem, mem, 8);
		memcpy(x.st1, x87_zero, 10);
	} else {
		memcpy(x.st1, fpu_st(cpu, i), 10);
	}
	x.cw = f->fcw;
	fph_x87_exec(&x, hop);
	if (!x87_merge(cpu, &fsw, x.sw, dst == -1 ? FSW_CC : FSW_C1, BLOCK_REG)) {
		f->fsw = fsw;
		/* FCOMI still reports "unordered" on an unmasked invalid operation (as hardware does) */
		if (dst == -2 && (x.sw & FSW_IE))
			return FSW_C0 | FSW_C2 | FSW_C3;
		return -1;
	}
	f->fsw = fsw;
	if (dst == 0)
		x87_set(cpu, 0, x.st0);
	else if (dst == 1)
		x87_set(cpu, i, x.st1);
	while (pops--)
		x87_pop(cpu);
	return x.sw & (FSW_C0 | FSW_C2 | FSW_C3);
}

/* FCOMI/FUCOMI(P): the x87 compare with its result in ZF, PF, CF (OF, SF, AF cleared). */
static void x87_comi(struct cpu *cpu, unsigned hop, unsigned i, unsigned pops)
{
	int cc = x87_binop(cpu, hop, i, NULL, -2, pops);
	uint64_t fl = 0;

	/* FCOMI leaves C0, C2, C3 alone; C1 is cleared (or 0 from the stack fault) */
	if (cc < 0)
		return;
	if (cc & FSW_C3)
		fl |= RV_FLAG_ZF;
	if (cc & FSW_C2)
		fl |= RV_FLAG_PF;
	if (cc & FSW_C0)
		fl |= RV_FLAG_CF;
	cpu_set_flags_eager(cpu, CPU_ARITH_FLAGS, fl);
}

/* Push the result of a host load (FLD m32/m64, FILD, FBLD). */
static void x87_load(struct cpu *cpu, unsigned hop, const uint8_t *mem)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	struct fph_x87 x;
	uint16_t fsw = f->fsw;

	if (fpu_valid(cpu, 7)) {
		if (x87_stack_fault(cpu, true))
			x87_push(cpu, x87_indefinite);
		return;
	}
	memset(&x, 0, sizeof(x));
	memcpy(x.mem, mem, 10);
	x.cw = f->fcw;
	fph_x87_exec(&x, hop);
	fsw &= (uint16_t)~FSW_C1;
	x87_merge(cpu, &fsw, x.sw, 0, 0);
	f->fsw = fsw;
	/*
	 * The host pushed unless the load stopped on an unmasked exception (an
	 * SNaN with IE unmasked; a denormal with DE unmasked still loads).
	 */
	if (((x.sw >> 11) & 7) == 5)
		x87_push(cpu, x.st0);
}

/* Store ST(0) to memory through host op `hop` (FST, FIST, FBSTP); len bytes written. */
static void x87_store(struct cpu *cpu, const struct insn *in, uint64_t ea, unsigned hop,
		      unsigned len, bool pop)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	struct fph_x87 x;
	uint16_t fsw;

	memset(&x, 0, sizeof(x));
	if (!fpu_valid(cpu, 0)) {
		/* underflow: with IE masked the indefinite is stored (check the write first) */
		if (f->fcw & FSW_IE)
			cpu_check_write(cpu, in->seg, ea, len);
		if (!x87_stack_fault(cpu, false))
			return;
		memcpy(x.st0, x87_indefinite, 10);
	} else {
		memcpy(x.st0, fpu_st(cpu, 0), 10);
	}
	x.cw = f->fcw;
	fph_x87_exec(&x, hop);
	fsw = f->fsw;
	if (x87_merge(cpu, &fsw, x.sw, FSW_C1, BLOCK_MEM)) {
		cpu_write_bytes(cpu, in->seg, ea, x.mem, len);
		f->fsw = fsw;
		if (pop)
			x87_pop(cpu);
	} else {
		f->fsw = fsw;
	}
}

/* D9 E0-FF except FCHS/FABS/FNOP/FINCSTP/FDECSTP: constants, FTST/FXAM, transcendentals. */
static void x87_d9_group(struct cpu *cpu, unsigned modrm)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	struct fph_x87 x;
	uint16_t fsw = f->fsw, ccmask = FSW_C1;
	bool push = (modrm >= 0xe8 && modrm <= 0xee) || modrm == 0xf2 || modrm == 0xf4 || modrm == 0xfb;
	bool need0 = !(modrm >= 0xe8 && modrm <= 0xee);
	bool need1 = modrm == 0xf1 || modrm == 0xf3 || modrm == 0xf5 || modrm == 0xf8 ||
		     modrm == 0xf9 || modrm == 0xfd;
	bool pop = modrm == 0xf1 || modrm == 0xf3 || modrm == 0xf9;
	bool result = modrm != 0xe4 && modrm != 0xe5;
	unsigned htop;

	if (modrm == 0xe5 && !fpu_valid(cpu, 0)) {
		/* FXAM of an empty register: C3 = C0 = 1, C1 = sign */
		f->fsw = (uint16_t)((f->fsw & ~FSW_CC) | FSW_C3 | FSW_C0 |
				    ((fpu_st(cpu, 0)[9] & 0x80) ? FSW_C1 : 0));
		return;
	}
	if ((need0 && !fpu_valid(cpu, 0)) || (need1 && !fpu_valid(cpu, 1))) {
		if (!x87_stack_fault(cpu, false))
			return;
		if (modrm == 0xe4) {
			f->fsw |= FSW_C0 | FSW_C2 | FSW_C3;
		} else if (pop) {
			x87_set(cpu, 1, x87_indefinite);
			x87_pop(cpu);
		} else {
			x87_set(cpu, 0, x87_indefinite);
			if (push)
				x87_push(cpu, x87_indefinite);
		}
		return;
	}
	if (push && fpu_valid(cpu, 7)) {
		if (!x87_stack_fault(cpu, true))
			return;
		if (need0)
			x87_set(cpu, 0, x87_indefinite);
		x87_push(cpu, x87_indefinite);
		return;
	}
	memcpy(x.st0, fpu_valid(cpu, 0) ? fpu_st(cpu, 0) : x87_zero, 10);
	memcpy(x.st1, fpu_valid(cpu, 1) ? fpu_st(cpu, 1) : x87_zero, 10);
	x.cw = f->fcw;
	fph_x87_exec(&x, 0xd900 | modrm);
	if (modrm == 0xe4 || modrm == 0xe5 || modrm == 0xf5 || modrm == 0xf8)
		ccmask = FSW_CC;
	else if (modrm == 0xf2 || modrm == 0xfb || modrm == 0xfe || modrm == 0xff)
		ccmask = FSW_C1 | FSW_C2;
	if (!x87_merge(cpu, &fsw, x.sw, ccmask, BLOCK_REG)) {
		f->fsw = fsw;
		return;
	}
	f->fsw = fsw;
	if (!result)
		return;
	/* The host stack started with TOP = 6; its TOP now says whether it pushed or popped. */
	htop = (x.sw >> 11) & 7;
	if (htop == 5) {
		if (need0)
			x87_set(cpu, 0, x.st1);
		x87_push(cpu, x.st0);
	} else if (htop == 7) {
		x87_set(cpu, 1, x.st0);
		x87_pop(cpu);
	} else {
		x87_set(cpu, 0, x.st0);
	}
}

/* FCMOVcc: DA/DB C0-DF. */
static void x87_fcmov(struct cpu *cpu, unsigned op, unsigned reg, unsigned i)
{
	static const uint8_t cc[4] = { 2 /* B */, 4 /* E */, 6 /* BE */, 10 /* P (U) */ };
	bool cond = cpu_cond(cpu, cc[reg & 3]);

	if (op == 3)
		cond = !cond;
	if (!fpu_valid(cpu, 0) || !fpu_valid(cpu, i)) {
		if (x87_stack_fault(cpu, false))
			x87_set(cpu, 0, x87_indefinite);
		return;
	}
	cpu->s.fpu.fsw &= (uint16_t)~FSW_C1;
	if (cond) {
		uint8_t v[10];

		memcpy(v, fpu_st(cpu, i), 10);
		x87_set(cpu, 0, v);
	}
}

static void x87_fxch(struct cpu *cpu, unsigned i)
{
	uint8_t a[10], b[10];

	if (!fpu_valid(cpu, 0) || !fpu_valid(cpu, i)) {
		if (!x87_stack_fault(cpu, false))
			return;
		if (!fpu_valid(cpu, 0))
			x87_set(cpu, 0, x87_indefinite);
		if (!fpu_valid(cpu, i))
			x87_set(cpu, i, x87_indefinite);
	} else {
		cpu->s.fpu.fsw &= (uint16_t)~FSW_C1;
	}
	memcpy(a, fpu_st(cpu, 0), 10);
	memcpy(b, fpu_st(cpu, i), 10);
	x87_set(cpu, 0, b);
	x87_set(cpu, i, a);
}

/* FST/FSTP ST(i). */
static void x87_fst_reg(struct cpu *cpu, unsigned i, bool pop)
{
	uint8_t v[10];

	if (!fpu_valid(cpu, 0)) {
		if (!x87_stack_fault(cpu, false))
			return;
		memcpy(v, x87_indefinite, 10);
	} else {
		memcpy(v, fpu_st(cpu, 0), 10);
		cpu->s.fpu.fsw &= (uint16_t)~FSW_C1;
	}
	x87_set(cpu, i, v);
	if (pop)
		x87_pop(cpu);
}

static void x87_fld_reg(struct cpu *cpu, unsigned i)
{
	uint8_t v[10];

	if (fpu_valid(cpu, 7)) {
		if (x87_stack_fault(cpu, true))
			x87_push(cpu, x87_indefinite);
		return;
	}
	if (!fpu_valid(cpu, i)) {
		if (x87_stack_fault(cpu, false))
			x87_push(cpu, x87_indefinite);
		return;
	}
	memcpy(v, fpu_st(cpu, i), 10);
	cpu->s.fpu.fsw &= (uint16_t)~FSW_C1;
	x87_push(cpu, v);
}

/* FNINIT state (SDM vol. 1, 8.1.x, table 8-?): also used at reset. */
static void x87_init(struct cpu *cpu)
{
	struct cpu_fpu *f = &cpu->s.fpu;

	f->fcw = 0x037f;
	f->fsw = 0;
	f->ftw = 0;
	f->fop = 0;
	f->fip = f->fdp = 0;
	f->fcs = f->fds = 0;
}

/* ES and B follow the unmasked exception flags whenever the control word changes. */
static void x87_update_es(struct cpu *cpu)
{
	struct cpu_fpu *f = &cpu->s.fpu;

	if (f->fsw & ~f->fcw & FSW_EXC)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

static void x87_fldcw(struct cpu *cpu, uint16_t v)
{
	cpu->s.fpu.fcw = (uint16_t)((v & 0x1f3f) | 0x40);
	/* Unmasking a flag already set makes the exception pending (SDM: FLDCW). */
	x87_update_es(cpu);
}

/* ------------------------------------------------------------------ */
/* FNSTENV/FLDENV/FNSAVE/FRSTOR (SDM vol. 1, 8.1.10, figures 8-9 to 8-12). */

static unsigned x87_env_size(const struct insn *in)
{
	return in->opsize == 2 ? 14 : 28;
}

/* Real mode and VM86 store 20/32-bit linear pointers split across the words (SDM vol. 1, figures 8-10, 8-12). */
static bool x87_env_real(const struct cpu *cpu)
{
	return cpu->mode == MODE_REAL || cpu->mode == MODE_VM86;
}

static void x87_env_image(struct cpu *cpu, const struct insn *in, uint8_t *img)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	uint16_t tw = fpu_full_tag(cpu);
	uint32_t ip = (uint32_t)f->fip, dp = (uint32_t)f->fdp;
	uint32_t op = f->fop & 0x7ffu;

	if (x87_env_real(cpu)) {
		ip += (uint32_t)f->fcs << 4;
		dp += (uint32_t)f->fds << 4;
	}
	if (in->opsize == 2) {
		uint16_t w[7] = { f->fcw, f->fsw, tw, (uint16_t)ip, f->fcs, (uint16_t)dp, f->fds };

		if (x87_env_real(cpu)) {
			w[4] = (uint16_t)(((ip >> 16) & 0xf) << 12 | op);
			w[6] = (uint16_t)(((dp >> 16) & 0xf) << 12);
		}
		memcpy(img, w, 14);
	} else {
		uint32_t d[7] = { f->fcw | 0xffff0000u, f->fsw | 0xffff0000u, tw | 0xffff0000u,
				  ip, f->fcs | op << 16, dp, f->fds | 0xffff0000u };

		if (x87_env_real(cpu)) {
			d[3] = (ip & 0xffff) | 0xffff0000u;
			d[4] = (ip >> 16) << 12 | op;
			d[5] = (dp & 0xffff) | 0xffff0000u;
			d[6] = (dp >> 16) << 12;
		}
		memcpy(img, d, 28);
	}
}

static void x87_env_load(struct cpu *cpu, const struct insn *in, const uint8_t *img)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	uint16_t cw, sw, tw;

	if (in->opsize == 2) {
		uint16_t w[7];

		memcpy(w, img, 14);
		cw = w[0]; sw = w[1]; tw = w[2];
		if (x87_env_real(cpu)) {
			f->fip = w[3] | (uint32_t)(w[4] >> 12) << 16;
			f->fop = w[4] & 0x7ff;
			f->fdp = w[5] | (uint32_t)(w[6] >> 12) << 16;
		} else {
			f->fip = w[3]; f->fcs = w[4]; f->fdp = w[5]; f->fds = w[6];
			f->fop = 0;
		}
	} else {
		uint32_t d[7];

		memcpy(d, img, 28);
		cw = (uint16_t)d[0]; sw = (uint16_t)d[1]; tw = (uint16_t)d[2];
		f->fop = (uint16_t)((d[4] >> (x87_env_real(cpu) ? 0 : 16)) & 0x7ff);
		if (x87_env_real(cpu)) {
			f->fip = (d[3] & 0xffff) | ((d[4] >> 12) & 0xffff) << 16;
			f->fdp = (d[5] & 0xffff) | ((d[6] >> 12) & 0xffff) << 16;
		} else {
			f->fip = d[3]; f->fcs = (uint16_t)d[4];
			f->fdp = d[5]; f->fds = (uint16_t)d[6];
		}
	}
	if (x87_env_real(cpu)) {
		/* linear pointers: keep them as offsets of segment 0 */
		f->fcs = f->fds = 0;
	}
	f->fcw = (uint16_t)((cw & 0x1f3f) | 0x40);
	f->fsw = sw;
	f->ftw = 0;
	for (unsigned p = 0; p < 8; p++)
		if (((tw >> (2 * p)) & 3) != 3)
			f->ftw |= (uint8_t)(1u << p);
}

static void x87_fnstenv(struct cpu *cpu, const struct insn *in, uint64_t ea, bool save)
{
	uint8_t img[108];
	unsigned n = x87_env_size(in);

	x87_env_image(cpu, in, img);
	if (save)
		for (unsigned i = 0; i < 8; i++)
			memcpy(img + n + 10 * i, fpu_st(cpu, i), 10);
	cpu_write_bytes(cpu, in->seg, ea, img, save ? n + 80 : n);
	if (save)
		x87_init(cpu);
	else {
		cpu->s.fpu.fcw |= FSW_EXC;	/* FNSTENV masks all exceptions */
		x87_update_es(cpu);
	}
}

static void x87_fldenv(struct cpu *cpu, const struct insn *in, uint64_t ea, bool restore)
{
	uint8_t img[108];
	unsigned n = x87_env_size(in);

	cpu_read_bytes(cpu, in->seg, ea, img, restore ? n + 80 : n);
	x87_env_load(cpu, in, img);
	if (restore)
		for (unsigned i = 0; i < 8; i++)
			memcpy(cpu->s.fpu.st[fpu_phys(cpu, i)], img + n + 10 * i, 10);
}

/* ------------------------------------------------------------------ */
/* Decoding of D8-DF.                                                  */

static void x87_mem(struct cpu *cpu, const struct insn *in, unsigned op, unsigned reg)
{
	uint64_t ea = insn_ea(cpu, in);
	uint8_t m[16] = { 0 };
	static const uint8_t arith_len[4] = { 4, 4, 8, 2 };	/* D8 m32fp, DA m32int, DC m64fp, DE m16int */
	/* only the N forms (FNSTENV, FNSTCW, FNSAVE, FNSTSW) do not wait (SDM vol. 1, 8.3.11) */
	bool control = (op == 1 && (reg == 6 || reg == 7)) || (op == 5 && reg >= 6);

	if (reg == 1 && (op == 1 || op == 3 || op == 5 || op == 7))
		cpu_raise_ud(cpu);	/* FISTTP needs SSE3, D9 /1 is reserved */
	if ((op == 3 && (reg == 4 || reg == 6)) || (op == 5 && reg == 5) || (op == 1 && reg == 1))
		cpu_raise_ud(cpu);
	fpu_check_x87(cpu, !control);
	if (!(op & 1)) {
		/* D8, DA, DC, DE: arithmetic with a memory operand */
		unsigned len = arith_len[op >> 1];
		static const uint8_t pops[8] = { 0, 0, 0, 1, 0, 0, 0, 0 };

		cpu_read_bytes(cpu, in->seg, ea, m, len);
		x87_note(cpu, in, true, ea);
		x87_binop(cpu, ((0xd8u + op) << 8) | (reg == 3 ? 2u : reg) << 3, 0, m,
			  (reg == 2 || reg == 3) ? -1 : 0, pops[reg]);
		return;
	}
	if (!control)
		x87_note(cpu, in, true, ea);
	switch ((op << 3) | reg) {
	case (1 << 3) | 0:	/* FLD m32fp */
		cpu_read_bytes(cpu, in->seg, ea, m, 4);
		x87_load(cpu, 0xd900, m);
		break;
	case (1 << 3) | 2:	/* FST m32fp */
	case (1 << 3) | 3:
		x87_store(cpu, in, ea, 0xd910, 4, reg == 3);
		break;
	case (1 << 3) | 4:	/* FLDENV */
		x87_fldenv(cpu, in, ea, false);
		break;
	case (1 << 3) | 5:	/* FLDCW */
		x87_fldcw(cpu, cpu_read16(cpu, in->seg, ea));
		break;
	case (1 << 3) | 6:	/* FNSTENV */
		x87_fnstenv(cpu, in, ea, false);
		break;
	case (1 << 3) | 7:	/* FNSTCW */
		cpu_write16(cpu, in->seg, ea, cpu->s.fpu.fcw);
		break;
	case (3 << 3) | 0:	/* FILD m32int */
		cpu_read_bytes(cpu, in->seg, ea, m, 4);
		x87_load(cpu, 0xdb00, m);
		break;
	case (3 << 3) | 2:	/* FIST m32int */
	case (3 << 3) | 3:
		x87_store(cpu, in, ea, 0xdb10, 4, reg == 3);
		break;
	case (3 << 3) | 5:	/* FLD m80fp: exact, no exceptions */
		cpu_read_bytes(cpu, in->seg, ea, m, 10);
		if (fpu_valid(cpu, 7)) {
			if (x87_stack_fault(cpu, true))
				x87_push(cpu, x87_indefinite);
		} else {
			cpu->s.fpu.fsw &= (uint16_t)~FSW_C1;
			x87_push(cpu, m);
		}
		break;
	case (3 << 3) | 7:	/* FSTP m80fp */
		if (!fpu_valid(cpu, 0)) {
			if (cpu->s.fpu.fcw & FSW_IE)
				cpu_check_write(cpu, in->seg, ea, 10);
			if (!x87_stack_fault(cpu, false))
				break;
			cpu_write_bytes(cpu, in->seg, ea, x87_indefinite, 10);
		} else {
			cpu_write_bytes(cpu, in->seg, ea, fpu_st(cpu, 0), 10);
			cpu->s.fpu.fsw &= (uint16_t)~FSW_C1;
		}
		x87_pop(cpu);
		break;
	case (5 << 3) | 0:	/* FLD m64fp */
		cpu_read_bytes(cpu, in->seg, ea, m, 8);
		x87_load(cpu, 0xdd00, m);
		break;
	case (5 << 3) | 2:	/* FST m64fp */
	case (5 << 3) | 3:
		x87_store(cpu, in, ea, 0xdd10, 8, reg == 3);
		break;
	case (5 << 3) | 4:	/* FRSTOR */
		x87_fldenv(cpu, in, ea, true);
		break;
	case (5 << 3) | 6:	/* FNSAVE */
		x87_fnstenv(cpu, in, ea, true);
		break;
	case (5 << 3) | 7:	/* FNSTSW m16 */
		cpu_write16(cpu, in->seg, ea, cpu->s.fpu.fsw);
		break;
	case (7 << 3) | 0:	/* FILD m16int */
		cpu_read_bytes(cpu, in->seg, ea, m, 2);
		x87_load(cpu, 0xdf00, m);
		break;
	case (7 << 3) | 2:	/* FIST m16int */
	case (7 << 3) | 3:
		x87_store(cpu, in, ea, 0xdf10, 2, reg == 3);
		break;
	case (7 << 3) | 4:	/* FBLD */
		cpu_read_bytes(cpu, in->seg, ea, m, 10);
		x87_load(cpu, 0xdf20, m);
		break;
	case (7 << 3) | 5:	/* FILD m64int */
		cpu_read_bytes(cpu, in->seg, ea, m, 8);
		x87_load(cpu, 0xdf28, m);
		break;
	case (7 << 3) | 6:	/* FBSTP */
		x87_store(cpu, in, ea, 0xdf30, 10, true);
		break;
	case (7 << 3) | 7:	/* FISTP m64int */
		x87_store(cpu, in, ea, 0xdf38, 8, true);
		break;
	default:
		cpu_raise_ud(cpu);
	}
}

static void x87_reg(struct cpu *cpu, const struct insn *in, unsigned op, unsigned reg)
{
	unsigned i = in->rm & 7;
	unsigned modrm = 0xc0 | (reg << 3) | i;
	struct cpu_fpu *f = &cpu->s.fpu;
	/* FNCLEX, FNINIT, FNSTSW AX and the 8087 leftovers do not wait */
	bool control = (op == 3 && (modrm == 0xe2 || modrm == 0xe3 || modrm == 0xe0 ||
				    modrm == 0xe1 || modrm == 0xe4)) ||
		       (op == 7 && modrm == 0xe0);

	/* Reserved encodings first: #UD before device checks */
	switch (op) {
	case 1:
		if ((modrm >= 0xd1 && modrm <= 0xdf) || modrm == 0xe2 || modrm == 0xe3 ||
		    modrm == 0xe6 || modrm == 0xe7 || modrm == 0xef)
			cpu_raise_ud(cpu);
		break;
	case 2:
		if (reg >= 4 && modrm != 0xe9)
			cpu_raise_ud(cpu);
		break;
	case 3:
		if (reg == 4 && modrm > 0xe4)
			cpu_raise_ud(cpu);
		if (reg == 7)
			cpu_raise_ud(cpu);
		break;
	case 5:
		if (reg >= 6)
			cpu_raise_ud(cpu);
		break;
	case 6:
		if (reg == 3 && modrm != 0xd9)
			cpu_raise_ud(cpu);
		break;
	case 7:
		if ((reg == 4 && modrm != 0xe0) || reg == 7)
			cpu_raise_ud(cpu);
		break;
	}
	fpu_check_x87(cpu, !control);
	if (!control)
		x87_note(cpu, in, false, 0);

	switch (op) {
	case 0:		/* D8: ST(0) = ST(0) op ST(i) */
		x87_binop(cpu, 0xd8c1 | (reg == 3 ? 2u : reg) << 3, i, NULL,
			  (reg == 2 || reg == 3) ? -1 : 0, reg == 3);
		return;
	case 4:		/* DC: ST(i) = ST(i) op ST(0) (D0-DF: FCOM/FCOMP aliases) */
	case 6:		/* DE: the same and pop */
		if (reg == 2 || reg == 3) {
			if (op == 6 && reg == 3)	/* FCOMPP */
				x87_binop(cpu, 0xd8d1, 1, NULL, -1, 2);
			else
				x87_binop(cpu, 0xd8d1, i, NULL, -1, reg == 3 || op == 6);
			return;
		}
		x87_binop(cpu, 0xdcc1 | reg << 3, i, NULL, 1, op == 6);
		return;
	case 1:
		if (reg == 0) {
			x87_fld_reg(cpu, i);
		} else if (reg == 1) {
			x87_fxch(cpu, i);
		} else if (modrm == 0xd0) {
			/* FNOP */
		} else if (modrm == 0xe0 || modrm == 0xe1) {
			if (!fpu_valid(cpu, 0)) {
				if (x87_stack_fault(cpu, false))
					x87_set(cpu, 0, x87_indefinite);
				return;
			}
			f->fsw &= (uint16_t)~FSW_C1;
			if (modrm == 0xe0)
				fpu_st(cpu, 0)[9] ^= 0x80;
			else
				fpu_st(cpu, 0)[9] &= 0x7f;
		} else if (modrm == 0xf6 || modrm == 0xf7) {
			/* FDECSTP/FINCSTP: TOP moves, tags stay */
			fpu_set_top(cpu, fpu_top(cpu) + (modrm == 0xf7 ? 1 : 7));
			f->fsw &= (uint16_t)~FSW_C1;
		} else {
			x87_d9_group(cpu, modrm);
		}
		return;
	case 2:
		if (modrm == 0xe9) {	/* FUCOMPP */
			x87_binop(cpu, 0xdde1, 1, NULL, -1, 2);
			return;
		}
		x87_fcmov(cpu, op, reg, i);
		return;
	case 3:
		if (reg < 4) {
			x87_fcmov(cpu, op, reg, i);
		} else if (modrm == 0xe2) {	/* FNCLEX */
			f->fsw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
		} else if (modrm == 0xe3) {	/* FNINIT */
			x87_init(cpu);
		} else if (reg == 4) {
			/* FNENI/FNDISI/FNSETPM: no-ops since the 80387 */
		} else {			/* E8 FUCOMI, F0 FCOMI */
			x87_comi(cpu, reg == 5 ? 0xdde1 : 0xd8d1, i, 0);
		}
		return;
	case 5:
		switch (reg) {
		case 0:		/* FFREE */
			f->ftw &= (uint8_t)~(1u << fpu_phys(cpu, i));
			return;
		case 1:		/* FXCH alias */
			x87_fxch(cpu, i);
			return;
		case 2:
		case 3:
			x87_fst_reg(cpu, i, reg == 3);
			return;
		default:	/* E0 FUCOM, E8 FUCOMP */
			x87_binop(cpu, 0xdde1, i, NULL, -1, reg == 5);
			return;
		}
	case 7:
		if (modrm == 0xe0) {		/* FNSTSW AX */
			cpu_reg_set(cpu, RV_RAX, 2, f->fsw);
		} else if (reg == 0) {		/* FFREEP (undocumented, as on hardware) */
			f->ftw &= (uint8_t)~(1u << fpu_phys(cpu, i));
			x87_pop(cpu);
		} else if (reg == 1) {
			x87_fxch(cpu, i);
		} else if (reg == 2 || reg == 3) {
			x87_fst_reg(cpu, i, true);
		} else {			/* E8 FUCOMIP, F0 FCOMIP */
			x87_comi(cpu, reg == 5 ? 0xdde1 : 0xd8d1, i, 1);
		}
		return;
	}
}

static void x87_esc(struct cpu *cpu, const struct insn *in)
{
	unsigned op = in->opcode & 7;
	unsigned reg = in->reg & 7;

	if (in->mod == 3)
		x87_reg(cpu, in, op, reg);
	else
		x87_mem(cpu, in, op, reg);
}

/* 9B: FWAIT. #NM only when both MP and TS are set (SDM vol. 3, table 2-2). */
static void x87_fwait(struct cpu *cpu, const struct insn *in)
{
	if ((cpu->s.cr0 & (RV_CR0_MP | RV_CR0_TS)) == (RV_CR0_MP | RV_CR0_TS))
		cpu_raise(cpu, EXC_NM, 0);
	if ((cpu->s.fpu.fsw & FSW_ES) && (cpu->s.cr0 & RV_CR0_NE))
		cpu_raise(cpu, EXC_MF, 0);
}

const struct opdesc cpu_ops_fpu[] = {
	{ MAP_1B, 0x9b, 0, x87_fwait, "fwait" },
	{ MAP_1B, 0xd8, OPF_MODRM, x87_esc, "esc0" },
	{ MAP_1B, 0xd9, OPF_MODRM, x87_esc, "esc1" },
	{ MAP_1B, 0xda, OPF_MODRM, x87_esc, "esc2" },
	{ MAP_1B, 0xdb, OPF_MODRM, x87_esc, "esc3" },
	{ MAP_1B, 0xdc, OPF_MODRM, x87_esc, "esc4" },
	{ MAP_1B, 0xdd, OPF_MODRM, x87_esc, "esc5" },
	{ MAP_1B, 0xde, OPF_MODRM, x87_esc, "esc6" },
	{ MAP_1B, 0xdf, OPF_MODRM, x87_esc, "esc7" },
	{ 0 }
};

/* ------------------------------------------------------------------ */
/* Reset and the FXSAVE image (SDM vol. 1, 10.5.1, table 10-2).         */

void cpu_fpu_reset(struct cpu *cpu)
{
	x87_init(cpu);
	memset(cpu->s.fpu.st, 0, sizeof(cpu->s.fpu.st));
	memset(cpu->s.fpu.xmm, 0, sizeof(cpu->s.fpu.xmm));
	cpu->s.fpu.mxcsr = MXCSR_DEFAULT;
}

/* FXSAVE layout; `wide`: the REX.W form with 64-bit FIP/FDP; nxmm registers stored. */
void fpu_fxsave_to(const struct cpu *cpu, uint8_t *img, bool wide, unsigned nxmm)
{
	const struct cpu_fpu *f = &cpu->s.fpu;
	unsigned top = (f->fsw >> 11) & 7;
	uint32_t mask = MXCSR_MASK_SUPPORTED;

	memset(img, 0, 160);
	memcpy(img + 0, &f->fcw, 2);
	memcpy(img + 2, &f->fsw, 2);
	img[4] = f->ftw;
	memcpy(img + 6, &f->fop, 2);
	if (wide) {
		memcpy(img + 8, &f->fip, 8);
		memcpy(img + 16, &f->fdp, 8);
	} else {
		uint32_t ip = (uint32_t)f->fip, dp = (uint32_t)f->fdp;

		memcpy(img + 8, &ip, 4);
		memcpy(img + 12, &f->fcs, 2);
		memcpy(img + 16, &dp, 4);
		memcpy(img + 20, &f->fds, 2);
	}
	memcpy(img + 24, &f->mxcsr, 4);
	memcpy(img + 28, &mask, 4);
	/* ST0-ST7 in stack order, not physical order */
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + 32 + 16 * i, f->st[(top + i) & 7], 10);
	memcpy(img + 160, f->xmm, 16 * nxmm);
}

/* The reverse; false (and nothing loaded) if MXCSR has reserved bits set. */
bool fpu_fxrstor_from(struct cpu *cpu, const uint8_t *img, bool wide, unsigned nxmm)
{
	struct cpu_fpu *f = &cpu->s.fpu;
	uint32_t mxcsr;
	unsigned top;

	memcpy(&mxcsr, img + 24, 4);
	if (mxcsr & ~MXCSR_MASK_SUPPORTED)
		return false;
	f->mxcsr = mxcsr;
	memcpy(&f->fcw, img + 0, 2);
	f->fcw = (uint16_t)((f->fcw & 0x1f3f) | 0x40);
	memcpy(&f->fsw, img + 2, 2);
	f->ftw = img[4];
	memcpy(&f->fop, img + 6, 2);
	f->fop &= 0x7ff;
	if (wide) {
		memcpy(&f->fip, img + 8, 8);
		memcpy(&f->fdp, img + 16, 8);
	} else {
		uint32_t ip, dp;

		memcpy(&ip, img + 8, 4);
		memcpy(&f->fcs, img + 12, 2);
		memcpy(&dp, img + 16, 4);
		memcpy(&f->fds, img + 20, 2);
		f->fip = ip;
		f->fdp = dp;
	}
	top = (f->fsw >> 11) & 7;
	for (unsigned i = 0; i < 8; i++) {
		memcpy(f->st[(top + i) & 7], img + 32 + 16 * i, 10);
		memset(f->st[(top + i) & 7] + 10, 0, 6);
	}
	memcpy(f->xmm, img + 160, 16 * nxmm);
	return true;
}

void cpu_fxsave_image(const struct cpu *cpu, uint8_t image[512])
{
	memset(image, 0, 512);
	fpu_fxsave_to(cpu, image, true, 16);
}

bool cpu_fxrstor_image(struct cpu *cpu, const uint8_t image[512])
{
	return fpu_fxrstor_from(cpu, image, true, 16);
}
