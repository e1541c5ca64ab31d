/*
 * Unit tests of the second integer group (src/cpu/exec_shift.c, exec_muldiv.c, exec_bcd.c,
 * exec_string.c, ...): the pure flag/result computations against the host CPU, and whole
 * instructions (strings, BT, ENTER, LOOP, CMPXCHG8B) run on the soft CPU in real mode.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "cpu/cpu.h"
#include "engine.h"
#include "cpu/exec_int2.h"

/* ------------------------------------------------------------------ */
/* Native runner: instruction bytes between a prologue that loads all  */
/* GPRs (but RSP) and RFLAGS from a context and an epilogue that saves */
/* them back.                                                          */

struct nctx {
	uint64_t gpr[16];
	uint64_t flags;
};

__asm__(".text\n"
	"nat_pro_start:\n"
	" push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	" push %rdi\n"
	" pushq 128(%rdi); popfq\n"
	" mov 0(%rdi),%rax; mov 8(%rdi),%rcx; mov 16(%rdi),%rdx; mov 24(%rdi),%rbx\n"
	" mov 40(%rdi),%rbp; mov 48(%rdi),%rsi\n"
	" mov 64(%rdi),%r8; mov 72(%rdi),%r9; mov 80(%rdi),%r10; mov 88(%rdi),%r11\n"
	" mov 96(%rdi),%r12; mov 104(%rdi),%r13; mov 112(%rdi),%r14; mov 120(%rdi),%r15\n"
	" mov 56(%rdi),%rdi\n"
	"nat_pro_end:\n"
	"nat_epi_start:\n"
	" pushfq\n"
	" push %rdi\n"
	" mov 16(%rsp),%rdi\n"
	" mov %rax,0(%rdi); mov %rcx,8(%rdi); mov %rdx,16(%rdi); mov %rbx,24(%rdi)\n"
	" mov %rbp,40(%rdi); mov %rsi,48(%rdi)\n"
	" mov %r8,64(%rdi); mov %r9,72(%rdi); mov %r10,80(%rdi); mov %r11,88(%rdi)\n"
	" mov %r12,96(%rdi); mov %r13,104(%rdi); mov %r14,112(%rdi); mov %r15,120(%rdi)\n"
	" popq 56(%rdi)\n"
	" popq 128(%rdi)\n"
	" pop %rdi\n"
	" pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx; cld\n"
	" ret\n"
	"nat_epi_end:\n");
extern const uint8_t nat_pro_start[], nat_pro_end[], nat_epi_start[], nat_epi_end[];

static uint8_t *nat_page;
static sigjmp_buf nat_jb;
static volatile sig_atomic_t nat_sig;

static void nat_handler(int sig)
{
	nat_sig = sig;
	siglongjmp(nat_jb, 1);
}

/* Returns 0, or the signal the instruction raised (SIGFPE for #DE). */
static int nat_run(const uint8_t *code, unsigned len, struct nctx *c)
{
	static struct nctx ctx;
	size_t p = (size_t)(nat_pro_end - nat_pro_start), e = (size_t)(nat_epi_end - nat_epi_start);

	struct sigaction sa;

	/* cmocka installs its own handlers around every test: take SIGFPE each time */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nat_handler;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	if (!nat_page) {
		nat_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(nat_page != MAP_FAILED);
	}
	memcpy(nat_page, nat_pro_start, p);
	memcpy(nat_page + p, code, len);
	memcpy(nat_page + p + len, nat_epi_start, e);
	ctx = *c;
	ctx.flags = (ctx.flags & CPU_ARITH_FLAGS) | 2;
	nat_sig = 0;
	if (sigsetjmp(nat_jb, 1))
		return nat_sig;
	((void (*)(struct nctx *))(void *)nat_page)(&ctx);
	*c = ctx;
	c->flags &= CPU_ARITH_FLAGS;
	return 0;
}

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A value biased to edges: 0, 1, -1, sign boundaries. */
static uint64_t rnd_edge(void)
{
	static const uint64_t e[] = { 0, 1, ~0ull, 0x7f, 0x80, 0x7fff, 0x8000, 0x7fffffff,
				      0x80000000, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xff };

	if (rnd() % 4 == 0)
		return e[rnd() % (sizeof(e) / sizeof(e[0]))];
	return rnd();
}

/* Encode <pfx> opcode modrm for a register operand in RAX (rm) and RDX (reg). */
static unsigned enc_sized(uint8_t *b, unsigned size, const uint8_t *op, unsigned oplen, uint8_t modrm)
{
	unsigned n = 0;

	if (size == 2)
		b[n++] = 0x66;
	if (size == 8)
		b[n++] = 0x48;
	memcpy(b + n, op, oplen);
	n += oplen;
	b[n++] = modrm;
	return n;
}

/* ------------------------------------------------------------------ */
/* Pure computations against the host.                                 */

static void test_shift_vs_host(void **state)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	for (int it = 0; it < 40000; it++) {
		unsigned op = (unsigned)(it & 7), size = sizes[(it >> 3) & 3];
		uint64_t v = rnd_edge(), m = size_mask(size);
		unsigned cnt = (unsigned)(rnd() & 0xff), mc = cnt & (size == 8 ? 63 : 31);
		uint8_t code[8], opb = size == 1 ? 0xd2 : 0xd3;
		unsigned n = enc_sized(code, size, &opb, 1, (uint8_t)(0xc0 | op << 3));
		struct nctx c = { 0 };
		uint32_t fl;
		uint64_t r;

		c.gpr[RV_RAX] = v;
		c.gpr[RV_RCX] = cnt;
		c.flags = rnd() & CPU_ARITH_FLAGS;
		fl = (uint32_t)c.flags;
		assert_int_equal(nat_run(code, n, &c), 0);
		r = int2_shift(op, size, v, mc, &fl);
		if ((c.gpr[RV_RAX] & m) != r || c.flags != fl)
			fail_msg("shift /%u size %u v=%#llx count %u: host %#llx fl %#llx, soft %#llx fl %#x",
				 op, size, (unsigned long long)(v & m), mc, (unsigned long long)(c.gpr[RV_RAX] & m),
				 (unsigned long long)c.flags, (unsigned long long)r, fl);
	}
}

static void test_shxd_vs_host(void **state)
{
	static const unsigned sizes[3] = { 2, 4, 8 };

	for (int it = 0; it < 30000; it++) {
		bool left = it & 1;
		unsigned size = sizes[(it >> 1) % 3];
		uint64_t v = rnd_edge(), s = rnd_edge(), m = size_mask(size);
		unsigned cnt = (unsigned)(rnd() & 0x3f), mc = cnt & (size == 8 ? 63 : 31);
		uint8_t code[8], opb[2] = { 0x0f, left ? 0xa5 : 0xad };
		unsigned n = enc_sized(code, size, opb, 2, 0xd0);	/* rm = rax, reg = rdx */
		struct nctx c = { 0 };
		uint32_t fl;
		uint64_t r;

		c.gpr[RV_RAX] = v;
		c.gpr[RV_RCX] = cnt;
		c.gpr[RV_RDX] = s;
		c.flags = rnd() & CPU_ARITH_FLAGS;
		fl = (uint32_t)c.flags;
		assert_int_equal(nat_run(code, n, &c), 0);
		r = int2_shxd(left, size, v, s, mc, &fl);
		if ((c.gpr[RV_RAX] & m) != r || c.flags != fl)
			fail_msg("sh%cd size %u d=%#llx s=%#llx count %u: host %#llx fl %#llx, soft %#llx fl %#x",
				 left ? 'l' : 'r', size, (unsigned long long)(v & m), (unsigned long long)(s & m), mc,
				 (unsigned long long)(c.gpr[RV_RAX] & m), (unsigned long long)c.flags,
				 (unsigned long long)r, fl);
	}
}

static void test_mul_vs_host(void **state)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	for (int it = 0; it < 20000; it++) {
		bool sgn = it & 1;
		unsigned size = sizes[(it >> 1) & 3];
		uint64_t a = rnd_edge(), b = rnd_edge(), m = size_mask(size), lo, hi, nlo, nhi;
		uint8_t code[8], opb = size == 1 ? 0xf6 : 0xf7;
		unsigned n = enc_sized(code, size, &opb, 1, sgn ? 0xe9 : 0xe1);	/* mul/imul rcx */
		struct nctx c = { 0 };
		uint32_t fl;

		c.gpr[RV_RAX] = a;
		c.gpr[RV_RCX] = b;
		c.flags = rnd() & CPU_ARITH_FLAGS;
		fl = (uint32_t)c.flags;
		assert_int_equal(nat_run(code, n, &c), 0);
		int2_mul(sgn, size, a, b, &lo, &hi, &fl);
		if (size == 1) {
			nlo = c.gpr[RV_RAX] & 0xff;
			nhi = (c.gpr[RV_RAX] >> 8) & 0xff;
		} else {
			nlo = c.gpr[RV_RAX] & m;
			nhi = c.gpr[RV_RDX] & m;
		}
		if (nlo != lo || nhi != hi || c.flags != fl)
			fail_msg("%smul size %u %#llx*%#llx: host %#llx:%#llx fl %#llx, soft %#llx:%#llx fl %#x",
				 sgn ? "i" : "", size, (unsigned long long)(a & m), (unsigned long long)(b & m),
				 (unsigned long long)nhi, (unsigned long long)nlo, (unsigned long long)c.flags,
				 (unsigned long long)hi, (unsigned long long)lo, fl);
	}
}

static void test_div_vs_host(void **state)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	for (int it = 0; it < 20000; it++) {
		bool sgn = it & 1;
		unsigned size = sizes[(it >> 1) & 3];
		uint64_t m = size_mask(size), q = 0, r = 0, nq, nr, lo, hi, d;
		uint8_t code[8], opb = size == 1 ? 0xf6 : 0xf7;
		unsigned n = enc_sized(code, size, &opb, 1, sgn ? 0xf9 : 0xf1);	/* div/idiv rcx */
		struct nctx c = { 0 };
		int sig;
		bool ok;

		d = rnd_edge();
		if (it % 7 == 0)
			d = 0;
		if (it % 11 == 0)
			d = ~0ull;	/* -1: INT_MIN / -1 overflows */
		lo = rnd_edge();
		hi = rnd() % 3 == 0 ? rnd_edge() : (sgn && (lo >> (size * 8 - 1) & 1) ? ~0ull : 0);
		if (it % 13 == 0) {
			lo = 1ull << (size * 8 - 1);
			hi = ~0ull;	/* the most negative dividend */
		}
		c.gpr[RV_RAX] = size == 1 ? (lo & 0xff) | (hi & 0xff) << 8 : lo;
		c.gpr[RV_RDX] = hi;
		c.gpr[RV_RCX] = d;
		c.flags = rnd() & CPU_ARITH_FLAGS;
		sig = nat_run(code, n, &c);
		if (size == 1)
			ok = int2_div(sgn, 1, hi & 0xff, lo & 0xff, d, &q, &r);
		else
			ok = int2_div(sgn, size, hi, lo, d, &q, &r);
		if (!ok) {
			if (sig != SIGFPE)
				fail_msg("%sdiv size %u %#llx:%#llx / %#llx: soft #DE, host none", sgn ? "i" : "", size,
					 (unsigned long long)hi, (unsigned long long)lo, (unsigned long long)(d & m));
			continue;
		}
		if (sig)
			fail_msg("%sdiv size %u %#llx:%#llx / %#llx: host signal %d, soft q=%#llx r=%#llx",
				 sgn ? "i" : "", size, (unsigned long long)hi, (unsigned long long)lo,
				 (unsigned long long)(d & m), sig, (unsigned long long)q, (unsigned long long)r);
		if (size == 1) {
			nq = c.gpr[RV_RAX] & 0xff;
			nr = (c.gpr[RV_RAX] >> 8) & 0xff;
		} else {
			nq = c.gpr[RV_RAX] & m;
			nr = c.gpr[RV_RDX] & m;
		}
		assert_int_equal(nq, q);
		assert_int_equal(nr, r);
	}
}

/* BCD: values from the SDM examples and hand-checked cases. */
static void test_bcd(void **state)
{
	uint32_t fl;
	uint16_t ax;

	fl = 0;	/* 0x79 + 0x35 = 0xAE -> DAA -> 0x14, CF */
	ax = int2_bcd(0x27, 0xae, 0, &fl);
	assert_int_equal(ax & 0xff, 0x14);
	assert_true(fl & F_CF);
	assert_true(fl & F_AF);
	fl = 0;	/* 0x35 - 0x47 = 0xEE, CF, AF -> DAS -> 0x88, CF */
	ax = int2_bcd(0x2f, 0xee, 0, &fl);
	fl = F_CF | F_AF;
	ax = int2_bcd(0x2f, 0xee, 0, &fl);
	assert_int_equal(ax & 0xff, 0x88);
	assert_true(fl & F_CF);
	fl = 0;	/* AAA after 8 + 5 = 0x0d: AX 0x000d -> 0x0103 */
	ax = int2_bcd(0x37, 0x000d, 0, &fl);
	assert_int_equal(ax, 0x0103);
	assert_true((fl & (F_CF | F_AF)) == (F_CF | F_AF));
	fl = 0;	/* AAS after 3 - 5 = 0xfe: AX 0x02fe -> 0x0108 */
	ax = int2_bcd(0x3f, 0x02fe, 0, &fl);
	assert_int_equal(ax, 0x0108);
	fl = 0;	/* AAM 10: AL 0x3f (63) -> AH 6, AL 3 */
	ax = int2_bcd(0xd4, 0x003f, 10, &fl);
	assert_int_equal(ax, 0x0603);
	fl = 0;	/* AAD 10: AH 6, AL 3 -> AL 63 */
	ax = int2_bcd(0xd5, 0x0603, 10, &fl);
	assert_int_equal(ax, 63);
	assert_false(fl & F_ZF);
}

/* ------------------------------------------------------------------ */
/* Whole instructions on the soft CPU in real mode (flat, 1 MiB RAM).  */

#define RM_SIZE 0x100000u
#define RM_CODE 0x1000u

struct rm {
	struct cpu *cpu;
	struct cpu_memmap map;
	uint8_t *mem;
	struct test_jit jit;
};

static int rm_setup(void **state)
{
	struct rm *t = calloc(1, sizeof(*t));

	t->cpu = test_cpu_mem(sizeof(*t->cpu));
	t->mem = calloc(1, RM_SIZE);
	t->map.count = 1;
	t->map.slot[0] = (struct cpu_mem_slot){ 0, RM_SIZE, t->mem, CPU_SLOT_RAM };
	cpu_optable_init();
	cpu_init(t->cpu, &t->map);
	*state = t;
	return test_cpu_attach(t->cpu, &t->jit);
}

static int rm_teardown(void **state)
{
	struct rm *t = *state;

	test_cpu_detach(&t->jit);
	cpu_fini(t->cpu);
	test_cpu_mem_free(t->cpu, sizeof(*t->cpu));
	free(t->mem);
	free(t);
	return 0;
}

/* Put code (followed by HLT) at 0:RM_CODE and run it to the HLT. */
static void rm_run(struct rm *t, const uint8_t *code, unsigned len)
{
	struct cpu *cpu = t->cpu;
	enum cpu_exit e;

	memcpy(t->mem + RM_CODE, code, len);
	t->mem[RM_CODE + len] = 0xf4;
	cpu->s.seg[RV_CS].selector = 0;
	cpu->s.seg[RV_CS].base = 0;
	cpu->s.rip = RM_CODE;
	cpu->halted = false;
	cpu_update_mode(cpu);
	e = cpu_run(cpu, 1000000);
	assert_int_equal(e, CPU_EXIT_HLT);
	assert_int_equal(cpu->s.rip, RM_CODE + len + 1);
}

/* Element-by-element reference of MOVS for `n` elements of `size` bytes. */
static void ref_movs(uint8_t *mem, uint32_t si, uint32_t di, unsigned n, unsigned size, bool down)
{
	for (unsigned i = 0; i < n; i++) {
		memmove(mem + di, mem + si, size);
		si += down ? -size : size;
		di += down ? -size : size;
	}
}

static void test_rep_movs_overlap(void **state)
{
	struct rm *t = *state;
	static const struct {
		uint8_t code[3];
		unsigned len, size;
		uint32_t si, di, n;
		bool down;
	} cases[] = {
		{ { 0xf3, 0xa4 }, 2, 1, 0x2000, 0x2001, 300, false },	/* replicate forward */
		{ { 0xf3, 0xa4 }, 2, 1, 0x2001, 0x2000, 300, false },	/* memmove-like */
		{ { 0xf3, 0xa5 }, 2, 2, 0x2000, 0x2003, 200, false },
		{ { 0xf3, 0xa5 }, 2, 2, 0x2400, 0x23fe, 200, true },	/* backward, replicate */
		{ { 0xf3, 0xa4 }, 2, 1, 0x2fff, 0x4001, 9000, false },	/* many pages, unaligned */
		{ { 0x66, 0xf3, 0xa5 }, 3, 4, 0x5ffe, 0x7000, 3000, false },
		{ { 0x66, 0xf3, 0xa5 }, 3, 4, 0x7ffe, 0x9003, 3000, true },
		{ { 0xf3, 0xa4 }, 2, 1, 0x3000, 0x3000, 100, false },	/* src == dst */
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct cpu *cpu = t->cpu;
		uint8_t *ref = malloc(RM_SIZE);
		uint32_t end_si, end_di;

		for (unsigned i = 0x2000; i < 0x20000; i++)
			t->mem[i] = (uint8_t)rnd();
		memcpy(ref, t->mem, RM_SIZE);
		ref_movs(ref, cases[k].si, cases[k].di, cases[k].n, cases[k].size, cases[k].down);
		cpu->s.gpr[RV_RSI] = cases[k].si;
		cpu->s.gpr[RV_RDI] = cases[k].di;
		cpu->s.gpr[RV_RCX] = cases[k].n;
		cpu_set_rflags(cpu, cases[k].down ? RV_FLAG_DF : 0);
		rm_run(t, cases[k].code, cases[k].len);
		end_si = cases[k].si + (cases[k].down ? -1 : 1) * (int32_t)(cases[k].n * cases[k].size);
		end_di = cases[k].di + (cases[k].down ? -1 : 1) * (int32_t)(cases[k].n * cases[k].size);
		assert_int_equal(cpu->s.gpr[RV_RCX], 0);
		assert_int_equal(cpu->s.gpr[RV_RSI], end_si & 0xffff);
		assert_int_equal(cpu->s.gpr[RV_RDI], end_di & 0xffff);
		if (memcmp(ref + 0x2000, t->mem + 0x2000, 0x1e000) != 0)
			fail_msg("rep movs case %u: memory differs", k);
		free(ref);
	}
}

static void test_rep_stos_and_scas(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t stosw[] = { 0xf3, 0xab };
	static const uint8_t repne_scasb[] = { 0xf2, 0xae };

	memset(t->mem + 0x2000, 0x11, 0x10000);
	cpu->s.gpr[RV_RAX] = 0xa55a;
	cpu->s.gpr[RV_RDI] = 0x2001;
	cpu->s.gpr[RV_RCX] = 5000;
	cpu_set_rflags(cpu, 0);
	rm_run(t, stosw, sizeof(stosw));
	assert_int_equal(cpu->s.gpr[RV_RCX], 0);
	assert_int_equal(cpu->s.gpr[RV_RDI], 0x2001 + 10000);
	assert_int_equal(t->mem[0x2000], 0x11);
	assert_int_equal(t->mem[0x2001], 0x5a);
	assert_int_equal(t->mem[0x2002], 0xa5);
	assert_int_equal(t->mem[0x2001 + 9998], 0x5a);
	assert_int_equal(t->mem[0x2001 + 9999], 0xa5);
	assert_int_equal(t->mem[0x2001 + 10000], 0x11);

	/* REPNE SCASB stops after the matching byte */
	t->mem[0x2000 + 700] = 0x77;
	cpu->s.gpr[RV_RAX] = 0x77;
	cpu->s.gpr[RV_RDI] = 0x2000;
	cpu->s.gpr[RV_RCX] = 2000;
	memset(t->mem + 0x2000, 0, 700);
	rm_run(t, repne_scasb, sizeof(repne_scasb));
	assert_int_equal(cpu->s.gpr[RV_RDI], 0x2000 + 701);
	assert_int_equal(cpu->s.gpr[RV_RCX], 2000 - 701);
	assert_true(cpu_get_rflags(cpu) & RV_FLAG_ZF);
}

/* BT with a negative register bit offset addresses below the operand. */
static void test_bt_mem_offset(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t bts_bx_ax[] = { 0x0f, 0xab, 0x07 };	/* bts [bx], ax */
	static const uint8_t bt_bx_eax[] = { 0x66, 0x0f, 0xa3, 0x07 };	/* bt [bx], eax */

	memset(t->mem + 0x3000, 0, 0x100);
	cpu->s.gpr[RV_RBX] = 0x3010;
	cpu->s.gpr[RV_RAX] = (uint16_t)-9;	/* word at bx-2, bit 7 */
	rm_run(t, bts_bx_ax, sizeof(bts_bx_ax));
	assert_int_equal(t->mem[0x300e], 0x80);
	assert_false(cpu_get_rflags(cpu) & RV_FLAG_CF);
	rm_run(t, bts_bx_ax, sizeof(bts_bx_ax));
	assert_true(cpu_get_rflags(cpu) & RV_FLAG_CF);

	cpu->s.gpr[RV_RAX] = 75;	/* dword at bx+8, bit 11 */
	t->mem[0x3019] = 0x08;
	rm_run(t, bt_bx_eax, sizeof(bt_bx_eax));
	assert_true(cpu_get_rflags(cpu) & RV_FLAG_CF);
}

/* ENTER 8, 3 then LEAVE; LOOP counting CX down. */
static void test_enter_leave_loop(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t enter[] = { 0xc8, 0x08, 0x00, 0x03 };
	static const uint8_t leave[] = { 0xc9 };
	static const uint8_t loop[] = { 0x40, 0xe2, 0xfd };	/* inc ax; loop -3 */

	cpu->s.seg[RV_SS].base = 0;
	cpu->s.gpr[RV_RSP] = 0x8000;
	cpu->s.gpr[RV_RBP] = 0x8100;
	t->mem[0x80fe] = 0x34;	/* [bp-2] */
	t->mem[0x80ff] = 0x12;
	t->mem[0x80fc] = 0x78;	/* [bp-4] */
	t->mem[0x80fd] = 0x56;
	rm_run(t, enter, sizeof(enter));
	assert_int_equal(cpu->s.gpr[RV_RBP], 0x7ffe);
	assert_int_equal(cpu->s.gpr[RV_RSP], 0x7ffe - 6 - 8);
	assert_int_equal(t->mem[0x7ffe] | t->mem[0x7fff] << 8, 0x8100);	/* old BP */
	assert_int_equal(t->mem[0x7ffc] | t->mem[0x7ffd] << 8, 0x1234);
	assert_int_equal(t->mem[0x7ffa] | t->mem[0x7ffb] << 8, 0x5678);
	assert_int_equal(t->mem[0x7ff8] | t->mem[0x7ff9] << 8, 0x7ffe);	/* frame pointer */
	rm_run(t, leave, sizeof(leave));
	assert_int_equal(cpu->s.gpr[RV_RBP], 0x8100);
	assert_int_equal(cpu->s.gpr[RV_RSP], 0x8000);

	cpu->s.gpr[RV_RAX] = 0;
	cpu->s.gpr[RV_RCX] = 0x12340005;
	rm_run(t, loop, sizeof(loop));
	assert_int_equal(cpu->s.gpr[RV_RAX], 5);
	assert_int_equal(cpu->s.gpr[RV_RCX], 0x12340000);	/* CX only with 16-bit addresses */
}

static void test_cmpxchg8b(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t code[] = { 0x0f, 0xc7, 0x0f };	/* cmpxchg8b [bx] */
	uint64_t v = 0x1122334455667788ull, got;

	memcpy(t->mem + 0x3000, &v, 8);
	cpu->s.gpr[RV_RBX] = 0x3000;
	cpu->s.gpr[RV_RAX] = 0x55667788;
	cpu->s.gpr[RV_RDX] = 0x11223344;
	cpu->s.gpr[RV_RCX] = 0xaaaaaaaa;
	rm_run(t, code, sizeof(code));	/* EBX = 0x3000: new value 0xaaaaaaaa00003000 */
	memcpy(&got, t->mem + 0x3000, 8);
	assert_int_equal(got, 0xaaaaaaaa00003000ull);
	assert_true(cpu_get_rflags(cpu) & RV_FLAG_ZF);
	rm_run(t, code, sizeof(code));	/* now differs: EDX:EAX loaded */
	assert_false(cpu_get_rflags(cpu) & RV_FLAG_ZF);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x00003000);
	assert_int_equal(cpu->s.gpr[RV_RDX], 0xaaaaaaaa);
}


/* REP STOSB into an MMIO hole: one exit per element, each completed through the replay buffer. */
static void test_rep_stos_mmio(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t code[] = { 0xf3, 0xaa, 0xf4 };	/* rep stosb; hlt */
	unsigned exits = 0;
	enum cpu_exit e;

	/* punch a hole at 0x8000-0x8fff */
	t->map.count = 2;
	t->map.slot[0] = (struct cpu_mem_slot){ 0, 0x8000, t->mem, CPU_SLOT_RAM };
	t->map.slot[1] = (struct cpu_mem_slot){ 0x9000, RM_SIZE - 0x9000, t->mem + 0x9000, CPU_SLOT_RAM };
	t->map.generation++;
	memcpy(t->mem + RM_CODE, code, sizeof(code));
	cpu->s.seg[RV_CS].selector = 0;
	cpu->s.seg[RV_CS].base = 0;
	cpu->s.rip = RM_CODE;
	cpu->s.gpr[RV_RAX] = 0x5a;
	cpu->s.gpr[RV_RDI] = 0x7ffe;	/* two bytes of RAM, then four into the hole */
	cpu->s.gpr[RV_RCX] = 6;
	cpu_set_rflags(cpu, 0);
	cpu_update_mode(cpu);
	for (;;) {
		e = cpu_run(cpu, 1000);
		if (e != CPU_EXIT_MMIO)
			break;
		assert_true(cpu->exit.is_write);
		assert_int_equal(cpu->exit.gpa, 0x8000 + exits);
		assert_int_equal(cpu->exit.data & 0xff, 0x5a);
		assert_int_equal(cpu->s.rip, RM_CODE);
		cpu->replay.value[cpu->replay.count++] = 0;
		exits++;
		assert_true(exits <= 4);
	}
	assert_int_equal(e, CPU_EXIT_HLT);
	assert_int_equal(exits, 4);
	assert_int_equal(t->mem[0x7ffe], 0x5a);
	assert_int_equal(t->mem[0x7fff], 0x5a);
	assert_int_equal(cpu->s.gpr[RV_RCX], 0);
	assert_int_equal(cpu->s.gpr[RV_RDI], 0x8004);
}

/* REP INSW: one port exit per element; the values land in order. */
static void test_rep_ins(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t code[] = { 0xf3, 0x6d, 0xf4 };	/* rep insw; hlt */
	unsigned exits = 0;
	enum cpu_exit e;

	memcpy(t->mem + RM_CODE, code, sizeof(code));
	cpu->s.seg[RV_CS].selector = 0;
	cpu->s.seg[RV_CS].base = 0;
	cpu->s.rip = RM_CODE;
	cpu->s.gpr[RV_RDX] = 0x1f0;
	cpu->s.gpr[RV_RDI] = 0x4000;
	cpu->s.gpr[RV_RCX] = 3;
	cpu_set_rflags(cpu, 0);
	cpu_update_mode(cpu);
	for (;;) {
		e = cpu_run(cpu, 1000);
		if (e != CPU_EXIT_IO)
			break;
		assert_false(cpu->exit.is_write);
		assert_int_equal(cpu->exit.port, 0x1f0);
		assert_int_equal(cpu->exit.size, 2);
		cpu->replay.value[cpu->replay.count++] = 0x1100 + exits;
		exits++;
		assert_true(exits <= 3);
	}
	assert_int_equal(e, CPU_EXIT_HLT);
	assert_int_equal(exits, 3);
	assert_int_equal(t->mem[0x4000] | t->mem[0x4001] << 8, 0x1100);
	assert_int_equal(t->mem[0x4002] | t->mem[0x4003] << 8, 0x1101);
	assert_int_equal(t->mem[0x4004] | t->mem[0x4005] << 8, 0x1102);
	assert_int_equal(cpu->s.gpr[RV_RDI], 0x4006);
	assert_int_equal(cpu->s.gpr[RV_RCX], 0);
}

/*
 * A fault in the middle of REP STOSB (32-bit addresses in real mode run
 * past the 64 KiB limit: #GP) leaves ECX/EDI describing the remaining
 * work and the saved IP at the instruction.
 */
static void test_rep_stos_fault_midway(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t code[] = { 0x67, 0xf3, 0xaa };	/* rep stosb with EDI/ECX */
	static const uint8_t handler[] = { 0xf4 };

	/* IVT[13] -> 0000:0600, a HLT */
	t->mem[13 * 4] = 0x00;
	t->mem[13 * 4 + 1] = 0x06;
	t->mem[13 * 4 + 2] = 0;
	t->mem[13 * 4 + 3] = 0;
	memcpy(t->mem + 0x600, handler, sizeof(handler));
	memcpy(t->mem + RM_CODE, code, sizeof(code));
	cpu->s.seg[RV_CS].selector = 0;
	cpu->s.seg[RV_CS].base = 0;
	cpu->s.seg[RV_SS].base = 0;
	cpu->s.gpr[RV_RSP] = 0x7000;
	cpu->s.rip = RM_CODE;
	cpu->s.gpr[RV_RAX] = 0x33;
	cpu->s.gpr[RV_RDI] = 0xfff0;
	cpu->s.gpr[RV_RCX] = 0x20;
	cpu_set_rflags(cpu, 0);
	cpu_update_mode(cpu);
	assert_int_equal(cpu_run(cpu, 100000), CPU_EXIT_HLT);
	assert_int_equal(cpu->s.rip, 0x601);
	assert_int_equal(cpu->s.gpr[RV_RCX], 0x10);
	assert_int_equal(cpu->s.gpr[RV_RDI], 0x10000);
	assert_int_equal(t->mem[0x7000 - 6] | t->mem[0x7000 - 5] << 8, RM_CODE);	/* saved IP */
	assert_int_equal(t->mem[0xffff], 0x33);
	assert_int_equal(t->mem[0x10000], 0);
}

/*
 * 32-bit forms the oracle skips while the soft CPUID lacks the feature bit
 * (CRC32, TZCNT, LZCNT, POPCNT) and RDRAND: run in real mode with a 66
 * prefix (32-bit operands) and compare with the host running them in 64-bit
 * mode without it; EAX, ECX, EDX and the flags are compared.
 */
static void test_feature_forms_vs_host(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const struct {
		uint8_t b[6];
		unsigned len;
		uint32_t undef;
	} forms[] = {
		{ { 0xf2, 0x0f, 0x38, 0xf1, 0xc1 }, 5, 0 },		/* crc32 eax, ecx */
		{ { 0xf2, 0x0f, 0x38, 0xf0, 0xc1 }, 5, 0 },		/* crc32 eax, cl */
		{ { 0xf3, 0x0f, 0xbc, 0xc1 }, 4, 0 },			/* tzcnt eax, ecx */
		{ { 0xf3, 0x0f, 0xbd, 0xc1 }, 4, 0 },			/* lzcnt eax, ecx */
		{ { 0xf3, 0x0f, 0xb8, 0xc1 }, 4, 0 },			/* popcnt eax, ecx */
		{ { 0x0f, 0xbc, 0xc1 }, 3, 0 },				/* bsf eax, ecx */
		{ { 0x0f, 0xbd, 0xc1 }, 3, 0 },				/* bsr eax, ecx */
	};

	for (unsigned k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		for (int it = 0; it < 300; it++) {
			struct nctx c = { 0 };
			uint8_t soft[8];
			uint64_t in_flags = rnd() & CPU_ARITH_FLAGS;
			uint32_t sf;

			c.gpr[RV_RAX] = (uint32_t)rnd_edge();
			c.gpr[RV_RCX] = (uint32_t)rnd_edge() >> (rnd() % 33 & 31);
			if (it % 10 == 0)
				c.gpr[RV_RCX] = 0;
			c.flags = in_flags;
			cpu->s.gpr[RV_RAX] = c.gpr[RV_RAX];
			cpu->s.gpr[RV_RCX] = c.gpr[RV_RCX];
			cpu_set_rflags(cpu, in_flags);
			assert_int_equal(nat_run(forms[k].b, forms[k].len, &c), 0);
			soft[0] = 0x66;
			memcpy(soft + 1, forms[k].b, forms[k].len);
			rm_run(t, soft, forms[k].len + 1);
			sf = (uint32_t)cpu_get_rflags(cpu) & CPU_ARITH_FLAGS;
			if ((uint32_t)cpu->s.gpr[RV_RAX] != (uint32_t)c.gpr[RV_RAX] || sf != c.flags)
				fail_msg("form %u ecx=%#x: host eax %#x fl %#x, soft eax %#x fl %#x", k,
					 (unsigned)c.gpr[RV_RCX], (unsigned)c.gpr[RV_RAX], (unsigned)c.flags,
					 (unsigned)cpu->s.gpr[RV_RAX], sf);
		}
	}
}

/* RDRAND: CF = 1, other arithmetic flags clear, and not the same value twice. */
static void test_rdrand(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t code[] = { 0x66, 0x0f, 0xc7, 0xf0, 0x66, 0x0f, 0xc7, 0xf3 };	/* rdrand eax; rdrand ebx */

	cpu_set_rflags(cpu, CPU_ARITH_FLAGS);
	rm_run(t, code, sizeof(code));
	assert_int_equal(cpu_get_rflags(cpu) & CPU_ARITH_FLAGS, RV_FLAG_CF);
	assert_true(cpu->s.gpr[RV_RAX] != cpu->s.gpr[RV_RBX]);
}

/* PUSHA/POPA (16- and 32-bit), SALC, DAA and AAM in real mode. */
static void test_pusha_popa_salc_bcd(void **state)
{
	struct rm *t = *state;
	struct cpu *cpu = t->cpu;
	static const uint8_t pushad[] = { 0x66, 0x60 };
	static const uint8_t popa[] = { 0x61 };
	static const uint8_t salc_daa[] = { 0xf9, 0xd6, 0xb0, 0x15, 0x04, 0x27, 0x27 };	/* stc; salc; mov al,15h; add al,27h; daa; daa */
	static const uint8_t aam0[] = { 0xd4, 0x00 };

	cpu->s.seg[RV_SS].base = 0;
	for (unsigned r = 0; r < 8; r++)
		cpu->s.gpr[r] = 0x11110000u * (r + 1) + r;
	cpu->s.gpr[RV_RSP] = 0x7000;
	rm_run(t, pushad, sizeof(pushad));
	assert_int_equal(cpu->s.gpr[RV_RSP], 0x7000 - 32);
	for (unsigned r = 0; r < 8; r++) {
		uint32_t v;

		memcpy(&v, t->mem + 0x7000 - 4 * (r + 1), 4);
		assert_int_equal(v, r == RV_RSP ? 0x7000 : 0x11110000u * (r + 1) + r);
	}
	/* POPA (16-bit) on the top 16 bytes of that frame (EBX, EDX, ECX, EAX as words): DI, SI, BP, -, BX, DX, CX, AX */
	cpu->s.gpr[RV_RSP] = 0x7000 - 16;
	rm_run(t, popa, sizeof(popa));
	assert_int_equal(cpu->s.gpr[RV_RSP], 0x7000);
	assert_int_equal(cpu->s.gpr[RV_RAX] & 0xffff, 0x1111);	/* high word of pushed EAX */
	assert_int_equal(cpu->s.gpr[RV_RDI] & 0xffff, 0x0003);	/* low word of pushed EBX */
	assert_int_equal(cpu->s.gpr[RV_RSI] & 0xffff, 0x4444);	/* high word of pushed EBX */
	assert_int_equal(cpu->s.gpr[RV_RCX] & 0xffff, 0x0000);	/* low word of pushed EAX */

	rm_run(t, salc_daa, sizeof(salc_daa));
	/* SALC gave AL = FF, then 0x15 + 0x27 = 0x3c -> DAA 0x42 -> DAA 0x42 */
	assert_int_equal(cpu->s.gpr[RV_RAX] & 0xff, 0x42);
	assert_false(cpu_get_rflags(cpu) & RV_FLAG_CF);

	/* AAM 0 raises #DE: IVT[0] -> a HLT at 0:0600, AX unchanged */
	t->mem[0] = 0x00;
	t->mem[1] = 0x06;
	t->mem[0x600] = 0xf4;
	cpu->s.gpr[RV_RAX] = 0x1234;
	memcpy(t->mem + RM_CODE, aam0, sizeof(aam0));
	cpu->s.rip = RM_CODE;
	cpu->halted = false;
	assert_int_equal(cpu_run(cpu, 1000), CPU_EXIT_HLT);
	assert_int_equal(cpu->s.rip, 0x601);
	assert_int_equal(cpu->s.gpr[RV_RAX], 0x1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shift_vs_host),
		cmocka_unit_test(test_shxd_vs_host),
		cmocka_unit_test(test_mul_vs_host),
		cmocka_unit_test(test_div_vs_host),
		cmocka_unit_test(test_bcd),
		cmocka_unit_test_setup_teardown(test_rep_movs_overlap, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_rep_stos_and_scas, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_bt_mem_offset, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_enter_leave_loop, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_cmpxchg8b, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_rep_stos_mmio, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_rep_ins, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_rep_stos_fault_midway, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_feature_forms_vs_host, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_rdrand, rm_setup, rm_teardown),
		cmocka_unit_test_setup_teardown(test_pusha_popa_salc_bcd, rm_setup, rm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
