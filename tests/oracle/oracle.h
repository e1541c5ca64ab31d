/* Host-CPU oracle: shared definitions of the harness, the two runners and the form tables. */
#ifndef ORACLE_H
#define ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Fixed addresses, identical in both worlds (host virtual = guest virtual =
 * guest physical), so memory operands and RIP-relative forms see the same
 * numbers natively and on the soft CPU. See README.md.
 */
#define ORACLE_CODE      0x10000000ull	/* code page: the instruction under test */
#define ORACLE_CODE_SIZE 0x10000ull
#define ORACLE_DATA      0x20000000ull	/* data buffer */
#define ORACLE_DATA_SIZE 0x10000ull
#define ORACLE_WIN       0x400u		/* bytes at ORACLE_DATA randomised and compared per case */
#define ORACLE_MEMPTR    (ORACLE_DATA + 0x80)	/* default memory pointer (RBX with ORACLE_MEM) */
#define ORACLE_STACK     (ORACLE_DATA + 0x300)	/* default RSP; [DATA+0x200, DATA+0x400) is the stack part */
#define ORACLE_WIN_NOSTACK 0x200u	/* part of the window compared after an exception */

/* Register numbers (ModRM order). */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* Arithmetic flags and DF. */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_DF 0x400u
#define F_OF 0x800u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define F_SZAP (F_SF | F_ZF | F_AF | F_PF)
#define F_ALL (F_ARITH | F_DF)

/* Input of one case: registers, flags and the data window. */
struct oracle_regs {
	uint64_t gpr[16];
	uint64_t rflags;
};

struct oracle_case {
	struct oracle_regs r;
	uint8_t win[ORACLE_WIN];	/* contents of [ORACLE_DATA, ORACLE_DATA + ORACLE_WIN) */
	/* x87/MMX/SSE state in the FXSAVE layout; loaded and compared only for ORACLE_FPU forms */
	uint8_t fx[512] __attribute__((aligned(16)));
};

/* What one world produced. */
struct oracle_result {
	struct oracle_regs r;		/* at the end, or at the faulting instruction */
	uint8_t win[ORACLE_WIN];
	uint8_t fx[512] __attribute__((aligned(16)));	/* ORACLE_FPU forms: FXSAVE image after the run */
	int vector;			/* exception vector, -1 if none */
	uint64_t fault_rip;		/* RIP of the faulting instruction when vector >= 0 */
	const char *error;		/* the run itself failed (soft CPU did not halt, ...), else NULL */
};

/* Deterministic random numbers (splitmix64). */
struct oracle_rng {
	uint64_t s;
};
uint64_t oracle_rand(struct oracle_rng *r);
/* A value biased towards edge cases (0, 1, -1, sign boundaries of each size). */
uint64_t oracle_rand_edge(struct oracle_rng *r);
/* Uniform in [0, n). */
uint64_t oracle_rand_below(struct oracle_rng *r, uint64_t n);

/*
 * FXSAVE image helpers for ORACLE_FPU forms. The default image is the
 * FNINIT state with MXCSR 0x1f80 and random XMM0-15 (edge-biased doubles
 * and floats). Offsets: FCW 0, FSW 2, FTW 4 (abridged), MXCSR 24,
 * ST(i) at 32 + 16*i (80 bits), XMMi at 160 + 16*i.
 */
/* Make ST(0)..ST(n-1) = v[0..n-1] (TOP = 8 - n, tags valid), other registers empty. */
void oracle_fx_set_stack(struct oracle_case *c, unsigned n, const long double *v);
/* A double biased towards special values (zeros, infinities, NaNs, denormals, 1.0, huge). */
double oracle_rand_double(struct oracle_rng *r);
float oracle_rand_float(struct oracle_rng *r);

/* Form options (struct oracle_form.opt). */
#define ORACLE_MEM      (1u << 0)	/* RBX = ORACLE_MEMPTR: the ModRM memory operand is [rbx+disp] */
#define ORACLE_DF       (1u << 1)	/* give DF a random input value (string forms) */
#define ORACLE_COMPAT32 (1u << 2)	/* run in 32-bit compatibility mode (CS.L=0, D=1); only low 32 bits of GPRs compared */
#define ORACLE_NOFLAGS  (1u << 3)	/* input flags all clear (instead of random) */
#define ORACLE_FPU      (1u << 4)	/* load the x87/SSE state from case.fx (FXRSTOR), compare it after (FXSAVE) */

/* Host/soft CPU features a form may need (struct oracle_form.feature). */
enum oracle_feature {
	FEAT_NONE, FEAT_POPCNT, FEAT_LZCNT, FEAT_BMI1, FEAT_BMI2, FEAT_MOVBE,
	FEAT_CX16, FEAT_ADX, FEAT_CMOV, FEAT_SSE, FEAT_SSE2, FEAT_SSE3, FEAT_SSSE3,
	FEAT_SSE41, FEAT_SSE42, FEAT_NR
};

/*
 * One instruction form. All 16 GPRs get random inputs (RSP = ORACLE_STACK),
 * the arithmetic flags too; everything is compared afterwards except the
 * flags in `undef` (or the mask undef_fn returns for the inputs).
 */
struct oracle_form {
	const char *name;	/* e.g. "add r/m32, r32 (eax, ecx)" */
	const char *hex;	/* instruction bytes, e.g. "01 c8" */
	uint32_t undef;		/* flags the manuals call undefined after this form */
	uint32_t opt;		/* ORACLE_* */
	uint8_t feature;	/* enum oracle_feature, FEAT_NONE if none */
	uint16_t fsw_undef;	/* ORACLE_FPU: x87 status word bits (C0-C3 ...) the manuals leave undefined */
	uint32_t arg;		/* free for gen/undef_fn (operand size, count, ...) */
	/* Constrain the inputs after randomisation (shift counts, divisors, string pointers); may be NULL. */
	void (*gen)(const struct oracle_form *f, struct oracle_case *c, struct oracle_rng *r);
	/* Undefined flags depending on the inputs (replaces `undef`); may be NULL. */
	uint32_t (*undef_fn)(const struct oracle_form *f, const struct oracle_case *c);
};

/* A table entry: FORM("name", "hex bytes", .undef = ..., .opt = ...). End tables with FORM_END. */
#define FORM(n, h, ...) { .name = (n), .hex = (h), __VA_ARGS__ }
#define FORM_END { .name = NULL }

/* The set of forms being built; forms files add to it. */
struct oracle_set;
/* Add one form (copied; name and hex may be temporaries). */
void oracle_add(struct oracle_set *set, const struct oracle_form *f);
/* Add a table terminated by an entry with name == NULL. */
void oracle_add_table(struct oracle_set *set, const struct oracle_form *table);
/* Add a form with printf-style name (hex given separately). */
void oracle_addf(struct oracle_set *set, const struct oracle_form *tmpl, const char *hex,
		 const char *name_fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The forms files. Each defines one function that adds its forms. The
 * weak ones belong to other engineers and may not exist yet.
 */
void oracle_forms_core(struct oracle_set *set);		/* forms_core.c: ALU, MOV, CMOVcc, stack, ... */
void oracle_forms_arith(struct oracle_set *set);	/* forms_arith.c: shifts, mul/div, bits, strings, BCD */
void oracle_forms_int2(struct oracle_set *set) __attribute__((weak));	/* forms_int2.c */
void oracle_forms_sys(struct oracle_set *set) __attribute__((weak));	/* forms_sys.c */
void oracle_forms_fpu(struct oracle_set *set) __attribute__((weak));	/* forms_fpu.c */
void oracle_forms_sse(struct oracle_set *set) __attribute__((weak));	/* forms_sse.c */

/* Native runner (native.c). */
int native_init(void);
/* Probe the host for 32-bit compatibility mode (only with --compat); true if usable. */
bool native_setup_compat(void);
bool native_has_compat32(void);
bool native_has_feature(enum oracle_feature f);
/* Install the instruction for the next runs; returns its address. */
uint64_t native_load(const uint8_t *code, unsigned len, bool compat32, bool fpu);
void native_run(const struct oracle_case *in, struct oracle_result *out);

/* Soft runner (soft.c). */
bool soft_available(void);
/* translate: run the translator (src/jit) rather than the interpreter. */
int soft_init(bool translate);
bool soft_has_feature(enum oracle_feature f);
/* Install the instruction at `addr` (the address native_load returned). */
void soft_load(const uint8_t *code, unsigned len, uint64_t addr, bool compat32, bool fpu);
void soft_run(const struct oracle_case *in, struct oracle_result *out);

#endif
