/* Private helpers shared by the system-architecture files (seg.c, except.c, exec_sys*.c). */
#ifndef RV_CPU_SYS_H
#define RV_CPU_SYS_H

#include "cpu/cpu.h"

/* What longjmp() to cpu->unwind carries: an exception, an exit to the VMM, a world switch (#VMEXIT). */
enum { UNWIND_EXC = 1, UNWIND_EXIT = 2, UNWIND_SWITCH = 3 };

/* Descriptor fields (Intel SDM vol. 3, 3.4.5; AMD APM vol. 2, 4.7). */
#define DESC_TYPE(d)   ((unsigned)((d) >> 40) & 0xf)
#define DESC_S(d)      (((d) >> 44) & 1)
#define DESC_DPL(d)    ((unsigned)((d) >> 45) & 3)
#define DESC_P(d)      (((d) >> 47) & 1)
#define DESC_L(d)      (((d) >> 53) & 1)
#define DESC_DB(d)     (((d) >> 54) & 1)
#define DESC_ACCESSED  (1ull << 40)

/* Segment type bits (with S = 1). */
#define SEGT_ACCESSED  1u
#define SEGT_WRITE     2u	/* data: writable */
#define SEGT_READ      2u	/* code: readable */
#define SEGT_EXPDOWN   4u	/* data: expand-down */
#define SEGT_CONFORM   4u	/* code: conforming */
#define SEGT_CODE      8u

/* System descriptor types (S = 0), legacy / long mode. */
enum {
	SYST_TSS16_AVL = 1, SYST_LDT = 2, SYST_TSS16_BUSY = 3, SYST_CALLGATE16 = 4,
	SYST_TASKGATE = 5, SYST_INTGATE16 = 6, SYST_TRAPGATE16 = 7,
	SYST_TSS_AVL = 9, SYST_TSS_BUSY = 11, SYST_CALLGATE = 12,
	SYST_INTGATE = 14, SYST_TRAPGATE = 15,
};

static inline bool sys_canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static inline bool desc_is_code(uint64_t d)
{
	return DESC_S(d) && (DESC_TYPE(d) & SEGT_CODE);
}

static inline bool desc_is_conforming(uint64_t d)
{
	return desc_is_code(d) && (DESC_TYPE(d) & SEGT_CONFORM);
}

static inline bool desc_is_writable_data(uint64_t d)
{
	return DESC_S(d) && !(DESC_TYPE(d) & SEGT_CODE) && (DESC_TYPE(d) & SEGT_WRITE);
}

/* Base of a 16-byte long-mode system descriptor: low quadword plus the high one. */
static inline uint64_t desc_base64(uint64_t lo, uint64_t hi)
{
	return ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24) | ((hi & 0xffffffff) << 32);
}

/* Expanded byte limit of a code/data descriptor. */
static inline uint32_t desc_limit(uint64_t d)
{
	uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)((d >> 32) & 0xf0000);
	if ((d >> 55) & 1)
		limit = (limit << 12) | 0xfff;
	return limit;
}

/* seg.c */
/* Linear address of the 8-byte descriptor for sel; raises fault_vector(sel) if outside its table. */
uint64_t sys_desc_addr(struct cpu *cpu, uint16_t sel, int fault_vector);
/* cpu_read_descriptor with the EXT bit (event delivery) in the error code of a fault. */
uint64_t sys_read_descriptor_ext(struct cpu *cpu, uint16_t sel, int fault_vector, uint32_t ext);
/* The high quadword of a 16-byte system descriptor (long mode). */
uint64_t sys_read_descriptor_hi(struct cpu *cpu, uint16_t sel, int fault_vector);
/* Set the accessed bit of a code/data descriptor in memory if it is clear. */
void sys_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t desc);
/* Load a segment register from an already validated descriptor. */
void sys_load_desc(struct cpu *cpu, int seg, uint16_t sel, uint64_t desc);
/* A null selector: the segment becomes unusable (P = 0). */
void sys_load_null(struct cpu *cpu, int seg, uint16_t sel);
/* Checks of an SS load at privilege level cpl (MOV SS, far RET/IRET/gates); returns the descriptor. */
uint64_t sys_check_ss(struct cpu *cpu, uint16_t sel, unsigned cpl, int vector);
/* After a return to an outer level: null ES/DS/FS/GS whose DPL is below the new CPL (SDM RET/IRET). */
void sys_nullify_data_segs(struct cpu *cpu);
/* The CPL-0..2 stack from the TSS (legacy: SS:ESP; 64-bit TSS: RSP). */
void sys_tss_stack(struct cpu *cpu, unsigned dpl, uint16_t *ss, uint64_t *sp, uint32_t ext);
uint64_t sys_tss_rsp64(struct cpu *cpu, unsigned n, uint32_t ext);	/* n 0-2: RSPn, 4-10: IST1-7 */

/* Stack access at an explicit SS cache/pointer (frames built before state changes). */
struct sys_stack {
	struct rv_segment ss;	/* the stack segment the frame goes to */
	uint64_t sp;		/* current stack pointer (moves down by push) */
	unsigned width;		/* stack address width: 2, 4 or 8 */
	int access;		/* ACC_WRITE or ACC_READ plus ACC_IMPLICIT_SV when needed */
	uint32_t fault_error;	/* error code of #SS on a limit violation */
};
void sys_stack_init(struct cpu *cpu, struct sys_stack *st);	/* the current SS:RSP */
/* Check that [sp - bytes, sp) (push) is within the limit, else #SS(fault_error). */
void sys_stack_check_push(struct cpu *cpu, struct sys_stack *st, unsigned bytes);
void sys_stack_push(struct cpu *cpu, struct sys_stack *st, uint64_t v, unsigned size);
/* Check that [sp, sp + bytes) is readable; pop without limit check afterwards. */
void sys_stack_check_pop(struct cpu *cpu, struct sys_stack *st, unsigned bytes);
uint64_t sys_stack_pop(struct cpu *cpu, struct sys_stack *st, unsigned size);
/* New RSP value: merge the stack pointer into RSP by the stack width. */
uint64_t sys_stack_rsp(const struct cpu *cpu, const struct sys_stack *st);

/* Set CS from a validated descriptor with the given CPL, then recompute the mode. */
void sys_set_cs(struct cpu *cpu, uint16_t sel, uint64_t desc, unsigned cpl);

/* cr.c: whether EFER may take value v now (WRMSR checks). */
bool sys_efer_ok(const struct cpu *cpu, uint64_t v);

/* exec_far.c */
void sys_iret(struct cpu *cpu, unsigned opsize);
void sys_far_ret(struct cpu *cpu, unsigned opsize, unsigned imm);

/* task.c: hardware task switches (legacy protected mode only; long mode has none). */
enum task_reason { TASK_JMP, TASK_CALL, TASK_INT, TASK_IRET };
void sys_task_switch(struct cpu *cpu, uint16_t nsel, uint64_t nd, enum task_reason why,
		     uint64_t ret_eip, bool has_error, uint32_t error, uint32_t ext);
/* Validate the available TSS `tsel` a task gate names; faults with fault_vector(tsel), #NP if absent. */
uint64_t sys_task_target(struct cpu *cpu, uint16_t tsel, int fault_vector, uint32_t ext);
/* Far JMP/CALL whose selector names a TSS descriptor or task gate (descriptor d). */
void sys_task_far(struct cpu *cpu, uint16_t sel, uint64_t d, bool call);
/* IRET with NT set: back to the previous task. */
void sys_task_return(struct cpu *cpu);

/* exec_desc.c: handlers of the descriptor-table instructions, listed in cpu_ops_sys */
void sys_op_grp6(struct cpu *cpu, const struct insn *in);	/* 0F 00 */
void sys_op_grp7(struct cpu *cpu, const struct insn *in);	/* 0F 01 */
void sys_op_lar(struct cpu *cpu, const struct insn *in);	/* 0F 02 */
void sys_op_lsl(struct cpu *cpu, const struct insn *in);	/* 0F 03 */

/* exec_sys.c */
void sys_set_zf(struct cpu *cpu, bool zf);
void sys_op_swapgs_rdtscp(struct cpu *cpu, const struct insn *in);	/* 0F 01 /7, mod 3 */

/* Control-register bits this CPU implements (cr.c, check.c). */
#define CR0_VALID (RV_CR0_PE | RV_CR0_MP | RV_CR0_EM | RV_CR0_TS | RV_CR0_ET | RV_CR0_NE | \
		   RV_CR0_WP | RV_CR0_AM | RV_CR0_NW | RV_CR0_CD | RV_CR0_PG)
#define CR4_VALID (RV_CR4_TSD | RV_CR4_DE | RV_CR4_PSE | RV_CR4_PAE | RV_CR4_MCE | RV_CR4_PGE | \
		   RV_CR4_PCE | RV_CR4_OSFXSR | RV_CR4_OSXMMEXCPT | RV_CR4_FSGSBASE)
#define EFER_VALID (RV_EFER_SCE | RV_EFER_LME | RV_EFER_LMA | RV_EFER_NXE)
#define PHYS_ADDR_BITS 40	/* CPUID 0x80000008 EAX[7:0] */

/* RFLAGS bits that are reserved: 1 must be 1; 3, 5, 15, 22-63 zero. */
#define RFLAGS_FIXED_ZERO (~0x3f7fd7ull)

#endif
