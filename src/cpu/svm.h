/*
 * AMD-V offered to the guest (svm.c): the intercept checks the instruction
 * handlers and event delivery make, at the points AMD APM vol. 2, 15.7-15.14
 * name. Each is one line at its call site and costs one test of
 * cpu->svm.guest outside guest mode.
 */
#ifndef RV_CPU_SVM_H
#define RV_CPU_SVM_H

#include "cpu/cpu.h"

/* #VMEXIT codes (APM vol. 2, appendix C) */
enum {
	SVM_EXIT_CR0_READ = 0x00, SVM_EXIT_CR0_WRITE = 0x10,
	SVM_EXIT_DR0_READ = 0x20, SVM_EXIT_DR0_WRITE = 0x30,
	SVM_EXIT_EXCP_BASE = 0x40,
	SVM_EXIT_INTR = 0x60, SVM_EXIT_NMI = 0x61, SVM_EXIT_VINTR = 0x64, SVM_EXIT_CR0_SEL_WRITE = 0x65,
	SVM_EXIT_IDTR_READ = 0x66, SVM_EXIT_GDTR_READ, SVM_EXIT_LDTR_READ, SVM_EXIT_TR_READ,
	SVM_EXIT_IDTR_WRITE, SVM_EXIT_GDTR_WRITE, SVM_EXIT_LDTR_WRITE, SVM_EXIT_TR_WRITE,
	SVM_EXIT_RDTSC = 0x6e, SVM_EXIT_RDPMC = 0x6f, SVM_EXIT_PUSHF = 0x70, SVM_EXIT_POPF = 0x71,
	SVM_EXIT_CPUID = 0x72, SVM_EXIT_IRET = 0x74, SVM_EXIT_INTN = 0x75, SVM_EXIT_INVD = 0x76,
	SVM_EXIT_PAUSE = 0x77, SVM_EXIT_HLT = 0x78, SVM_EXIT_INVLPG = 0x79, SVM_EXIT_INVLPGA = 0x7a,
	SVM_EXIT_IOIO = 0x7b, SVM_EXIT_MSR = 0x7c, SVM_EXIT_TASK_SWITCH = 0x7d, SVM_EXIT_SHUTDOWN = 0x7f,
	SVM_EXIT_VMRUN = 0x80, SVM_EXIT_VMMCALL, SVM_EXIT_VMLOAD, SVM_EXIT_VMSAVE,
	SVM_EXIT_STGI, SVM_EXIT_CLGI, SVM_EXIT_SKINIT, SVM_EXIT_RDTSCP, SVM_EXIT_ICEBP, SVM_EXIT_WBINVD,
	SVM_EXIT_NPF = 0x400,
};
#define SVM_EXIT_INVALID (~0ull)

/* Intercept vector 3 (VMCB offset 0x0C) bits */
enum {
	SVM_I_INTR = 0, SVM_I_NMI = 1, SVM_I_VINTR = 4, SVM_I_CR0_SEL = 5,
	SVM_I_IDTR_READ = 6, SVM_I_GDTR_READ, SVM_I_LDTR_READ, SVM_I_TR_READ,
	SVM_I_IDTR_WRITE, SVM_I_GDTR_WRITE, SVM_I_LDTR_WRITE, SVM_I_TR_WRITE,
	SVM_I_RDTSC = 14, SVM_I_RDPMC = 15, SVM_I_PUSHF = 16, SVM_I_POPF = 17, SVM_I_CPUID = 18,
	SVM_I_IRET = 20, SVM_I_INTN = 21, SVM_I_INVD = 22, SVM_I_HLT = 24, SVM_I_INVLPG = 25, SVM_I_INVLPGA = 26, SVM_I_IOIO = 27, SVM_I_MSR = 28,
	SVM_I_PAUSE = 23, SVM_I_TASK_SWITCH = 29, SVM_I_SHUTDOWN = 31,
};

/* #VMEXIT from inside an instruction: the guest's RIP is the instruction's, next_RIP the one after it. */
_Noreturn void svm_exit_insn(struct cpu *cpu, uint64_t code, uint64_t info1, uint64_t info2);
/*
 * #VMEXIT outside an instruction (an event, a shutdown): saves the guest
 * state as it is, loads the host's, and leaves RIP at the host's; the
 * caller goes on at the next instruction boundary.
 */
void svm_vmexit(struct cpu *cpu, uint64_t code, uint64_t info1, uint64_t info2, uint64_t intinfo);

/*
 * #VMEXIT(NPF) from the nested walk (paging.c, APM 15.25.6): the
 * instruction does not retire; met while an event is delivered, the event
 * goes to EXITINTINFO.
 */
_Noreturn void svm_npf(struct cpu *cpu, uint64_t info1, uint64_t gpa);

/* Instruction intercepts of vector 3 that carry no exit information. */
static inline void svm_icpt(struct cpu *cpu, unsigned bit, uint64_t code)
{
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_misc1 >> bit & 1))
		svm_exit_insn(cpu, code, 0, 0);
}

/* Intercept vector 4 (VMCB offset 0x10): bit 7 RDTSCP, 8 ICEBP, 9 WBINVD; exit code 0x80 + bit. */
static inline void svm_icpt2(struct cpu *cpu, unsigned bit)
{
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_misc2 >> bit & 1))
		svm_exit_insn(cpu, SVM_EXIT_VMRUN + bit, 0, 0);
}

/*
 * Decode assists (APM vol. 2, 15.33): a MOV to or from CRn or DRn puts
 * its general register in EXITINFO1 bits 3:0, and a MOV CRn sets bit 63
 * as well (CLTS, LMSW and SMSW leave EXITINFO1 zero).
 */
#define SVM_DA_MOV_CR (1ull << 63)

/* MOV to/from DRn (APM vol. 2, 15.8); gpr: the instruction's register (decode assists). */
static inline void svm_icpt_dr(struct cpu *cpu, unsigned dr, bool write, unsigned gpr)
{
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_dr >> (dr + (write ? 16 : 0)) & 1))
		svm_exit_insn(cpu, (write ? SVM_EXIT_DR0_WRITE : SVM_EXIT_DR0_READ) + dr, gpr & 15, 0);
}

/* MOV to/from CRn (and CLTS, LMSW, SMSW as CR0), APM 15.9; info1 as decode assists give it. */
static inline void svm_icpt_cr(struct cpu *cpu, unsigned cr, bool write, uint64_t info1)
{
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_cr >> (cr + (write ? 16 : 0)) & 1))
		svm_exit_insn(cpu, (write ? SVM_EXIT_CR0_WRITE : SVM_EXIT_CR0_READ) + cr, info1, 0);
}

/*
 * The selective CR0 write intercept (15.9.1): a MOV to CR0 or an LMSW that
 * would change a bit other than TS and MP, when the CR0 write intercept
 * has not already taken it (check that first).
 */
static inline void svm_icpt_cr0_sel(struct cpu *cpu, uint64_t new_cr0, uint64_t info1)
{
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_misc1 >> SVM_I_CR0_SEL & 1) &&
	    ((new_cr0 ^ cpu->s.cr0) & ~(uint64_t)(RV_CR0_TS | RV_CR0_MP)))
		svm_exit_insn(cpu, SVM_EXIT_CR0_SEL_WRITE, info1, 0);
}

/* IN/OUT/INS/OUTS through the I/O permission map (APM 15.10.2). */
void svm_io_check(struct cpu *cpu, const struct insn *in, uint16_t port, unsigned size, bool is_in, bool str);
static inline void svm_icpt_io(struct cpu *cpu, const struct insn *in, uint16_t port, unsigned size,
			       bool is_in, bool str)
{
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_misc1 >> SVM_I_IOIO & 1))
		svm_io_check(cpu, in, port, size, is_in, str);
}

/* RDMSR/WRMSR through the MSR permission map (APM 15.11). */
void svm_msr_check(struct cpu *cpu, uint32_t index, bool write);
static inline void svm_icpt_msr(struct cpu *cpu, uint32_t index, bool write)
{
	if (__builtin_expect(cpu->svm.guest, 0) && (cpu->svm.icpt_misc1 >> SVM_I_MSR & 1))
		svm_msr_check(cpu, index, write);
}

/*
 * Event delivery (except.c), in guest mode: an exception whose intercept
 * bit is set, or INT n with its intercept, is a #VMEXIT instead (true:
 * done, the host's state is loaded); intinfo is the EXITINTINFO of the
 * event being delivered when this one was raised, or 0.
 */
bool svm_event_intercepted(struct cpu *cpu, int vector, int kind, bool has_error, uint32_t error,
			   uint64_t intinfo);
/* EXITINTINFO / EVENTINJ encoding of an event (APM 15.20). */
uint64_t svm_intinfo(int vector, int kind, bool has_error, uint32_t error);

/*
 * What the run loop does about pending events at an instruction boundary
 * (svm_intr.c): nothing, a #VMEXIT for one (the NMI, INTR or VINTR
 * intercept), or the delivery of an NMI, a physical interrupt (or the
 * VMM's interrupt-window exit) or the guest's virtual interrupt. The run
 * loop acts on it and the translator returns to the run loop exactly when
 * it is not EVS_NONE, so that both engines take events at the same
 * boundaries. Without SVM in use it is the plain IF / shadow / NMI test.
 */
enum cpu_event_step {
	EVS_NONE, EVS_EXIT_NMI, EVS_EXIT_INTR, EVS_EXIT_VINTR, EVS_NMI, EVS_INTR, EVS_VINTR,
};
enum cpu_event_step cpu_event_step(const struct cpu *cpu);

/*
 * Can an event, an exit or another thread's request be served now? Then
 * the run loop must run, before translated or native code goes on.
 * Events: exactly when its event step would act (cpu_event_step: IF, GIF,
 * a guest's V_INTR_MASKING and V_IRQ, the intercepts that exit for them),
 * neither later nor when it would only send the caller back. What changes
 * the answer from within the guest (IF, GIF, V_TPR, guest mode) are
 * instructions after which the callers look again; other threads' events
 * set the exit request.
 */
bool cpu_loop_needed(const struct cpu *cpu);

/* The virtual interrupt's delivery (EVS_VINTR): V_IRQ clears before the IDT is read (15.21.4). */
void svm_take_virq(struct cpu *cpu);

/* VMRUN: the VMCB's V_INTR (offset 0x60, with V_INTR_VECTOR at 0x64) and the host's IF. */
void svm_vintr_enter(struct cpu *cpu, uint64_t vintr, bool host_if);
/*
 * #VMEXIT: the VMCB's V_INTR as the guest leaves it (V_TPR, V_IRQ; the rest
 * as the VMM wrote it) and INT_STATE (the interrupt shadow and, as
 * GUEST_INTERRUPT_MASK, the guest's IF); the virtual interrupt state ends.
 */
uint64_t svm_vintr_exit(struct cpu *cpu, uint64_t vintr, uint64_t *int_state);

/* MOV from CR8 (15.21.2): V_TPR in a guest with V_INTR_MASKING, else the TPR. */
static inline uint64_t svm_cr8(const struct cpu *cpu)
{
	if (__builtin_expect(cpu->svm.guest, 0) && cpu->svm.v_intr_masking)
		return cpu->svm.v_tpr;
	return cpu->s.cr8;
}

/*
 * MOV to CR8 of a valid value (15.21.2): in a guest it sets V_TPR, and the
 * TPR too unless V_INTR_MASKING; true when the TPR is to be left alone.
 */
static inline bool svm_cr8_write(struct cpu *cpu, uint64_t v)
{
	if (__builtin_expect(!cpu->svm.guest, 1))
		return false;
	cpu->svm.v_tpr = (uint8_t)(v & 0xf);
	return cpu->svm.v_intr_masking;
}

/*
 * The task-switch intercept (APM vol. 2, chapter 15, "Task Switch
 * Intercept"): a task switch about to begin, after the checks of what
 * started it. Does not return.
 */
_Noreturn void svm_task_switch(struct cpu *cpu, uint16_t tss_sel, bool by_iret, bool by_jmp, bool has_error,
			       uint32_t error);

/* 0F 01 D8-DF (exec_desc.c) */
void svm_op(struct cpu *cpu, const struct insn *in);

#endif
