/*
 * System architecture of the soft CPU through the public API: IDT delivery
 * and error codes, privilege changes with TSS stacks, IRETQ, SYSCALL/SYSRET,
 * CR writes that fault, MSR round trips, real-mode IVT, triple fault, and
 * CPUID consistency (each advertised feature's instruction runs).
 * Guest code bytes were assembled with nasm from the source in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu.h"
#include "sys_guest.h"

/* mov ax, 0x1234; mov ds, ax; hlt */
static const uint8_t gp_code[] = { 0x66, 0xb8, 0x34, 0x12, 0x8e, 0xd8, 0xf4 };
static const uint8_t hlt[] = { 0xf4 };
/* push 0x23; push 0x40000; push 2; push 0x2b; push 0xa000; iretq */
static const uint8_t to_user[] = { 0x6a, 0x23, 0x68, 0x00, 0x00, 0x04, 0x00, 0x6a, 0x02, 0x6a, 0x2b,
				   0x68, 0x00, 0xa0, 0x00, 0x00, 0x48, 0xcf };
/* mov eax, 1; int 0x80; mov ebx, eax; int 0x81; hlt */
static const uint8_t user_int[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80, 0x89, 0xc3, 0xcd, 0x81, 0xf4 };
/* add eax, 1; iretq */
static const uint8_t h_add_iret[] = { 0x83, 0xc0, 0x01, 0x48, 0xcf };
/* mov r11d, 0; syscall; int 0x80 */
static const uint8_t user_syscall[] = { 0x41, 0xbb, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xcd, 0x80 };
/* mov rsi, rcx; mov rdi, r11; o64 sysret */
static const uint8_t h_syscall[] = { 0x48, 0x89, 0xce, 0x4c, 0x89, 0xdf, 0x48, 0x0f, 0x07 };
/* mov rax, cr4; bts rax, 20; mov cr4, rax; hlt */
static const uint8_t cr4_bad[] = { 0x0f, 0x20, 0xe0, 0x48, 0x0f, 0xba, 0xe8, 0x14, 0x0f, 0x22, 0xe0, 0xf4 };
/*
 * One instruction per advertised feature: CMOV, CX8, CX16, POPCNT, MOVBE,
 * LZCNT (ABM), RDTSCP, MMX, SSE, SSE2, FXSR, CLFLUSH, LAHF/SAHF in 64-bit
 * mode, FPU, TSC; then hlt.
 */
static const uint8_t features[] = {
	0xbb, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x44, 0xc3, 0x31, 0xc0, 0x31, 0xd2, 0xbf, 0x00, 0xc0, 0x00,
	0x00, 0x0f, 0xc7, 0x0f, 0x48, 0x0f, 0xc7, 0x0f, 0xf3, 0x0f, 0xb8, 0xc3, 0x0f, 0x38, 0xf0, 0x07,
	0xf3, 0x0f, 0xbd, 0xc3, 0x0f, 0x01, 0xf9, 0x0f, 0x6f, 0xc1, 0x0f, 0x77, 0x0f, 0x28, 0xc1, 0x66,
	0x0f, 0xd4, 0xc1, 0x0f, 0xae, 0x87, 0x00, 0x01, 0x00, 0x00, 0x0f, 0xae, 0x3f, 0x9f, 0x9e, 0xd9,
	0xe8, 0xdd, 0xd8, 0x0f, 0x31, 0xf4 };
/* 16-bit: int 0x21; hlt */
static const uint8_t real_int[] = { 0xcd, 0x21, 0xf4 };
/* int3; hlt */
static const uint8_t int3[] = { 0xcc, 0xf4 };

static void run_expect(struct guest *g, enum rv_exit_reason want)
{
	assert_int_equal(rv_vcpu_run(g->vcpu, &g->exit), 0);
	if (g->exit.reason != want)
		fail_msg("exit %s, want %s", rv_exit_reason_name(g->exit.reason), rv_exit_reason_name(want));
}

static void get(struct guest *g, struct rv_regs *r, struct rv_sregs *s)
{
	assert_int_equal(rv_vcpu_get_regs(g->vcpu, r), 0);
	assert_int_equal(rv_vcpu_get_sregs(g->vcpu, s), 0);
}

/* #GP(selector) from MOV DS (an LDT selector, no LDT) in 64-bit mode: 16-byte gate, aligned frame with SS:RSP. */
static void test_long_gp_error_code(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, gp_code, sizeof(gp_code));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_GP, G_HAND, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(r.gpr[RV_RSP], G_STACK - 48);
	assert_int_equal(g_get64(&g, G_STACK - 48), 0x1234);	/* error code: the selector (TI set, LDTR null) */
	assert_int_equal(g_get64(&g, G_STACK - 40), G_CODE + 4);	/* the faulting MOV */
	assert_int_equal(g_get64(&g, G_STACK - 32), SEL_CODE64);
	assert_int_equal(g_get64(&g, G_STACK - 16), G_STACK);
	assert_int_equal(g_get64(&g, G_STACK - 8), SEL_DATA);
	g_destroy(&g);
}

/* IRETQ to ring 3, INT 0x80 through a DPL-3 gate (TSS RSP0), IRETQ back, INT 0x81 (DPL 0) -> #GP(0x40a). */
static void test_ring3_int_iret(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, to_user, sizeof(to_user));
	g_code(&g, G_UCODE, user_int, sizeof(user_int));
	g_code(&g, G_HAND, h_add_iret, sizeof(h_add_iret));
	g_code(&g, G_HAND + 0x100, hlt, 1);
	g_gate64(&g, 0x80, G_HAND, 3, 0, 14);
	g_gate64(&g, 0x81, G_HAND + 0x200, 0, 0, 14);
	g_gate64(&g, EXC_GP, G_HAND + 0x100, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 0x101);
	assert_int_equal(r.gpr[RV_RAX], 2);
	assert_int_equal(r.gpr[RV_RBX], 2);
	assert_int_equal(r.gpr[RV_RSP], G_RSP0 - 48);
	assert_int_equal(g_get64(&g, G_RSP0 - 48), 0x81 * 8 + 2);	/* IDT error code, EXT = 0 */
	assert_int_equal(g_get64(&g, G_RSP0 - 40), G_UCODE + 9);
	assert_int_equal(g_get64(&g, G_RSP0 - 32), SEL_UCODE64);
	assert_int_equal(g_get64(&g, G_RSP0 - 16), G_USTACK);
	assert_int_equal(g_get64(&g, G_RSP0 - 8), SEL_UDATA);
	assert_int_equal(s.seg[RV_CS].selector, SEL_CODE64);
	assert_int_equal(s.seg[RV_SS].selector, 0);	/* null SS with RPL = new CPL */
	g_destroy(&g);
}

/* SYSCALL from ring 3 to LSTAR and SYSRETQ back (RCX/R11), then INT 0x80 stops the guest. */
static void test_syscall_sysret(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, to_user, sizeof(to_user));
	g_code(&g, G_UCODE, user_syscall, sizeof(user_syscall));
	g_code(&g, G_HAND, h_syscall, sizeof(h_syscall));
	g_code(&g, G_HAND + 0x100, hlt, 1);
	g_gate64(&g, 0x80, G_HAND + 0x100, 3, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_STAR, (0x18ull << 48) | (0x08ull << 32)), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_LSTAR, G_HAND), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_SFMASK, RV_FLAG_IF), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.gpr[RV_RSI], G_UCODE + 8);	/* RCX = the return address */
	assert_int_equal(r.gpr[RV_RDI], RV_FLAG_FIXED1);	/* R11 = RFLAGS (RF clear) */
	assert_int_equal(g_get64(&g, G_RSP0 - 32), SEL_UCODE64);	/* SYSRET went back to ring 3 */
	assert_int_equal(g_get64(&g, G_RSP0 - 8), SEL_UDATA);
	g_destroy(&g);
}

/* MOV CR4 with a reserved bit faults with #GP(0) at the MOV. */
static void test_cr4_reserved_gp(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, cr4_bad, sizeof(cr4_bad));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_GP, G_HAND, 0, 1, 14);	/* on IST1 */
	assert_int_equal(g_enter_longmode(&g), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(r.gpr[RV_RSP], G_IST1 - 48);
	assert_int_equal(g_get64(&g, G_IST1 - 48), 0);
	assert_int_equal(g_get64(&g, G_IST1 - 40), G_CODE + 8);
	assert_false(s.cr4 & RV_CR4_SMEP);
	g_destroy(&g);
}

/* MSRs through the API: round trips and refused values. */
static void test_msr_round_trips(void **state)
{
	struct guest g;
	uint64_t v;
	assert_int_equal(g_create(&g), 0);
	assert_int_equal(g_enter_longmode(&g), 0);
	static const uint32_t plain[] = { RV_MSR_STAR, RV_MSR_LSTAR, RV_MSR_CSTAR, RV_MSR_KERNEL_GS_BASE,
					  RV_MSR_FS_BASE, RV_MSR_GS_BASE, RV_MSR_SYSENTER_EIP, RV_MSR_SYSENTER_ESP };
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(rv_vcpu_set_msr(g.vcpu, plain[i], 0xffffffff81000000ull + i), 0);
		assert_int_equal(rv_vcpu_get_msr(g.vcpu, plain[i], &v), 0);
		assert_int_equal(v, 0xffffffff81000000ull + i);
	}
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_LSTAR, 0x0000800000000000ull), 0);
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_FS_BASE, 0x0000800000000000ull), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_PAT, 0x0007010600070106ull), 0);
	assert_int_equal(rv_vcpu_get_msr(g.vcpu, RV_MSR_PAT, &v), 0);
	assert_int_equal(v, 0x0007010600070106ull);
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_PAT, 0x0007010600070102ull), 0);	/* type 2 */
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_TSC_AUX, 1ull << 32), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_TSC_AUX, 7), 0);
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_EFER, RV_EFER_SVME | RV_EFER_LME), 0);
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_EFER, 0), 0);	/* LME change with PG on */
	assert_int_equal(rv_vcpu_get_msr(g.vcpu, RV_MSR_MTRRCAP, &v), 0);
	assert_int_equal(v & 0xff, 8);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_MTRR_DEF_TYPE, 0xc06), 0);
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_MTRR_DEF_TYPE, 0xc02), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_TSC, 1000000), 0);
	assert_int_equal(rv_vcpu_get_msr(g.vcpu, RV_MSR_TSC, &v), 0);
	assert_true(v >= 1000000);
	assert_int_equal(rv_vcpu_get_msr(g.vcpu, 0xc0010015, &v), 0);	/* HWCR */
	assert_int_equal(rv_vcpu_get_msr(g.vcpu, 0x12345678, &v), -ENOENT);
	g_destroy(&g);
}

/* CPUID: vendor, brand, address sizes; every advertised feature's instruction executes (no #UD). */
static void test_cpuid_consistency(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	struct cpu cpu;
	uint32_t o[4];
	char vendor[13] = { 0 }, brand[49] = { 0 };

	memset(&cpu, 0, sizeof(cpu));
	cpu_cpuid(&cpu, 0, 0, o);
	memcpy(vendor, &o[1], 4);
	memcpy(vendor + 4, &o[3], 4);
	memcpy(vendor + 8, &o[2], 4);
	assert_string_equal(vendor, "AuthenticAMD");
	for (unsigned i = 0; i < 3; i++) {
		cpu_cpuid(&cpu, 0x80000002 + i, 0, o);
		memcpy(brand + 16 * i, o, 16);
	}
	assert_string_equal(brand, "ringvm soft x86-64");
	cpu_cpuid(&cpu, 0x80000008, 0, o);
	assert_int_equal(o[0] & 0xffff, 0x3028);
	cpu_cpuid(&cpu, 1, 0, o);
	assert_int_equal((o[0] >> 8) & 0xf, 0xf);
	assert_false(o[2] & 1);		/* no SSE3 */
	assert_false(o[2] & (1u << 26));	/* no XSAVE */
	assert_false(o[2] & (1u << 28));	/* no AVX */
	assert_false(o[2] & (1u << 30));	/* no RDRAND */
	assert_false(o[3] & (1u << 9));		/* no APIC yet */
	cpu_cpuid(&cpu, 7, 0, o);
	assert_int_equal(o[1], 0);
	cpu_cpuid(&cpu, 0x80000001, 0, o);
	assert_true(o[3] & (1u << 29));		/* LM */
	assert_true(o[3] & (1u << 20));		/* NX */
	assert_false(o[2] & (1u << 2));		/* no SVM yet */

	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, features, sizeof(features));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_UD, G_HAND, 0, 0, 14);
	g_gate64(&g, EXC_GP, G_HAND, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	if (r.rip != G_CODE + sizeof(features))
		fail_msg("stopped at %#llx (fault at %#llx)", (unsigned long long)r.rip,
			 (unsigned long long)g_get64(&g, r.gpr[RV_RSP]));
	g_destroy(&g);
}

/* Real mode: INT n through the IVT at IDTR.base pushes FLAGS, CS, IP and clears IF. */
static void test_real_mode_ivt(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, 0x500, real_int, sizeof(real_int));
	g_put32(&g, 0x21 * 4, (0x0040u << 16) | 0x0200);	/* 0040:0200 = 0x600 */
	g_code(&g, 0x600, hlt, 1);
	get(&g, &r, &s);
	s.seg[RV_CS].selector = 0;
	s.seg[RV_CS].base = 0;
	s.idtr.base = 0;
	s.idtr.limit = 0x3ff;
	r.rip = 0x500;
	r.gpr[RV_RSP] = 0x7000;
	r.rflags = RV_FLAG_FIXED1 | RV_FLAG_IF;
	assert_int_equal(rv_vcpu_set_sregs(g.vcpu, &s), 0);
	assert_int_equal(rv_vcpu_set_regs(g.vcpu, &r), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(s.seg[RV_CS].selector, 0x40);
	assert_int_equal(r.rip, 0x201);
	assert_int_equal(r.gpr[RV_RSP], 0x7000 - 6);
	assert_false(r.rflags & RV_FLAG_IF);
	uint64_t frame = g_get64(&g, 0x7000 - 6);
	assert_int_equal(frame & 0xffff, 0x502);		/* IP after INT */
	assert_int_equal((frame >> 16) & 0xffff, 0);		/* CS */
	assert_true((frame >> 32) & RV_FLAG_IF);		/* FLAGS with IF */
	g_destroy(&g);
}

/* INT3 with an IDT limit of 0: #GP, then #DF, then shutdown. */
static void test_triple_fault(void **state)
{
	struct guest g;
	struct rv_sregs s;
	struct rv_regs r;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, int3, sizeof(int3));
	g_longmode_state(&s, &r);
	s.idtr.limit = 0;
	assert_int_equal(rv_vcpu_set_sregs(g.vcpu, &s), 0);
	assert_int_equal(rv_vcpu_set_regs(g.vcpu, &r), 0);
	run_expect(&g, RV_EXIT_SHUTDOWN);
	g_destroy(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_gp_error_code),
		cmocka_unit_test(test_ring3_int_iret),
		cmocka_unit_test(test_syscall_sysret),
		cmocka_unit_test(test_cr4_reserved_gp),
		cmocka_unit_test(test_msr_round_trips),
		cmocka_unit_test(test_cpuid_consistency),
		cmocka_unit_test(test_real_mode_ivt),
		cmocka_unit_test(test_triple_fault),
	};
	return cmocka_run_group_tests_name("sys", tests, NULL, NULL);
}
