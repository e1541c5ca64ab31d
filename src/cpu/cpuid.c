/* CPUID: the one feature set this CPU advertises (AMD-style, K8-like family 0Fh). */
#include <string.h>

#include "cpu/sys.h"

/*
 * The feature set. Every bit here names something the soft CPU implements;
 * a bit is added only together with its instructions (tests/unit/test_sys.c
 * executes one instruction of each advertised feature). Deliberately absent:
 * VME/PVI (no virtual-8086 extensions), MCE/MCA (no machine-check banks),
 * SSE3 and later, AVX, XSAVE, HYPERVISOR. SVM only when the VMM offers it
 * (cpu->svm_offered, --cpu svm=on).
 */
#define F1_EDX ((1u << 0)  /* FPU */ | (1u << 2)  /* DE */ | (1u << 3)  /* PSE */ | \
		(1u << 4)  /* TSC */ | (1u << 5)  /* MSR */ | (1u << 6)  /* PAE */ | \
		(1u << 8)  /* CX8 */ | (1u << 9)  /* APIC */ | (1u << 11) /* SEP */ | (1u << 12) /* MTRR */ | \
		(1u << 13) /* PGE */ | (1u << 15) /* CMOV */ | (1u << 16) /* PAT */ | \
		(1u << 17) /* PSE36 */ | (1u << 19) /* CLFLUSH */ | (1u << 23) /* MMX */ | \
		(1u << 24) /* FXSR */ | (1u << 25) /* SSE */ | (1u << 26) /* SSE2 */)
#define F1_ECX ((1u << 13) /* CX16 */ | (1u << 21) /* x2APIC */ | (1u << 22) /* MOVBE */ | (1u << 23) /* POPCNT */ | \
		(1u << 24) /* TSC-deadline */ | (1u << 30) /* RDRAND */ | (1u << 31) /* hypervisor present */)
/* Leaf 7 subleaf 0 */
#define F7_EBX (1u << 0 | 1u << 18) /* FSGSBASE, RDSEED */
#define F7_ECX (1u << 22) /* RDPID */

/* AMD mirrors leaf 1 EDX bits 0-9, 12-17, 23, 24 into 0x80000001 EDX (APM vol. 3, appendix E). */
#define EXT_MIRROR_MASK 0x0183f3ffu
#define X1_EDX ((F1_EDX & EXT_MIRROR_MASK) | (1u << 11) /* SYSCALL */ | (1u << 20) /* NX */ | \
		(1u << 27) /* RDTSCP */ | (1u << 29) /* LM */)
#define X1_ECX ((1u << 0) /* LAHF/SAHF in 64-bit mode */ | (1u << 5) /* ABM: LZCNT */)

/* Family 0Fh, model 2, stepping 1 (a K8); extended family/model zero. */
#define SIGNATURE 0x00000f21u

/* 0x80000007 EDX: invariant TSC (it runs at one rate in every state, APM vol. 3, E.4.6) */
#define X7_EDX (1u << 8)

/*
 * Hypervisor leaves (0x40000000-0x400000FF are reserved for hypervisors):
 * the signature, and 0x40000010 with the TSC and local APIC timer
 * frequencies in kHz, the "generic timing" leaf other hypervisors use, so a
 * guest that reads it need not calibrate.
 */
#define HV_MAX_LEAF 0x40000010u
static const char hv_signature[12] = "RingVMRingVM";

#define MAX_BASIC_LEAF 7u
#define MAX_EXT_LEAF   0x80000008u
#define MAX_EXT_LEAF_SVM 0x8000000au	/* up to the SVM leaf when SVM is offered */

/*
 * SVM (APM vol. 3, E.4.9): revision 1, the number of ASIDs (any value
 * works with the TLB's contexts, tlb_ctx.c, which keep the most recent
 * few of them), and in EDX only the features implemented: NP (bit 0),
 * nested paging (paging.c), NRIPS (bit 3), next_RIP saved on #VMEXIT,
 * FlushByAsid (bit 6), TLB_CONTROL 3 and 7 (APM vol. 2, 15.16.1), and
 * DecodeAssists (bit 7): the registers, addresses, vectors and
 * instruction bytes of 15.33.
 */
#define SVM_REVISION 1u
#define SVM_NASID    16u
#define SVM_FEATURES (1u << 0 | 1u << 3 | 1u << 6 | 1u << 7)	/* NP, NRIPS, FlushByAsid, DecodeAssists */
#define X1_ECX_SVM   (1u << 2)

static const char vendor[12] = "AuthenticAMD";
static const char brand[48] = "ringvm soft x86-64";

static uint32_t str4(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Bits needed to number `cores` cores (APM vol. 3, E.5.1: the APIC ID's low bits are the core). */
static uint32_t core_id_bits(uint32_t cores)
{
	uint32_t bits = 0;

	while ((1u << bits) < cores)
		bits++;
	return bits;
}

/*
 * Topology: all vCPUs are the cores of one package (single-threaded), with
 * APIC IDs 0..N-1, as on a multi-core AMD part. A guest then treats them as
 * siblings sharing one TSC: Linux copies the boot CPU's loops_per_jiffy to
 * the others instead of timing each on a host that may deschedule them.
 */
void cpu_cpuid(struct cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	uint32_t a = 0, b = 0, c = 0, d = 0;
	uint32_t cores = cpu->nr_cpus ? cpu->nr_cpus : 1;
	switch (leaf) {
	case 0:
	case 0x80000000:
		a = leaf == 0 ? MAX_BASIC_LEAF : cpu->svm_offered ? MAX_EXT_LEAF_SVM : MAX_EXT_LEAF;
		b = str4(vendor);
		d = str4(vendor + 4);
		c = str4(vendor + 8);
		break;
	case 1:
		a = SIGNATURE;
		/* CLFLUSH line size 8 x 8 bytes, logical processors per package, initial APIC ID */
		b = (8u << 8) | (cores << 16) | ((cpu->apic_id & 0xff) << 24);
		c = F1_ECX;
		d = F1_EDX | (cores > 1 ? 1u << 28 : 0);	/* HTT: the count above is valid */
		break;
	case 7:
		if (subleaf == 0) {
			b = F7_EBX;
			c = F7_ECX;
		}
		break;
	case 0x80000001:
		a = SIGNATURE;
		c = X1_ECX | (cores > 1 ? 1u << 1 : 0);	/* CmpLegacy: HTT counts cores, not threads */
		if (cpu->svm_offered)
			c |= X1_ECX_SVM;
		d = X1_EDX;
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004: {
		const char *p = brand + (leaf - 0x80000002) * 16;
		a = str4(p);
		b = str4(p + 4);
		c = str4(p + 8);
		d = str4(p + 12);
		break;
	}
	case 0x80000005:
		/* L1: 64 KiB data and instruction caches, 2-way, 64-byte lines; TLB sizes nominal */
		a = 0xff08ff08u;
		b = 0xff20ff20u;
		c = (64u << 24) | (2u << 16) | (1u << 8) | 64u;
		d = c;
		break;
	case 0x40000000:
		a = HV_MAX_LEAF;
		b = str4(hv_signature);
		c = str4(hv_signature + 4);
		d = str4(hv_signature + 8);
		break;
	case 0x40000010:
		a = cpu->tsc_khz;
		b = CPU_APIC_TIMER_KHZ;
		break;
	case 0x80000007:
		d = X7_EDX;
		break;
	case 0x80000006:
		/* L2: 512 KiB, 16-way (encoding 8), 64-byte lines */
		c = (512u << 16) | (8u << 12) | (1u << 8) | 64u;
		break;
	case 0x80000008:
		a = (48u << 8) | PHYS_ADDR_BITS;	/* linear 48, physical 40 */
		/* NC = cores - 1; ApicIdCoreIdSize = bits of the APIC ID that number the core */
		c = (cores - 1) | (core_id_bits(cores) << 12);
		break;
	case 0x8000000a:
		if (cpu->svm_offered) {
			a = SVM_REVISION;
			b = SVM_NASID;
			d = SVM_FEATURES;
		}
		break;
	default:
		/* leaves 2-6 and everything unknown: zero (AMD returns zeros out of range) */
		break;
	}
	out[0] = a;
	out[1] = b;
	out[2] = c;
	out[3] = d;
}
