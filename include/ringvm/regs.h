/* Architectural register state of an x86-64 vCPU, as libringvm exchanges it. */
#ifndef RINGVM_REGS_H
#define RINGVM_REGS_H

#include <stdint.h>

/* General register numbers, in the encoding order of ModRM/REX. */
enum rv_gpr {
	RV_RAX, RV_RCX, RV_RDX, RV_RBX, RV_RSP, RV_RBP, RV_RSI, RV_RDI,
	RV_R8, RV_R9, RV_R10, RV_R11, RV_R12, RV_R13, RV_R14, RV_R15,
	RV_NR_GPRS
};

/* Segment register numbers: the six in encoding order, then LDTR and TR. */
enum rv_seg {
	RV_ES, RV_CS, RV_SS, RV_DS, RV_FS, RV_GS, RV_LDTR, RV_TR,
	RV_NR_SEGS
};

/*
 * A segment register with its hidden part. The attribute word is packed as
 * in the AMD VMCB save area (APM vol. 2, 15.5.1): bits 0-3 type, 4 S,
 * 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G. The limit is the expanded byte
 * limit (already scaled by G).
 */
struct rv_segment {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
};

#define RV_SEG_TYPE(a)  ((a) & 0xf)
#define RV_SEG_S        (1u << 4)
#define RV_SEG_DPL(a)   (((a) >> 5) & 3)
#define RV_SEG_P        (1u << 7)
#define RV_SEG_AVL      (1u << 8)
#define RV_SEG_L        (1u << 9)
#define RV_SEG_DB       (1u << 10)
#define RV_SEG_G        (1u << 11)

struct rv_dtable {
	uint64_t base;
	uint16_t limit;
};

/* General registers, instruction pointer and flags. */
struct rv_regs {
	uint64_t gpr[RV_NR_GPRS];
	uint64_t rip;
	uint64_t rflags;
};

/* System registers: segments, descriptor tables, control registers. */
struct rv_sregs {
	struct rv_segment seg[RV_NR_SEGS];
	struct rv_dtable gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
};

struct rv_debugregs {
	uint64_t dr[4];
	uint64_t dr6, dr7;
};

/* x87/MMX/SSE state in the FXSAVE layout (Intel SDM vol. 1, 10.5.1). */
struct rv_fpu {
	uint8_t fxsave[512];
};

/* RFLAGS bits. */
#define RV_FLAG_CF   (1u << 0)
#define RV_FLAG_FIXED1 (1u << 1)
#define RV_FLAG_PF   (1u << 2)
#define RV_FLAG_AF   (1u << 4)
#define RV_FLAG_ZF   (1u << 6)
#define RV_FLAG_SF   (1u << 7)
#define RV_FLAG_TF   (1u << 8)
#define RV_FLAG_IF   (1u << 9)
#define RV_FLAG_DF   (1u << 10)
#define RV_FLAG_OF   (1u << 11)
#define RV_FLAG_IOPL (3u << 12)
#define RV_FLAG_NT   (1u << 14)
#define RV_FLAG_RF   (1u << 16)
#define RV_FLAG_VM   (1u << 17)
#define RV_FLAG_AC   (1u << 18)
#define RV_FLAG_VIF  (1u << 19)
#define RV_FLAG_VIP  (1u << 20)
#define RV_FLAG_ID   (1u << 21)

/* Control register bits. */
#define RV_CR0_PE (1ull << 0)
#define RV_CR0_MP (1ull << 1)
#define RV_CR0_EM (1ull << 2)
#define RV_CR0_TS (1ull << 3)
#define RV_CR0_ET (1ull << 4)
#define RV_CR0_NE (1ull << 5)
#define RV_CR0_WP (1ull << 16)
#define RV_CR0_AM (1ull << 18)
#define RV_CR0_NW (1ull << 29)
#define RV_CR0_CD (1ull << 30)
#define RV_CR0_PG (1ull << 31)

#define RV_CR4_VME        (1ull << 0)
#define RV_CR4_PVI        (1ull << 1)
#define RV_CR4_TSD        (1ull << 2)
#define RV_CR4_DE         (1ull << 3)
#define RV_CR4_PSE        (1ull << 4)
#define RV_CR4_PAE        (1ull << 5)
#define RV_CR4_MCE        (1ull << 6)
#define RV_CR4_PGE        (1ull << 7)
#define RV_CR4_PCE        (1ull << 8)
#define RV_CR4_OSFXSR     (1ull << 9)
#define RV_CR4_OSXMMEXCPT (1ull << 10)
#define RV_CR4_UMIP       (1ull << 11)
#define RV_CR4_FSGSBASE   (1ull << 16)
#define RV_CR4_PCIDE      (1ull << 17)
#define RV_CR4_OSXSAVE    (1ull << 18)
#define RV_CR4_SMEP       (1ull << 20)
#define RV_CR4_SMAP       (1ull << 21)

#define RV_EFER_SCE (1ull << 0)
#define RV_EFER_LME (1ull << 8)
#define RV_EFER_LMA (1ull << 10)
#define RV_EFER_NXE (1ull << 11)
#define RV_EFER_SVME (1ull << 12)
#define RV_EFER_FFXSR (1ull << 14)

/* Model-specific register numbers that libringvm knows by name. */
#define RV_MSR_TSC              0x00000010u
#define RV_MSR_APIC_BASE        0x0000001bu
#define RV_MSR_MTRRCAP          0x000000feu
#define RV_MSR_SYSENTER_CS      0x00000174u
#define RV_MSR_SYSENTER_ESP     0x00000175u
#define RV_MSR_SYSENTER_EIP     0x00000176u
#define RV_MSR_MISC_ENABLE      0x000001a0u
#define RV_MSR_MTRR_PHYSBASE0   0x00000200u
#define RV_MSR_MTRR_FIX64K      0x00000250u
#define RV_MSR_PAT              0x00000277u
#define RV_MSR_MTRR_DEF_TYPE    0x000002ffu
#define RV_MSR_EFER             0xc0000080u
#define RV_MSR_STAR             0xc0000081u
#define RV_MSR_LSTAR            0xc0000082u
#define RV_MSR_CSTAR            0xc0000083u
#define RV_MSR_SFMASK           0xc0000084u
#define RV_MSR_FS_BASE          0xc0000100u
#define RV_MSR_GS_BASE          0xc0000101u
#define RV_MSR_KERNEL_GS_BASE   0xc0000102u
#define RV_MSR_TSC_AUX          0xc0000103u

#endif
