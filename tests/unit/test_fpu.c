/* Unit tests of the soft CPU's x87, MMX and SSE: FXSAVE image, results, #NM/#MF/#XM/#UD/#GP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "engine.h"

/* Guest-physical layout: system page (page tables, GDT, IDT, HLT stubs), code, data. */
#define SYS_PML4  0x1000u
#define SYS_GDT   0x2000u
#define SYS_STUBS 0x3000u
#define SYS_IDT   0x4000u
#define SYS_PDPT  0x6000u
#define SYS_PD    0x7000u
#define CODE      0x100000u
#define DATA      0x200000u

struct env {
	struct cpu cpu;
	struct test_jit jit;
	struct cpu_memmap map;
	uint8_t sys[0x10000] __attribute__((aligned(4096)));
	uint8_t code[0x1000] __attribute__((aligned(4096)));
	uint8_t data[0x1000] __attribute__((aligned(4096)));
};

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static struct env *env_new(void)
{
	struct env *e = NULL;
	uint64_t *pml4, *pdpt, *pd;
	struct cpu_state *s;

	e = test_cpu_mem(sizeof(*e));
	assert_non_null(e);
	pml4 = (uint64_t *)(e->sys + SYS_PML4);
	pdpt = (uint64_t *)(e->sys + SYS_PDPT);
	pd = (uint64_t *)(e->sys + SYS_PD);
	pml4[0] = SYS_PDPT | 0x67;
	pdpt[0] = SYS_PD | 0x67;
	for (unsigned i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0xe7;
	put64(e->sys + SYS_GDT + 8, 0x00af9b000000ffffull);
	put64(e->sys + SYS_GDT + 16, 0x00cf93000000ffffull);
	for (unsigned i = 0; i < 256; i++) {
		uint64_t h = SYS_STUBS + 16 * i;
		uint8_t *g = e->sys + SYS_IDT + 16 * i;

		put64(g, (h & 0xffff) | (8ull << 16) | (0x8eull << 40) | (((h >> 16) & 0xffff) << 48));
		put64(g + 8, 0);
		memset(e->sys + h, 0xf4, 16);
	}
	e->map.count = 3;
	e->map.slot[0] = (struct cpu_mem_slot){ 0, sizeof(e->sys), e->sys, CPU_SLOT_RAM };
	e->map.slot[1] = (struct cpu_mem_slot){ CODE, sizeof(e->code), e->code, CPU_SLOT_RAM };
	e->map.slot[2] = (struct cpu_mem_slot){ DATA, sizeof(e->data), e->data, CPU_SLOT_RAM };
	e->map.generation = 1;
	cpu_init(&e->cpu, &e->map);
	assert_int_equal(test_cpu_attach(&e->cpu, &e->jit), 0);

	s = &e->cpu.s;
	s->cr0 = RV_CR0_PE | RV_CR0_MP | RV_CR0_ET | RV_CR0_NE | RV_CR0_PG;
	s->cr4 = RV_CR4_PAE | RV_CR4_OSFXSR | RV_CR4_OSXMMEXCPT;
	s->efer = RV_EFER_LME | RV_EFER_LMA;
	s->cr3 = SYS_PML4;
	for (int i = 0; i < 6; i++)
		s->seg[i] = (struct rv_segment){ 0x10, 0x3 | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G,
						 0xffffffff, 0 };
	s->seg[RV_CS] = (struct rv_segment){ 0x08, 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_L | RV_SEG_G,
					     0xffffffff, 0 };
	s->seg[RV_TR] = (struct rv_segment){ 0, 0xb | RV_SEG_P, 0x67, 0 };
	s->gdtr = (struct rv_dtable){ SYS_GDT, 0x17 };
	s->idtr = (struct rv_dtable){ SYS_IDT, 0xfff };
	cpu_update_mode(&e->cpu);
	return e;
}

static void env_free(struct env *e)
{
	test_cpu_detach(&e->jit);
	cpu_fini(&e->cpu);
	test_cpu_mem_free(e, sizeof(*e));
}

/* Run `len` code bytes (then HLT) with RBX = DATA; returns -1 if it halted at the end, else the vector. */
static int env_run(struct env *e, const char *hex, uint64_t *fault_rip)
{
	unsigned n = 0;
	uint64_t rip;

	for (const char *p = hex; *p; ) {
		if (*p == ' ') {
			p++;
			continue;
		}
		e->code[n++] = (uint8_t)strtoul((char[3]){ p[0], p[1], 0 }, NULL, 16);
		p += 2;
	}
	e->code[n] = 0xf4;
	e->map.generation++;
	e->cpu.s.rip = CODE;
	e->cpu.s.gpr[RV_RBX] = DATA;
	e->cpu.s.gpr[RV_RSP] = DATA + 0x1000;
	e->cpu.halted = false;
	assert_int_equal(cpu_run(&e->cpu, 1000), CPU_EXIT_HLT);
	rip = e->cpu.s.rip;
	if (rip == CODE + n + 1)
		return -1;
	assert_true(rip > SYS_STUBS && rip <= SYS_STUBS + 16 * 256);
	if (fault_rip) {
		uint64_t sp = e->cpu.s.gpr[RV_RSP] - DATA;
		int v = (int)((rip - SYS_STUBS - 1) / 16);

		if (v == 13)
			sp += 8;	/* error code */
		memcpy(fault_rip, e->data + sp, 8);
	}
	return (int)((rip - SYS_STUBS - 1) / 16);
}

/* ------------------------------------------------------------------ */

static void test_fxsave_image(void **state)
{
	struct env *e = env_new();
	struct cpu_fpu *f = &e->cpu.s.fpu;
	uint8_t img[512], img2[512];
	uint32_t v32;
	uint16_t v16;

	f->fcw = 0x027f;
	f->fsw = 0x3000 | 0x0001;	/* TOP = 6 */
	f->ftw = 0xc0;			/* R6, R7 valid */
	f->fop = 0x123;
	f->fip = 0x1122334455667788ull;
	f->fdp = 0x99aabbccddeeff00ull;
	f->mxcsr = 0x1fa0;
	for (unsigned r = 0; r < 8; r++)
		memset(f->st[r], 0x10 + r, 10);
	for (unsigned r = 0; r < 16; r++)
		memset(f->xmm[r], 0x40 + r, 16);
	cpu_fxsave_image(&e->cpu, img);
	memcpy(&v16, img, 2);
	assert_int_equal(v16, 0x027f);
	memcpy(&v16, img + 2, 2);
	assert_int_equal(v16, 0x3001);
	assert_int_equal(img[4], 0xc0);
	memcpy(&v32, img + 24, 4);
	assert_int_equal(v32, 0x1fa0);
	memcpy(&v32, img + 28, 4);
	assert_int_equal(v32, 0xffff);
	/* ST(0) = physical R6 comes first */
	assert_int_equal(img[32], 0x16);
	assert_int_equal(img[32 + 16], 0x17);
	assert_int_equal(img[32 + 32], 0x10);
	assert_int_equal(img[32 + 10], 0);
	assert_int_equal(img[160], 0x40);
	assert_int_equal(img[160 + 15 * 16], 0x4f);

	cpu_fpu_reset(&e->cpu);
	assert_int_equal(f->fcw, 0x037f);
	assert_int_equal(f->mxcsr, 0x1f80);
	assert_true(cpu_fxrstor_image(&e->cpu, img));
	cpu_fxsave_image(&e->cpu, img2);
	assert_memory_equal(img, img2, 512);
	assert_int_equal(f->st[6][0], 0x16);

	/* reserved MXCSR bits: refused, nothing loaded */
	v32 = 0x10000;
	memcpy(img + 24, &v32, 4);
	img[0] = 0x7f;
	assert_false(cpu_fxrstor_image(&e->cpu, img));
	assert_int_equal(f->fcw, 0x027f);
	env_free(e);
}

static void test_x87_basic(void **state)
{
	struct env *e = env_new();
	double d;
	int16_t w;
	int32_t i = -12345;

	memcpy(e->data + 8, &i, 4);
	assert_int_equal(env_run(e, "db e3 d9 e8 d9 eb de c1 dd 1b db 43 08 df 5b 0c d9 e8 d9 ee de d9 df e0",
				 NULL), -1);
	memcpy(&d, e->data, 8);
	assert_true(d == 1.0 + 3.14159265358979323846);
	memcpy(&w, e->data + 12, 2);
	assert_int_equal(w, -12345);
	/* 0 < 1: C0 set, C3 C2 clear; stack empty again with TOP = 0 */
	assert_int_equal(e->cpu.s.gpr[RV_RAX] & 0xffff, 0x0120);	/* PE from the rounding of 1 + pi */
	assert_int_equal(e->cpu.s.fpu.ftw, 0);
	env_free(e);
}

static void test_x87_stack_fault(void **state)
{
	struct env *e = env_new();
	double d;

	/* fninit; fstp qword [rbx] on an empty stack: masked IE|SF, the indefinite stored */
	assert_int_equal(env_run(e, "db e3 dd 1b", NULL), -1);
	memcpy(&d, e->data, 8);
	assert_true(d != d);
	assert_int_equal(e->cpu.s.fpu.fsw & 0x7f, 0x41);
	/* nine pushes: overflow on the ninth, C1 set */
	assert_int_equal(env_run(e, "db e3 d9 e8 d9 e8 d9 e8 d9 e8 d9 e8 d9 e8 d9 e8 d9 e8 d9 e8", NULL), -1);
	assert_int_equal(e->cpu.s.fpu.fsw & 0x2c7, 0x241);
	env_free(e);
}

static void test_nm_ud(void **state)
{
	struct env *e = env_new();

	e->cpu.s.cr0 |= RV_CR0_TS;
	assert_int_equal(env_run(e, "d9 e8", NULL), EXC_NM);		/* fld1 */
	assert_int_equal(env_run(e, "66 0f ef c9", NULL), EXC_NM);	/* pxor */
	assert_int_equal(env_run(e, "9b", NULL), EXC_NM);		/* fwait: MP and TS */
	e->cpu.s.cr0 &= ~RV_CR0_MP;
	assert_int_equal(env_run(e, "9b", NULL), -1);
	e->cpu.s.cr0 &= ~RV_CR0_TS;
	e->cpu.s.cr0 |= RV_CR0_EM;
	assert_int_equal(env_run(e, "d9 e8", NULL), EXC_NM);
	assert_int_equal(env_run(e, "66 0f ef c9", NULL), EXC_UD);
	assert_int_equal(env_run(e, "0f ef c9", NULL), EXC_UD);		/* MMX pxor */
	e->cpu.s.cr0 &= ~RV_CR0_EM;
	e->cpu.s.cr4 &= ~RV_CR4_OSFXSR;
	assert_int_equal(env_run(e, "66 0f ef c9", NULL), EXC_UD);
	assert_int_equal(env_run(e, "0f ef c9", NULL), -1);		/* MMX does not need OSFXSR */
	env_free(e);
}

static void test_mf(void **state)
{
	struct env *e = env_new();
	uint64_t rip;
	uint16_t cw = 0x037b;	/* ZE unmasked */

	memcpy(e->data, &cw, 2);
	/* fninit; fldcw; fld1; fldz; fdivp (pending #Z); nop; fld1 -> #MF at the fld1 */
	assert_int_equal(env_run(e, "db e3 d9 2b d9 e8 d9 ee de f9 90 d9 e8", &rip), EXC_MF);
	assert_int_equal(rip, CODE + 11);
	assert_true(e->cpu.s.fpu.fsw & 0x8084);
	/* unmasked pre-computation exception: no pop, operands intact */
	assert_int_equal(e->cpu.s.fpu.ftw, 0xc0);
	/* CR0.NE = 0: the legacy FERR# path, no #MF */
	e->cpu.s.cr0 &= ~RV_CR0_NE;
	assert_int_equal(env_run(e, "d9 e8", NULL), -1);
	env_free(e);
}

static void test_sse_basic(void **state)
{
	struct env *e = env_new();
	double in[4] = { 1.5, -2.25, 1e300, 3.0 }, out[2];
	uint8_t bytes[16] = { 0, 1, 0, 3, 0, 0, 6, 7, 8, 9, 0, 0, 0, 13, 14, 0 };

	memcpy(e->data, bytes, 16);
	memcpy(e->data + 16, in, 32);
	assert_int_equal(env_run(e, "f3 0f 6f 03 66 0f ef c9 66 0f 74 c8 66 0f d7 c1 "
				    "66 0f 28 53 10 66 0f 58 53 20 66 0f 11 53 30 f2 48 0f 2c ca", NULL), -1);
	assert_int_equal(e->cpu.s.gpr[RV_RAX], 0x9c35);
	memcpy(out, e->data + 48, 16);
	assert_true(out[0] == 1.5 + 1e300);
	assert_true(out[1] == -2.25 + 3.0);
	/* cvttsd2si of 1e300: the integer indefinite, IE flagged (masked) */
	assert_int_equal(e->cpu.s.gpr[RV_RCX], 0x8000000000000000ull);
	assert_true(e->cpu.s.fpu.mxcsr & 1);
	/* movapd from a misaligned address: #GP(0) */
	assert_int_equal(env_run(e, "66 0f 28 53 08", NULL), EXC_GP);
	env_free(e);
}

static void test_xm(void **state)
{
	struct env *e = env_new();
	uint32_t mx = 0x1f80 & ~0x200;	/* ZM clear */
	float one = 1.0f, zero = 0.0f;

	memcpy(e->data, &mx, 4);
	memcpy(e->cpu.s.fpu.xmm[0], &one, 4);
	memcpy(e->cpu.s.fpu.xmm[1], &zero, 4);
	assert_int_equal(env_run(e, "0f ae 13 f3 0f 5e c1", NULL), EXC_XM);
	assert_true(e->cpu.s.fpu.mxcsr & 4);
	assert_memory_equal(e->cpu.s.fpu.xmm[0], &one, 4);	/* destination untouched */
	e->cpu.s.cr4 &= ~RV_CR4_OSXMMEXCPT;
	assert_int_equal(env_run(e, "f3 0f 5e c1", NULL), EXC_UD);
	/* reserved MXCSR bit: #GP */
	mx = 0x10000;
	memcpy(e->data, &mx, 4);
	assert_int_equal(env_run(e, "0f ae 13", NULL), EXC_GP);
	env_free(e);
}

static void test_fxsave_insn(void **state)
{
	struct env *e = env_new();
	uint16_t fcw;

	assert_int_equal(env_run(e, "db e3 d9 e8 48 0f ae 03", NULL), -1);
	memcpy(&fcw, e->data, 2);
	assert_int_equal(fcw, 0x037f);
	assert_int_equal(e->data[4], 0x80);	/* R7 valid (TOP = 7) */
	assert_int_equal(e->data[32 + 9], 0x3f);	/* 1.0: exponent 0x3fff */
	/* misaligned: #GP */
	assert_int_equal(env_run(e, "48 0f ae 43 08", NULL), EXC_GP);
	env_free(e);
}

static void test_mmx(void **state)
{
	struct env *e = env_new();
	uint64_t a = 0x00ff80017f0000feull, b = 0x0101808101000003ull, r;

	memcpy(e->data, &a, 8);
	memcpy(e->data + 8, &b, 8);
	assert_int_equal(env_run(e, "0f 6f 03 0f dc 43 08 0f 7f 43 10", NULL), -1);
	memcpy(&r, e->data + 16, 8);
	assert_int_equal(r, 0x01ffff82800000ffull);
	/* MMX state: TOP 0, all valid, exponent all ones */
	assert_int_equal(e->cpu.s.fpu.ftw, 0xff);
	assert_int_equal((e->cpu.s.fpu.fsw >> 11) & 7, 0);
	assert_int_equal(e->cpu.s.fpu.st[0][9], 0xff);
	assert_int_equal(env_run(e, "0f 77", NULL), -1);
	assert_int_equal(e->cpu.s.fpu.ftw, 0);
	env_free(e);
}

/* FNSTENV in real mode: the 14-byte format with a 20-bit linear FPU IP split across two words. */
static void test_fnstenv_real(void **state)
{
	struct env *e = env_new();
	struct cpu_state *s = &e->cpu.s;
	static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0x36, 0x00, 0x01, 0xf4 };
	uint16_t w[7];

	cpu_reset(&e->cpu);
	s->seg[RV_CS] = (struct rv_segment){ 0x0800, 0x9b, 0xffff, 0x8000 };
	s->seg[RV_DS] = (struct rv_segment){ 0x0900, 0x93, 0xffff, 0x9000 };
	s->rip = 0;
	memcpy(e->sys + 0x8000, code, sizeof(code));
	cpu_update_mode(&e->cpu);
	assert_int_equal(cpu_run(&e->cpu, 100), CPU_EXIT_HLT);
	assert_int_equal(s->rip, sizeof(code));
	memcpy(w, e->sys + 0x9100, 14);
	assert_int_equal(w[0], 0x037f);
	assert_int_equal(w[2], 0x3fff);		/* R7 valid, the rest empty */
	assert_int_equal(w[3], 0x8002);		/* linear address of FLD1, bits 15-0 */
	assert_int_equal(w[4], 0x01e8);		/* bits 19-16 (0) and the opcode D9 E8 */
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fxsave_image),
		cmocka_unit_test(test_x87_basic),
		cmocka_unit_test(test_x87_stack_fault),
		cmocka_unit_test(test_nm_ud),
		cmocka_unit_test(test_mf),
		cmocka_unit_test(test_sse_basic),
		cmocka_unit_test(test_xm),
		cmocka_unit_test(test_fxsave_insn),
		cmocka_unit_test(test_mmx),
		cmocka_unit_test(test_fnstenv_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
