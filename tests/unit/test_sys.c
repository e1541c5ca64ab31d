/*
 * System architecture of the soft CPU through the public API: IDT delivery
 * and error codes, privilege changes with TSS stacks, IRETQ, SYSCALL/SYSRET,
 * CR writes that fault, MSR round trips, real-mode IVT, triple fault,
 * CPUID consistency (each advertised feature's instruction runs), debug
 * registers (instruction breakpoint, write watch across a filled TLB, the
 * single-step intercept, SYSCALL with TF masked, MOV SS then INT1), AMD
 * SYSRET with a non-canonical RCX, LAR/LSL/VERR/VERW, virtual-8086 mode
 * (#GP exit, INT n with IOPL 3), and PAE PDPTE checks on MOV CR3. Task
 * switches are in tests/guests/debug.asm.
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
	0xe8, 0xdd, 0xd8, 0x0f, 0x31,
	0x0f, 0xc7, 0xf0,		/* rdrand eax */
	0x0f, 0xc7, 0xf8,		/* rdseed eax */
	0xf3, 0x0f, 0xc7, 0xf8,		/* rdpid rax */
	0xf4 };
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

/*
 * RDFSBASE and co. with CR4.FSGSBASE set: 64- and 32-bit operands, then a
 * non-canonical WRFSBASE, #GP(0); without CR4.FSGSBASE, #UD.
 */
static const uint8_t fsgsbase_code[] = {
	0x0f, 0x20, 0xe0,				/* mov rax, cr4 */
	0x48, 0x0f, 0xba, 0xe8, 0x10,			/* bts rax, 16 */
	0x0f, 0x22, 0xe0,				/* mov cr4, rax */
	0x48, 0xb8, 0x9a, 0x78, 0x56, 0x34, 0x12, 0, 0, 0,	/* mov rax, 0x123456789a */
	0xf3, 0x48, 0x0f, 0xae, 0xd0,			/* wrfsbase rax */
	0xf3, 0x48, 0x0f, 0xae, 0xc3,			/* rdfsbase rbx */
	0xb9, 0xef, 0xbe, 0xad, 0xde,			/* mov ecx, 0xdeadbeef */
	0xf3, 0x0f, 0xae, 0xd9,				/* wrgsbase ecx */
	0xf3, 0x48, 0x0f, 0xae, 0xca,			/* rdgsbase rdx */
	0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0x80,		/* mov rsi, 1 << 63 */
	0xf3, 0x48, 0x0f, 0xae, 0xd6,			/* wrfsbase rsi: #GP(0) */
	0xf4,
};
static const uint8_t rdfsbase_only[] = { 0xf3, 0x48, 0x0f, 0xae, 0xc0, 0xf4 };	/* rdfsbase rax */

static void test_fsgsbase(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;

	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, fsgsbase_code, sizeof(fsgsbase_code));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_GP, G_HAND, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(r.gpr[RV_RBX], 0x123456789aull);
	assert_int_equal(r.gpr[RV_RDX], 0xdeadbeefull);
	assert_int_equal(s.seg[RV_FS].base, 0x123456789aull);
	assert_int_equal(s.seg[RV_GS].base, 0xdeadbeefull);
	assert_int_equal(g_get64(&g, G_STACK - 48), 0);
	assert_int_equal(g_get64(&g, G_STACK - 40), G_CODE + 55);
	g_destroy(&g);

	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, rdfsbase_only, sizeof(rdfsbase_only));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_UD, G_HAND, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(g_get64(&g, G_STACK - 40), G_CODE);
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
	/* DebugCtl: KVM reads it around each VMRUN; no LBR or BTF, so only 0 is written */
	assert_int_equal(rv_vcpu_get_msr(g.vcpu, 0x1d9, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, 0x1d9, 0), 0);
	assert_int_not_equal(rv_vcpu_set_msr(g.vcpu, 0x1d9, 2), 0);	/* BTF */
	assert_int_equal(rv_vcpu_get_msr(g.vcpu, 0x1de, &v), 0);	/* LastExceptionToIP */
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
	assert_true(o[2] & (1u << 30));		/* RDRAND */
	assert_true(o[3] & (1u << 9));		/* APIC (the VMM's, issue 3) */
	assert_true(o[2] & (1u << 21));		/* x2APIC: its MSRs exit to the VMM */
	assert_true(o[2] & (1u << 24));		/* TSC-deadline: the TSC follows the VM clock */
	assert_true(o[2] & (1u << 31));		/* hypervisor present */
	cpu_cpuid(&cpu, 7, 0, o);
	assert_int_equal(o[1], 1u << 0 | 1u << 18);	/* FSGSBASE, RDSEED */
	assert_int_equal(o[2], 1u << 22);	/* RDPID only */
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

/* ------------------------------------------------------------------ */
/* Debug registers, set through the API (SDM vol. 3, ch. 17).          */

/* mov [0xc000], eax; nop; hlt */
static const uint8_t store_data[] = { 0x89, 0x04, 0x25, 0x00, 0xc0, 0x00, 0x00, 0x90, 0xf4 };
/* nop; nop; inc eax; hlt */
static const uint8_t nops_inc[] = { 0x90, 0x90, 0xff, 0xc0, 0xf4 };

static void set_dregs(struct guest *g, uint64_t dr0, uint64_t dr1, uint64_t dr7)
{
	struct rv_debugregs d = { .dr = { dr0, dr1, 0, 0 }, .dr6 = 0xffff0ff0, .dr7 = dr7 };
	assert_int_equal(rv_vcpu_set_debugregs(g->vcpu, &d), 0);
}

/* An instruction breakpoint is a fault before the instruction: saved RIP = its address, DR6.B0, RF = 0 pushed. */
static void test_debug_insn_breakpoint(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	struct rv_debugregs d;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, nops_inc, sizeof(nops_inc));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_DB, G_HAND, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	set_dregs(&g, G_CODE + 2, 0, 0x401);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(r.gpr[RV_RAX], 0);			/* inc eax did not run */
	assert_int_equal(g_get64(&g, G_STACK - 40), G_CODE + 2);	/* saved RIP */
	assert_int_equal(g_get64(&g, G_STACK - 24) & RV_FLAG_RF, 0);
	assert_int_equal(rv_vcpu_get_debugregs(g.vcpu, &d), 0);
	assert_int_equal(d.dr6 & 0xf, 1);
	g_destroy(&g);
}

/* A write breakpoint traps after the store, even when the page was already in the TLB. */
static void test_debug_write_watch(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	struct rv_debugregs d;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, store_data, sizeof(store_data));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_DB, G_HAND, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	/* the store alone, one step: it fills the TLB */
	assert_int_equal(rv_vcpu_set_intercepts(g.vcpu, RV_INTERCEPT_HLT | RV_INTERCEPT_SINGLESTEP), 0);
	run_expect(&g, RV_EXIT_DEBUG);
	assert_int_equal(rv_vcpu_set_intercepts(g.vcpu, RV_INTERCEPT_HLT), 0);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_CODE + 7);
	r.rip = G_CODE;
	assert_int_equal(rv_vcpu_set_regs(g.vcpu, &r), 0);
	/* DR1: 4-byte write watch on G_DATA + 2 (aligned down to G_DATA) */
	set_dregs(&g, 0, G_DATA + 2, 0x400 | (1u << 2) | (1u << 20) | (3u << 22));
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(g_get64(&g, G_STACK - 40), G_CODE + 7);	/* trap: the next instruction */
	assert_int_equal(rv_vcpu_get_debugregs(g.vcpu, &d), 0);
	assert_int_equal(d.dr6 & 0xf, 2);
	g_destroy(&g);
}

/* The single-step intercept exits after each instruction with DR6.BS for the VMM. */
static void test_debug_singlestep_intercept(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, nops_inc, sizeof(nops_inc));
	assert_int_equal(g_enter_longmode(&g), 0);
	assert_int_equal(rv_vcpu_set_intercepts(g.vcpu, RV_INTERCEPT_HLT | RV_INTERCEPT_SINGLESTEP), 0);
	for (unsigned i = 1; i <= 3; i++) {
		run_expect(&g, RV_EXIT_DEBUG);
		assert_true(g.exit.debug.dr6 & (1u << 14));
		get(&g, &r, &s);
		assert_int_equal(r.rip, G_CODE + (i < 3 ? i : 4));
	}
	assert_int_equal(r.gpr[RV_RAX], 1);
	g_destroy(&g);
}

/* pushfq; or qword [rsp], 0x100; popfq; syscall; hlt */
static const uint8_t tf_syscall[] = { 0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x0f, 0x05, 0xf4 };
/* inc ebx; hlt */
static const uint8_t inc_ebx_hlt[] = { 0xff, 0xc3, 0xf4 };
/* mov ecx, 1; hlt */
static const uint8_t ecx1_hlt[] = { 0xb9, 0x01, 0x00, 0x00, 0x00, 0xf4 };
/* mov ss, [G_DATA]; int1; hlt */
static const uint8_t movss_int1[] = { 0x8e, 0x14, 0x25, 0x00, 0xc0, 0x00, 0x00, 0xf1, 0xf4 };

/* SYSCALL with TF set and TF in SFMASK: no single-step #DB at the entry point (Linux's single_step_syscall). */
static void test_syscall_tf_masked(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, tf_syscall, sizeof(tf_syscall));
	g_code(&g, G_HAND, inc_ebx_hlt, sizeof(inc_ebx_hlt));
	g_code(&g, G_HAND + 0x100, ecx1_hlt, sizeof(ecx1_hlt));
	g_gate64(&g, EXC_DB, G_HAND + 0x100, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_STAR, (0x08ull << 32)), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_LSTAR, G_HAND), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_SFMASK, RV_FLAG_IF | RV_FLAG_TF), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.gpr[RV_RCX], G_CODE + 12);	/* SYSCALL's return address, not the #DB handler's 1 */
	assert_int_equal(r.gpr[RV_RBX], 1);
	assert_int_equal(r.rip, G_HAND + 3);
	assert_true(r.gpr[RV_R11] & RV_FLAG_TF);
	g_destroy(&g);
}

/* MOV SS reading a watched word, then INT1: one #DB; the deferred watchpoint does not hit the handler again. */
static void test_movss_int1_one_db(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_put64(&g, G_DATA, SEL_DATA);
	g_code(&g, G_CODE, movss_int1, sizeof(movss_int1));
	g_code(&g, G_HAND, inc_ebx_hlt, sizeof(inc_ebx_hlt));
	g_gate64(&g, EXC_DB, G_HAND, 0, 1, 14);	/* IST1, as Linux's #DB */
	assert_int_equal(g_enter_longmode(&g), 0);
	/* DR0: 2-byte read/write watch on G_DATA */
	set_dregs(&g, G_DATA, 0, 0x400 | 1u | (3u << 16) | (1u << 18));
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.gpr[RV_RBX], 1);	/* the handler ran once */
	assert_int_equal(r.rip, G_HAND + 3);
	assert_int_equal(g_get64(&g, G_IST1 - 40), G_CODE + 8);	/* INT1's frame: the next instruction */
	g_destroy(&g);
}

/* AMD SYSRET does not check RCX: the non-canonical fetch faults at CPL 3 (APM vol. 3, SYSRET). */
static void test_sysret_noncanonical_amd(void **state)
{
	/* mov rcx, 0x800000000000; mov r11d, 2; o64 sysret */
	static const uint8_t code[] = { 0x48, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00,
					0x41, 0xbb, 0x02, 0x00, 0x00, 0x00, 0x48, 0x0f, 0x07 };
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, code, sizeof(code));
	g_code(&g, G_HAND, hlt, 1);
	g_gate64(&g, EXC_GP, G_HAND, 0, 0, 14);
	assert_int_equal(g_enter_longmode(&g), 0);
	assert_int_equal(rv_vcpu_set_msr(g.vcpu, RV_MSR_STAR, (0x18ull << 48) | (0x08ull << 32)), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(s.seg[RV_CS].selector, SEL_CODE64);
	assert_int_equal(g_get64(&g, G_RSP0 - 48), 0);		/* error code */
	assert_int_equal(g_get64(&g, G_RSP0 - 40), 0x800000000000ull);
	assert_int_equal(g_get64(&g, G_RSP0 - 32), SEL_UCODE64);	/* taken at CPL 3 */
	assert_int_equal(g_get64(&g, G_RSP0 - 8), SEL_UDATA);
	g_destroy(&g);
}

/* LAR, LSL, VERR, VERW on data, execute-only code and the null selector. */
static void test_lar_lsl_verr_verw(void **state)
{
	static const uint8_t code[] = {
		0xb9, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x02, 0xc1, 0x41, 0x0f, 0x94, 0xc0, 0x0f, 0x03, 0xd9,
		0x41, 0x0f, 0x94, 0xc1, 0xbe, 0x48, 0x00, 0x00, 0x00, 0x0f, 0x00, 0xe6, 0x41, 0x0f, 0x94,
		0xc2, 0x0f, 0x00, 0xee, 0x41, 0x0f, 0x94, 0xc3, 0xbf, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x00,
		0xef, 0x41, 0x0f, 0x94, 0xc4, 0x31, 0xd2, 0x41, 0xbd, 0x55, 0x55, 0x00, 0x00, 0x44, 0x0f,
		0x02, 0xea, 0x41, 0x0f, 0x94, 0xc6, 0xf4 };
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, code, sizeof(code));
	assert_int_equal(g_enter_longmode(&g), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.gpr[RV_RAX] & 0x00f0ff00, 0x00c09300);	/* LAR: attributes of data DPL0 */
	assert_int_equal(r.gpr[RV_R8] & 0xff, 1);
	assert_int_equal(r.gpr[RV_RBX], 0xffffffff);		/* LSL: byte-granular limit */
	assert_int_equal(r.gpr[RV_R9] & 0xff, 1);
	assert_int_equal(r.gpr[RV_R10] & 0xff, 0);		/* VERR execute-only code */
	assert_int_equal(r.gpr[RV_R11] & 0xff, 0);		/* VERW code */
	assert_int_equal(r.gpr[RV_R12] & 0xff, 1);		/* VERW writable data */
	assert_int_equal(r.gpr[RV_R13], 0x5555);		/* LAR null: unchanged */
	assert_int_equal(r.gpr[RV_R14] & 0xff, 0);
	g_destroy(&g);
}

/* ------------------------------------------------------------------ */
/* Legacy protected mode: virtual-8086 mode, PAE PDPTE checks.         */

/* A 32-bit protected-mode state at CPL 0, paging off, 8-byte IDT gates at G_IDT. */
static void g_pm32(struct guest *g)
{
	struct rv_sregs s;
	struct rv_regs r;
	g_longmode_state(&s, &r);
	s.seg[RV_CS] = g_seg(SEL_CODE32, 0xc9b);
	s.cr0 = RV_CR0_PE | RV_CR0_ET | RV_CR0_NE;
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	s.idtr.limit = 0x7ff;
	g_put32(g, G_TSS + 4, G_RSP0);		/* ESP0 */
	g_put32(g, G_TSS + 8, SEL_DATA);	/* SS0 */
	assert_int_equal(rv_vcpu_set_sregs(g->vcpu, &s), 0);
	assert_int_equal(rv_vcpu_set_regs(g->vcpu, &r), 0);
}

static void g_gate32(struct guest *g, unsigned v, uint32_t target, unsigned dpl)
{
	g_put64(g, G_IDT + v * 8, (target & 0xffff) | ((uint64_t)SEL_CODE32 << 16) |
		((uint64_t)(0x8e | (dpl << 5)) << 40) | ((uint64_t)(target >> 16) << 48));
}

/* push 0 (GS, FS, DS, ES, SS); push 0x7000; push EFLAGS; push 0 (CS); push 0x500; iretd */
static uint8_t to_vm86[] = { 0x6a, 0x00, 0x6a, 0x00, 0x6a, 0x00, 0x6a, 0x00, 0x6a, 0x00, 0x68, 0x00,
			     0x70, 0x00, 0x00, 0x68, 0x02, 0x00, 0x02, 0x00, 0x6a, 0x00, 0x68, 0x00,
			     0x05, 0x00, 0x00, 0xcf };
#define TO_VM86_IOPL 17	/* byte of EFLAGS bits 15:8 in to_vm86 */

/* VM86 with IOPL 0: CLI is #GP(0), delivered at CPL 0 with the VM86 segment frame. */
static void test_vm86_gp_exit(void **state)
{
	static const uint8_t v86[] = { 0xfa };	/* cli */
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	to_vm86[TO_VM86_IOPL] = 0x00;
	g_code(&g, G_CODE, to_vm86, sizeof(to_vm86));
	g_code(&g, 0x500, v86, sizeof(v86));
	g_code(&g, G_HAND, hlt, 1);
	g_gate32(&g, EXC_GP, G_HAND, 0);
	g_pm32(&g);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(s.seg[RV_CS].selector, SEL_CODE32);
	assert_false(r.rflags & RV_FLAG_VM);
	assert_int_equal(r.gpr[RV_RSP], G_RSP0 - 40);
	assert_int_equal(g_get64(&g, G_RSP0 - 40), 0x500ull << 32);	/* error 0, EIP 0x500 */
	assert_true(g_get64(&g, G_RSP0 - 32) & ((uint64_t)RV_FLAG_VM << 32));	/* CS 0, EFLAGS.VM */
	assert_int_equal(g_get64(&g, G_RSP0 - 24), 0x7000);		/* ESP, SS */
	assert_int_equal(s.seg[RV_DS].selector, 0);			/* data segments nulled */
	g_destroy(&g);
}

/* VM86 with IOPL 3: INT n goes through a DPL-3 gate to CPL 0. */
static void test_vm86_int(void **state)
{
	static const uint8_t v86[] = { 0xcd, 0x21 };	/* int 0x21 */
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	to_vm86[TO_VM86_IOPL] = 0x30;
	g_code(&g, G_CODE, to_vm86, sizeof(to_vm86));
	g_code(&g, 0x500, v86, sizeof(v86));
	g_code(&g, G_HAND, hlt, 1);
	g_gate32(&g, 0x21, G_HAND, 3);
	g_pm32(&g);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(r.gpr[RV_RSP], G_RSP0 - 36);
	assert_int_equal(g_get64(&g, G_RSP0 - 36) & 0xffffffff, 0x502);	/* EIP after INT */
	g_destroy(&g);
}

/* PAE without long mode: MOV CR3 with a reserved bit in a present PDPTE is #GP(0) (SDM 4.4.1). */
static void test_pae_pdpte_gp(void **state)
{
	/* mov eax, 0xd000; mov cr3, eax; hlt */
	static const uint8_t code[] = { 0xb8, 0x00, 0xd0, 0x00, 0x00, 0x0f, 0x22, 0xd8, 0xf4 };
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;
	assert_int_equal(g_create(&g), 0);
	g_code(&g, G_CODE, code, sizeof(code));
	g_code(&g, G_HAND, hlt, 1);
	g_gate32(&g, EXC_GP, G_HAND, 0);
	/* a valid PAE setup at 0xe000 (identity 2 MiB pages), a bad PDPT at 0xd000 */
	memset(g.ram + 0xd000, 0, 0x2000);
	g_put64(&g, 0xe000, 0xf001);
	g_put64(&g, 0xf000, 0x83);
	g_put64(&g, 0xf008, 0x200083);
	g_put64(&g, 0xd000, 0xf001 | (1u << 5));	/* reserved bit 5 */
	g_pm32(&g);
	get(&g, &r, &s);
	s.cr4 = RV_CR4_PAE;
	s.cr3 = 0xe000;
	s.cr0 |= RV_CR0_PG;
	assert_int_equal(rv_vcpu_set_sregs(g.vcpu, &s), 0);
	run_expect(&g, RV_EXIT_HLT);
	get(&g, &r, &s);
	assert_int_equal(r.rip, G_HAND + 1);
	assert_int_equal(s.cr3, 0xe000);
	assert_int_equal(g_get64(&g, G_STACK - 16), (uint64_t)(G_CODE + 5) << 32);	/* error 0, EIP at the MOV */
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
		cmocka_unit_test(test_debug_insn_breakpoint),
		cmocka_unit_test(test_debug_write_watch),
		cmocka_unit_test(test_debug_singlestep_intercept),
		cmocka_unit_test(test_sysret_noncanonical_amd),
		cmocka_unit_test(test_syscall_tf_masked),
		cmocka_unit_test(test_movss_int1_one_db),
		cmocka_unit_test(test_lar_lsl_verr_verw),
		cmocka_unit_test(test_vm86_gp_exit),
		cmocka_unit_test(test_vm86_int),
		cmocka_unit_test(test_pae_pdpte_gp),
		cmocka_unit_test(test_fsgsbase),
	};
	return cmocka_run_group_tests_name("sys", tests, NULL, NULL);
}
