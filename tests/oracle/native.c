/* Native side of the oracle: run one instruction on the host CPU with given registers, flags and memory. */
#include <cpuid.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <asm/ldt.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "oracle.h"

/*
 * The stub copied to ORACLE_CODE: save the host's callee-saved registers
 * and RSP, load RFLAGS (POPF at CPL 3 changes only the arithmetic flags,
 * DF, TF, AC, NT: we set arithmetic flags and DF) and all 16 GPRs from
 * the input block, run the instruction, store everything into the output
 * block, restore the host, CLD (the ABI wants DF clear), return. Only
 * absolute 32-bit addresses are used so the bytes run anywhere.
 */
#define NS_BASE  (ORACLE_CODE + 0x8000)
#define NS_IN    (NS_BASE + 0x000)
#define NS_OUT   (NS_BASE + 0x100)
#define NS_RSP   (NS_BASE + 0x200)
#define NS_FAR   (NS_BASE + 0x210)	/* m16:32 far pointer into compatibility mode */
#define NS_FXIN  (NS_BASE + 0x400)	/* FXSAVE images: input, output, the host's own */
#define NS_FXOUT (NS_BASE + 0x600)
#define NS_FXHOST (NS_BASE + 0x800)
_Static_assert(NS_BASE == 0x10008000, "asm below hard-codes the state block");

__asm__(
	".pushsection .rodata\n"
	".globl oracle_pro_start\n.globl oracle_pro_end\n"
	".globl oracle_epi_start\n.globl oracle_epi_end\n"
	"oracle_pro_start:\n"
	"push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
	"movq %rsp, 0x10008200\n"
	"pushq 0x10008080\n"
	"popfq\n"
	"movq 0x10008000, %rax\n"
	"movq 0x10008008, %rcx\n"
	"movq 0x10008010, %rdx\n"
	"movq 0x10008018, %rbx\n"
	"movq 0x10008028, %rbp\n"
	"movq 0x10008030, %rsi\n"
	"movq 0x10008038, %rdi\n"
	"movq 0x10008040, %r8\n"
	"movq 0x10008048, %r9\n"
	"movq 0x10008050, %r10\n"
	"movq 0x10008058, %r11\n"
	"movq 0x10008060, %r12\n"
	"movq 0x10008068, %r13\n"
	"movq 0x10008070, %r14\n"
	"movq 0x10008078, %r15\n"
	"movq 0x10008020, %rsp\n"
	"oracle_pro_end:\n"
	"oracle_epi_start:\n"
	"movq %rax, 0x10008100\n"
	"movq %rcx, 0x10008108\n"
	"movq %rdx, 0x10008110\n"
	"movq %rbx, 0x10008118\n"
	"movq %rsp, 0x10008120\n"
	"movq %rbp, 0x10008128\n"
	"movq %rsi, 0x10008130\n"
	"movq %rdi, 0x10008138\n"
	"movq %r8, 0x10008140\n"
	"movq %r9, 0x10008148\n"
	"movq %r10, 0x10008150\n"
	"movq %r11, 0x10008158\n"
	"movq %r12, 0x10008160\n"
	"movq %r13, 0x10008168\n"
	"movq %r14, 0x10008170\n"
	"movq %r15, 0x10008178\n"
	"movq 0x10008200, %rsp\n"
	"pushfq\n"
	"popq 0x10008180\n"
	"cld\n"
	"pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\n"
	"ret\n"
	"oracle_epi_end:\n"
	".popsection\n");

extern const uint8_t oracle_pro_start[], oracle_pro_end[];
extern const uint8_t oracle_epi_start[], oracle_epi_end[];

#define USER32_CS 0x23	/* Linux x86-64 __USER32_CS */
#define USER64_CS 0x33	/* Linux x86-64 __USER_CS */

static uint8_t *code_page;	/* == ORACLE_CODE */
static uint8_t *data_page;	/* == ORACLE_DATA */
static uint64_t insn_addr, insn_end;
static bool fpu_on;
static bool compat_ok;
static uint16_t compat_sel = USER32_CS;

/* Exception capture: the handler copies the faulting context and jumps back. */
static sigjmp_buf fault_jmp;
static volatile int fault_vector;
static struct oracle_regs fault_regs;
static uint64_t fault_rip;
static uint8_t fault_fx[512];

static void native_on_signal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	const greg_t *g = uc->uc_mcontext.gregs;
	uint64_t rip = (uint64_t)g[REG_RIP];

	if (rip < ORACLE_CODE || rip >= ORACLE_CODE + ORACLE_CODE_SIZE) {
		/* A fault in the harness itself: die with the default action. */
		signal(sig, SIG_DFL);
		return;
	}
	fault_regs.gpr[RAX] = (uint64_t)g[REG_RAX];
	fault_regs.gpr[RCX] = (uint64_t)g[REG_RCX];
	fault_regs.gpr[RDX] = (uint64_t)g[REG_RDX];
	fault_regs.gpr[RBX] = (uint64_t)g[REG_RBX];
	fault_regs.gpr[RSP] = (uint64_t)g[REG_RSP];
	fault_regs.gpr[RBP] = (uint64_t)g[REG_RBP];
	fault_regs.gpr[RSI] = (uint64_t)g[REG_RSI];
	fault_regs.gpr[RDI] = (uint64_t)g[REG_RDI];
	fault_regs.gpr[R8] = (uint64_t)g[REG_R8];
	fault_regs.gpr[R9] = (uint64_t)g[REG_R9];
	fault_regs.gpr[R10] = (uint64_t)g[REG_R10];
	fault_regs.gpr[R11] = (uint64_t)g[REG_R11];
	fault_regs.gpr[R12] = (uint64_t)g[REG_R12];
	fault_regs.gpr[R13] = (uint64_t)g[REG_R13];
	fault_regs.gpr[R14] = (uint64_t)g[REG_R14];
	fault_regs.gpr[R15] = (uint64_t)g[REG_R15];
	fault_regs.rflags = (uint64_t)g[REG_EFL];
	fault_rip = rip;
	if (uc->uc_mcontext.fpregs)
		memcpy(fault_fx, uc->uc_mcontext.fpregs, 512);
	fault_vector = (int)g[REG_TRAPNO];
	siglongjmp(fault_jmp, 1);
}

static int native_map(uint64_t addr, uint64_t size, int prot, uint8_t **out)
{
	void *p = mmap((void *)addr, size, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if ((uint64_t)p != addr) {	/* old kernels ignore the flag */
		munmap(p, size);
		return -EEXIST;
	}
	*out = p;
	return 0;
}

/* Probe: far jump to the 32-bit code segment `sel` and back. */
static bool native_probe_compat(uint16_t sel)
{
	static const uint8_t nop[] = { 0x90 };
	struct oracle_case c;
	struct oracle_result r;

	compat_sel = sel;
	native_load(nop, sizeof(nop), true, false);
	memset(&c, 0, sizeof(c));
	c.r.gpr[RSP] = ORACLE_STACK;
	c.r.gpr[RAX] = 0x1234;
	c.r.rflags = 2;
	native_run(&c, &r);
	compat_ok = r.vector < 0 && (uint32_t)r.r.gpr[RAX] == 0x1234;
	if (getenv("ORACLE_DEBUG"))
		fprintf(stderr, "oracle: compat probe %#x: vector %d at %#llx, eax %#llx\n", sel, r.vector,
			(unsigned long long)r.fault_rip, (unsigned long long)r.r.gpr[RAX]);
	return compat_ok;
}

/*
 * Some hosts (paravirtualised guests) refuse the GDT's 32-bit user CS;
 * a flat 32-bit code segment of our own in the LDT may still work.
 */
bool native_setup_compat(void)
{
	struct user_desc d;

	if (native_probe_compat(USER32_CS))
		return true;
	memset(&d, 0, sizeof(d));
	d.entry_number = 0;
	d.limit = 0xfffff;
	d.seg_32bit = 1;
	d.contents = 2;		/* code, non-conforming */
	d.limit_in_pages = 1;
	d.useable = 1;
	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
		return false;
	return native_probe_compat(0x7);	/* LDT entry 0, RPL 3 */
}

int native_init(void)
{
	static uint8_t altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	int err;

	err = native_map(ORACLE_CODE, ORACLE_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, &code_page);
	if (err)
		return err;
	err = native_map(ORACLE_DATA, ORACLE_DATA_SIZE, PROT_READ | PROT_WRITE, &data_page);
	if (err)
		return err;
	if (sigaltstack(&ss, NULL))
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = native_on_signal;
	/* NODEFER: we leave with siglongjmp without restoring the mask (no syscall per case). */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGFPE, &sa, NULL) ||
	    sigaction(SIGILL, &sa, NULL) || sigaction(SIGBUS, &sa, NULL) ||
	    sigaction(SIGTRAP, &sa, NULL))
		return -errno;
	/* No compatibility-mode probe here: it runs only with --compat (see README.md). */
	return 0;
}

bool native_has_compat32(void)
{
	return compat_ok;
}

bool native_has_feature(enum oracle_feature f)
{
	unsigned a, b, c, d;
	unsigned c1 = 0, d1 = 0, b7 = 0, c81 = 0;

	if (__get_cpuid(1, &a, &b, &c, &d)) {
		c1 = c;
		d1 = d;
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		b7 = b;
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		c81 = c;
	switch (f) {
	case FEAT_NONE: return true;
	case FEAT_POPCNT: return c1 & (1u << 23);
	case FEAT_LZCNT: return c81 & (1u << 5);
	case FEAT_BMI1: return b7 & (1u << 3);
	case FEAT_BMI2: return b7 & (1u << 8);
	case FEAT_MOVBE: return c1 & (1u << 22);
	case FEAT_CX16: return c1 & (1u << 13);
	case FEAT_ADX: return b7 & (1u << 19);
	case FEAT_CMOV: return d1 & (1u << 15);
	case FEAT_SSE: return d1 & (1u << 25);
	case FEAT_SSE2: return d1 & (1u << 26);
	case FEAT_SSE3: return c1 & (1u << 0);
	case FEAT_SSSE3: return c1 & (1u << 9);
	case FEAT_SSE41: return c1 & (1u << 19);
	case FEAT_SSE42: return c1 & (1u << 20);
	case FEAT_NR: break;
	}
	return false;
}

/*
 * Layout at ORACLE_CODE: prologue, [jmp far into compatibility mode],
 * the instruction, [jmp far back], epilogue.
 */
/* fxsave64/fxrstor64 [abs32] */
static uint8_t *native_fx(uint8_t *p, unsigned digit, uint64_t abs)
{
	uint32_t a = (uint32_t)abs;
	p[0] = 0x48;
	p[1] = 0x0f;
	p[2] = 0xae;
	p[3] = (uint8_t)(0x04 | digit << 3);
	p[4] = 0x25;
	memcpy(p + 5, &a, 4);
	return p + 9;
}

/*
 * Layout at ORACLE_CODE: [save host FPU, load input FPU], prologue,
 * [jmp far into compatibility mode], the instruction, [jmp far back],
 * [save output FPU, restore host FPU], epilogue.
 */
uint64_t native_load(const uint8_t *code, unsigned len, bool compat32, bool fpu)
{
	size_t pro = (size_t)(oracle_pro_end - oracle_pro_start);
	size_t epi = (size_t)(oracle_epi_end - oracle_epi_start);
	uint8_t *p = code_page;

	memset(code_page, 0xcc, 0x8000);
	fpu_on = fpu;
	if (fpu) {
		p = native_fx(p, 0, NS_FXHOST);
		p = native_fx(p, 1, NS_FXIN);
	}
	memcpy(p, oracle_pro_start, pro);
	p += pro;
	if (compat32) {
		/* jmp far [NS_FAR] (FF /5, m16:32) */
		static const uint8_t jf[] = { 0xff, 0x2c, 0x25 };
		uint32_t abs = (uint32_t)NS_FAR;
		memcpy(p, jf, 3);
		memcpy(p + 3, &abs, 4);
		p += 7;
	}
	insn_addr = ORACLE_CODE + (uint64_t)(p - code_page);
	memcpy(p, code, len);
	p += len;
	insn_end = ORACLE_CODE + (uint64_t)(p - code_page);
	if (compat32) {
		/* jmp far 0x33:back (EA ptr16:32, valid in 32-bit code) */
		uint32_t back = (uint32_t)(insn_end + 7);
		uint16_t sel = USER64_CS;
		uint32_t off = (uint32_t)insn_addr;
		uint16_t sel32 = compat_sel;
		p[0] = 0xea;
		memcpy(p + 1, &back, 4);
		memcpy(p + 5, &sel, 2);
		p += 7;
		memcpy(code_page + (NS_FAR - ORACLE_CODE), &off, 4);
		memcpy(code_page + (NS_FAR - ORACLE_CODE) + 4, &sel32, 2);
	}
	if (fpu) {
		p = native_fx(p, 0, NS_FXOUT);
		p = native_fx(p, 1, NS_FXHOST);
	}
	memcpy(p, oracle_epi_start, epi);
	__builtin___clear_cache((char *)code_page, (char *)p + epi);
	return insn_addr;
}

void native_run(const struct oracle_case *in, struct oracle_result *out)
{
	void (*stub)(void) = (void (*)(void))(uintptr_t)ORACLE_CODE;
	uint8_t *ns = code_page + (NS_BASE - ORACLE_CODE);

	memcpy(ns, &in->r, sizeof(in->r));
	if (fpu_on)
		memcpy(ns + (NS_FXIN - NS_BASE), in->fx, 512);
	memcpy(data_page, in->win, ORACLE_WIN);
	out->error = NULL;
	if (sigsetjmp(fault_jmp, 0) == 0) {
		stub();
		memcpy(&out->r, ns + 0x100, sizeof(out->r));
		out->vector = -1;
		out->fault_rip = 0;
		if (fpu_on)
			memcpy(out->fx, ns + (NS_FXOUT - NS_BASE), 512);
	} else {
		/*
		 * The kernel saved the test's FPU state in the signal frame (the
		 * handler copied it) and gave the handler a clean one: put the
		 * host's own state back.
		 */
		if (fpu_on) {
			__asm__ volatile("fxrstor64 %0" : : "m"(*(uint8_t (*)[512])(ns + (NS_FXHOST - NS_BASE))));
			memcpy(out->fx, fault_fx, 512);
		}
		out->r = fault_regs;
		out->vector = fault_vector;
		out->fault_rip = fault_rip;
	}
	memcpy(out->win, data_page, ORACLE_WIN);
}
