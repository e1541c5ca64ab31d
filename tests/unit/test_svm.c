/*
 * AMD-V as the soft CPU offers it (--cpu svm=on), driven directly: CPUID
 * leaves, EFER.SVME, VM_CR (LOCK, SVMDIS) and VM_HSAVE_PA, with SVM offered
 * and not (AMD APM vol. 2, 15.4 and 15.30); the nested page walk of the
 * TLB fill (15.25) in the host's long-mode, PAE and 32-bit formats, and #NPF;
 * the event arbitration of guest mode (GIF, V_INTR_MASKING, V_IRQ, 15.21),
 * V_INTR's load and write-back, CR8 and V_TPR; the TLB kept per ASID across
 * VMRUN and #VMEXIT (15.16), with TLB_CONTROL and INVLPGA, counted in page
 * walks. VMRUN, #VMEXIT and the intercepts run in tests/guests/svm.asm,
 * svm_npt.asm and svm_asid.asm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/svm.h"

#define MSR_VM_CR       0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u

static struct cpu_memmap map;
static struct cpu *cpu;

static int setup(void **state)
{
	memset(&map, 0, sizeof(map));
	cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
	cpu_init(cpu, &map);
	return 0;
}

static int setup_svm(void **state)
{
	setup(state);
	cpu->svm_offered = true;
	return 0;
}

static int teardown(void **state)
{
	cpu_fini(cpu);
	free(cpu);
	return 0;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	cpu_cpuid(cpu, leaf, 0, r);
}

static void test_cpuid_off(void **state)
{
	uint32_t r[4];
	uint64_t v;

	cpuid(0x80000000, r);
	assert_int_equal(r[0], 0x80000008);
	cpuid(0x80000001, r);
	assert_int_equal(r[2] & (1u << 2), 0);
	cpuid(0x8000000a, r);
	assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
	/* VM_CR reads as disabled, writes are ignored; no VM_HSAVE_PA; SVME is #GP */
	assert_true(cpu_rdmsr(cpu, MSR_VM_CR, &v));
	assert_int_equal(v, 1u << 4);
	assert_true(cpu_wrmsr(cpu, MSR_VM_CR, 0));
	assert_false(cpu_rdmsr(cpu, MSR_VM_HSAVE_PA, &v));
	assert_false(cpu_wrmsr(cpu, MSR_VM_HSAVE_PA, 0x1000));
	assert_false(cpu_wrmsr(cpu, RV_MSR_EFER, RV_EFER_SVME));
}

static void test_cpuid_on(void **state)
{
	uint32_t r[4];

	cpuid(0x80000000, r);
	assert_true(r[0] >= 0x8000000a);
	cpuid(0x80000001, r);
	assert_int_equal(r[2] & (1u << 2), 1u << 2);
	cpuid(0x8000000a, r);
	assert_int_equal(r[0], 1);		/* revision */
	assert_true(r[1] >= 16);		/* ASIDs */
	assert_int_equal(r[2], 0);
	assert_int_equal(r[3], (1u << 0) | (1u << 3) | (1u << 6) | (1u << 7));	/* NP, NRIPS, FlushByAsid, DecodeAssists */
}

static void test_efer_svme(void **state)
{
	uint64_t v;

	assert_true(cpu_wrmsr(cpu, RV_MSR_EFER, RV_EFER_SVME));
	assert_true(cpu_rdmsr(cpu, RV_MSR_EFER, &v));
	assert_int_equal(v, RV_EFER_SVME);
	/* SVMDIS while SVME is set: #GP, LOCK or not */
	assert_false(cpu_wrmsr(cpu, MSR_VM_CR, 1u << 4));
	assert_true(cpu_wrmsr(cpu, RV_MSR_EFER, 0));
	assert_true(cpu_wrmsr(cpu, MSR_VM_CR, 1u << 4));
	/* SVMDIS: SVME is reserved */
	assert_false(cpu_wrmsr(cpu, RV_MSR_EFER, RV_EFER_SVME));
	assert_true(cpu_wrmsr(cpu, MSR_VM_CR, 0));
	assert_true(cpu_wrmsr(cpu, RV_MSR_EFER, RV_EFER_SVME));
	/* the state check of an entry accepts SVME */
	assert_null(cpu_check_state(&cpu->s, NULL));
}

static void test_vm_cr_lock(void **state)
{
	uint64_t v;

	assert_false(cpu_wrmsr(cpu, MSR_VM_CR, 1u << 5));	/* reserved */
	assert_true(cpu_wrmsr(cpu, MSR_VM_CR, (1u << 4) | (1u << 3)));
	assert_true(cpu_rdmsr(cpu, MSR_VM_CR, &v));
	assert_int_equal(v, (1u << 4) | (1u << 3));
	/* locked: writes to LOCK and SVMDIS are silently ignored, the others take */
	assert_true(cpu_wrmsr(cpu, MSR_VM_CR, 1u << 1));
	assert_true(cpu_rdmsr(cpu, MSR_VM_CR, &v));
	assert_int_equal(v, (1u << 4) | (1u << 3) | (1u << 1));
	assert_false(cpu_wrmsr(cpu, RV_MSR_EFER, RV_EFER_SVME));
}

static void test_hsave_pa(void **state)
{
	uint64_t v;

	assert_true(cpu_rdmsr(cpu, MSR_VM_HSAVE_PA, &v));
	assert_int_equal(v, 0);
	assert_true(cpu_wrmsr(cpu, MSR_VM_HSAVE_PA, 0x12345000));
	assert_true(cpu_rdmsr(cpu, MSR_VM_HSAVE_PA, &v));
	assert_int_equal(v, 0x12345000);
	assert_false(cpu_wrmsr(cpu, MSR_VM_HSAVE_PA, 0x12345008));	/* not 4 KiB aligned */
	assert_false(cpu_wrmsr(cpu, MSR_VM_HSAVE_PA, 1ull << cpu->maxphyaddr));
	assert_true(cpu_wrmsr(cpu, MSR_VM_HSAVE_PA, (1ull << cpu->maxphyaddr) - 4096));
}

/* ------------------------------------------------------------------ */
/* Interrupts in guest mode (APM 15.17, 15.21).                        */

/* Guest mode as VMRUN leaves it, with V_INTR as given and the host's IF. */
static void enter_vintr(uint64_t vintr, bool host_if, uint32_t icpt_misc1)
{
	cpu->svm.guest = true;
	cpu->svm.gif_clear = false;
	cpu->svm.icpt_misc1 = icpt_misc1;
	svm_vintr_enter(cpu, vintr, host_if);
}

#define V_IRQ     (1ull << 8)
#define V_IGN_TPR (1ull << 20)
#define V_MASKING (1ull << 24)
#define PRIO(p)   ((uint64_t)(p) << 16)
#define VECTOR(v) ((uint64_t)(v) << 32)

static void test_event_step_host(void **state)
{
	/* outside guest mode: IF, the shadow, NMI blocking; GIF = 0 holds all */
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->pending_irq = 0x30;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->s.rflags |= RV_FLAG_IF;
	assert_int_equal(cpu_event_step(cpu), EVS_INTR);
	cpu->shadow = 1;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->shadow = 0;
	cpu->pending_nmi = true;
	assert_int_equal(cpu_event_step(cpu), EVS_NMI);
	cpu->nmi_blocked = true;
	assert_int_equal(cpu_event_step(cpu), EVS_INTR);
	cpu->svm.gif_clear = true;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->svm.gif_clear = false;
	cpu->pending_irq = -1;
	cpu->irq_window_exit = true;
	assert_int_equal(cpu_event_step(cpu), EVS_INTR);
}

static void test_event_step_guest(void **state)
{
	/* V_INTR_MASKING: the host's IF opens the physical window, the guest's the virtual one */
	enter_vintr(V_MASKING | V_IRQ | PRIO(2) | VECTOR(0x50), true, 1u << SVM_I_INTR);
	assert_int_equal(cpu->svm.v_intr_vector, 0x50);
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);	/* guest IF = 0 */
	cpu->pending_irq = 0x30;
	assert_int_equal(cpu_event_step(cpu), EVS_EXIT_INTR);
	cpu->shadow = 1;
	assert_int_equal(cpu_event_step(cpu), EVS_EXIT_INTR);	/* a #VMEXIT is not held by the shadow */
	cpu->shadow = 0;
	cpu->svm.icpt_misc1 = 0;
	assert_int_equal(cpu_event_step(cpu), EVS_INTR);	/* into the guest, its IF = 0 */
	cpu->svm.host_if = false;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->s.rflags |= RV_FLAG_IF;
	assert_int_equal(cpu_event_step(cpu), EVS_VINTR);	/* physical held, virtual ready */
	cpu->svm.host_if = true;
	assert_int_equal(cpu_event_step(cpu), EVS_INTR);	/* physical first */
	cpu->pending_irq = -1;
	assert_int_equal(cpu_event_step(cpu), EVS_VINTR);
	cpu->shadow = 1;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->shadow = 0;
	/* V_TPR: the priority must be above it, unless V_IGN_TPR */
	cpu->svm.v_tpr = 2;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->svm.v_tpr = 1;
	assert_int_equal(cpu_event_step(cpu), EVS_VINTR);
	cpu->svm.v_tpr = 15;
	cpu->svm.v_ign_tpr = true;
	assert_int_equal(cpu_event_step(cpu), EVS_VINTR);
	/* the VINTR intercept exits instead; GIF = 0 holds it */
	cpu->svm.icpt_misc1 = 1u << SVM_I_VINTR;
	assert_int_equal(cpu_event_step(cpu), EVS_EXIT_VINTR);
	cpu->svm.gif_clear = true;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->svm.gif_clear = false;
	/* an NMI with its intercept exits first */
	cpu->pending_nmi = true;
	cpu->svm.icpt_misc1 |= 1u << SVM_I_NMI;
	assert_int_equal(cpu_event_step(cpu), EVS_EXIT_NMI);
	cpu->svm.icpt_misc1 = 0;
	assert_int_equal(cpu_event_step(cpu), EVS_NMI);

	/* without V_INTR_MASKING the guest's IF masks both */
	cpu->pending_nmi = false;
	cpu->s.rflags &= ~(uint64_t)RV_FLAG_IF;
	enter_vintr(V_IRQ | PRIO(2), false, 1u << SVM_I_INTR);
	cpu->pending_irq = 0x30;
	assert_int_equal(cpu_event_step(cpu), EVS_NONE);
	cpu->s.rflags |= RV_FLAG_IF;
	assert_int_equal(cpu_event_step(cpu), EVS_EXIT_INTR);
}

static void test_vintr_writeback(void **state)
{
	uint64_t vintr = V_MASKING | V_IRQ | PRIO(3) | 0xf5 | VECTOR(0x41) | (0xabcdull << 48), int_state;

	enter_vintr(vintr, false, 0);
	assert_int_equal(cpu->svm.v_tpr, 5);
	assert_int_equal(cpu->svm.v_intr_prio, 3);
	/* the guest's CR8: V_TPR, not the TPR; the TPR too without V_INTR_MASKING */
	cpu->s.cr8 = 2;
	assert_int_equal(svm_cr8(cpu), 5);
	cpu_write_cr(cpu, 8, 7);
	assert_int_equal(cpu->s.cr8, 2);
	assert_int_equal(svm_cr8(cpu), 7);
	/* at #VMEXIT: V_TPR and V_IRQ replace theirs, the rest stays as the VMM wrote it */
	cpu->svm.v_irq = false;
	cpu->shadow = 1;
	cpu->s.rflags |= RV_FLAG_IF;
	assert_int_equal(svm_vintr_exit(cpu, vintr, &int_state), (vintr & ~(V_IRQ | 0xf)) | 7);
	assert_int_equal(int_state, 3);		/* INTERRUPT_SHADOW, GUEST_INTERRUPT_MASK */
	assert_false(cpu->svm.v_intr_masking);
	assert_false(cpu->svm.v_irq);
	cpu->svm.guest = false;
	assert_int_equal(svm_cr8(cpu), 2);

	enter_vintr(V_IRQ | 4, false, 0);
	cpu_write_cr(cpu, 8, 9);
	assert_int_equal(cpu->s.cr8, 9);
	assert_int_equal(svm_cr8(cpu), 9);
	cpu->shadow = 0;
	cpu->s.rflags &= ~(uint64_t)RV_FLAG_IF;
	assert_int_equal(svm_vintr_exit(cpu, V_IRQ | 4, &int_state), V_IRQ | 9);
	assert_int_equal(int_state, 0);
}

/* ------------------------------------------------------------------ */
/* Nested paging: guest mode set up by hand over 8 MiB of RAM.         */

#define RAM_SIZE (8u << 20)
#define VMCB_PA  0x10000u
#define NPML4    0x100000u	/* nested tables, long-mode format */
#define NPDPT    0x101000u
#define NPD      0x102000u
#define NPT      0x103000u
#define NPD32    0x104000u	/* nested tables, 32-bit format */
#define NPT32    0x105000u

static uint8_t *ram;

/* SVM offered, RAM_SIZE bytes of RAM at 0 */
static void setup_ram(void **state)
{
	setup_svm(state);
	ram = calloc(1, RAM_SIZE);
	map.count = 1;
	map.slot[0] = (struct cpu_mem_slot){ .gpa = 0, .size = RAM_SIZE, .host = ram, .kind = CPU_SLOT_RAM };
	map.generation++;
	cpu->exc_nesting = -1;
}

static int setup_np(void **state)
{
	setup_ram(state);
	cpu->s.cr0 = RV_CR0_PE | RV_CR0_ET;
	cpu->svm.guest = true;
	cpu->svm.np = true;
	cpu->svm.vmcb = VMCB_PA;
	return 0;
}

static int teardown_np(void **state)
{
	teardown(state);
	free(ram);
	return 0;
}

static uint64_t rd64(uint64_t pa)
{
	uint64_t v;

	memcpy(&v, ram + pa, 8);
	return v;
}

static void wr64(uint64_t pa, uint64_t v)
{
	memcpy(ram + pa, &v, 8);
}

static uint32_t rd32(uint64_t pa)
{
	uint32_t v;

	memcpy(&v, ram + pa, 4);
	return v;
}

static void wr32(uint64_t pa, uint32_t v)
{
	memcpy(ram + pa, &v, 4);
}

/* A long-mode host: GPA 0x200000-0x3FFFFF through NPT, with page 0x200 -> HPA 0x500000 */
static void host_long(void)
{
	cpu->svm.host.cr4 = RV_CR4_PAE;
	cpu->svm.host.efer = RV_EFER_LME | RV_EFER_LMA | RV_EFER_SVME;
	cpu->svm.host.cr0 = RV_CR0_PE | RV_CR0_PG;
	cpu->svm.ncr3 = NPML4;
	wr64(NPML4, NPDPT | 7);
	wr64(NPDPT, NPD | 7);
	wr64(NPD + 8, NPT | 7);
	wr64(NPT, 0x500000 | 7);
	wr64(NPT + 8, 0x501000 | 5);		/* read-only */
	wr64(NPD, 0x87);			/* 0-2 MiB: a 1:1 large page */
}

/* Guest paging off: the guest-physical address goes through the nested tables alone. */
static void test_np_paging_off(void **state)
{
	host_long();
	assert_int_equal(cpu_translate(cpu, 0x200123, ACC_READ), 0x500123);
	/* A on every nested level, no D for a read */
	assert_int_equal(rd64(NPML4), NPDPT | 7 | 0x20);
	assert_int_equal(rd64(NPDPT), NPD | 7 | 0x20);
	assert_int_equal(rd64(NPD + 8), NPT | 7 | 0x20);
	assert_int_equal(rd64(NPT), 0x500000 | 7 | 0x20);
	/* a write: D on the nested leaf */
	assert_int_equal(cpu_translate(cpu, 0x200456, ACC_WRITE), 0x500456);
	assert_int_equal(rd64(NPT), 0x500000 | 7 | 0x60);
	/* a large nested page */
	assert_int_equal(cpu_translate(cpu, 0x12345, ACC_EXEC), 0x12345);
	assert_int_equal(rd64(NPD), 0x87 | 0x20);
}

/*
 * Guest 32-bit paging: each guest entry is read through the nested tables
 * (the guest PD at GPA 0x200000 is at HPA 0x500000), and the nested leaf
 * of a guest table's page gets A and D (guest-table accesses are writes).
 */
static void test_np_guest_paging(void **state)
{
	host_long();
	cpu->s.cr0 = RV_CR0_PE | RV_CR0_ET | RV_CR0_PG;
	cpu->s.cr3 = 0x200000;
	cpu->s.cr4 = RV_CR4_PSE;
	wr32(0x500000 + 4 * 2, 0x87);		/* guest 8-12 MiB -> GPA 0-4 MiB */
	assert_int_equal(cpu_translate(cpu, 0x800000 + 0x200abc, ACC_READ), 0x500abc);
	assert_int_equal(rd32(0x500008), 0x87 | 0x20);	/* guest A */
	assert_int_equal(rd64(NPT), 0x500000 | 7 | 0x60);	/* nested A and D of the PD's page */
	assert_int_equal(cpu_translate(cpu, 0x800000 + 0x1000, ACC_WRITE), 0x1000);
	assert_int_equal(rd32(0x500008), 0x87 | 0x60);	/* guest D */
}

/* A 32-bit host (CR4.PAE clear): 32-bit nested tables, 4 MiB pages with CR4.PSE. */
static void test_np_host_32bit(void **state)
{
	cpu->svm.host.cr4 = RV_CR4_PSE;
	cpu->svm.host.cr0 = RV_CR0_PE | RV_CR0_PG;
	cpu->svm.ncr3 = NPD32;
	wr32(NPD32, NPT32 | 7);
	wr32(NPT32 + 4 * 0x12, 0x600000 | 7);
	wr32(NPD32 + 4, 0x400000 | 0x87);	/* GPA 4-8 MiB: a 4 MiB page */
	assert_int_equal(cpu_translate(cpu, 0x12345, ACC_WRITE), 0x600345);
	assert_int_equal(rd32(NPT32 + 4 * 0x12), 0x600000 | 7 | 0x60);
	assert_int_equal(rd32(NPD32), NPT32 | 7 | 0x20);
	assert_int_equal(cpu_translate(cpu, 0x456789, ACC_READ), 0x456789);
}

/* The guest's paging registers for npf_case (each #VMEXIT loads the host's). */
static uint64_t g_cr0 = RV_CR0_PE | RV_CR0_ET, g_cr3;

static void enter_guest(void)
{
	cpu->svm.guest = true;
	cpu->svm.np = true;
	cpu->s.cr0 = g_cr0;
	cpu->s.cr3 = g_cr3;
	cpu->s.cr4 = RV_CR4_PSE;
	cpu->s.efer = RV_EFER_SVME;
}

/* A legacy PAE host: PDPTEs at nCR3 (no rights, RW/US reserved), then a PD and a PT. */
static void test_np_host_pae(void **state)
{
	cpu->svm.host.cr4 = RV_CR4_PAE;
	cpu->svm.host.cr0 = RV_CR0_PE | RV_CR0_PG;
	cpu->svm.ncr3 = 0x106020;		/* 32-byte aligned */
	wr64(0x106020, 0x107000 | 1);
	wr64(0x107000, 0x108000 | 7);
	wr64(0x108000 + 8 * 5, 0x700000 | 7);
	assert_int_equal(cpu_translate(cpu, 0x5123, ACC_READ), 0x700123);
	assert_int_equal(rd64(0x107000), 0x108000 | 7 | 0x20);
	assert_int_equal(rd64(0x108000 + 8 * 5), 0x700000 | 7 | 0x20);
}

/* A nested fault: #VMEXIT(NPF) with the error code and the address, through a world switch. */
static void npf_case(uint64_t lin, int acc, uint64_t info1, uint64_t info2)
{
	jmp_buf jb;
	volatile int r;

	enter_guest();
	cpu->unwind = &jb;
	r = setjmp(jb);
	if (r == 0) {
		cpu_translate(cpu, lin, acc);
		fail_msg("no #NPF for %#llx", (unsigned long long)lin);
	}
	cpu->unwind = NULL;
	if (r != 3)
		fail_msg("unwind %d, vector %d error %#x, at %#llx", r, cpu->exc_vector, cpu->exc_error,
			 (unsigned long long)lin);			/* UNWIND_SWITCH */
	assert_false(cpu->svm.guest);
	assert_false(cpu->svm.np);
	assert_int_equal(rd64(VMCB_PA + 0x70), 0x400);
	assert_int_equal(rd64(VMCB_PA + 0x78), info1);
	assert_int_equal(rd64(VMCB_PA + 0x80), info2);
	assert_int_equal(rd64(VMCB_PA + 0x88), 0);
}

static void test_np_faults(void **state)
{
	host_long();
	/* not present, read: U | final address */
	npf_case(0x202010, ACC_READ, (1ull << 32) | 4, 0x202010);
	/* read-only, write: P | RW | U */
	npf_case(0x201008, ACC_WRITE, (1ull << 32) | 7, 0x201008);
	/* the read of a read-only page is fine */
	enter_guest();
	assert_int_equal(cpu_translate(cpu, 0x201008, ACC_READ), 0x501008);
	/* a reserved bit (PS in a PML4E): P | RSV | U */
	wr64(NPML4, NPDPT | 7 | 0x80);
	npf_case(0x1000, ACC_READ, (1ull << 32) | 0xd, 0x1000);
	wr64(NPML4, NPDPT | 7);
	/* no U bit in a nested entry: every nested access is a user access */
	wr64(NPD, 0x83);
	npf_case(0x3000, ACC_READ, (1ull << 32) | 5, 0x3000);
	wr64(NPD, 0x87);
	/* the guest's PD in a not-present nested page: a guest-table walk, a write */
	g_cr0 = RV_CR0_PE | RV_CR0_ET | RV_CR0_PG;
	g_cr3 = 0x203000;
	npf_case(0x400000, ACC_READ, (1ull << 33) | 6, 0x203004);
	/* in a read-only one */
	g_cr3 = 0x201000;
	npf_case(0x400000, ACC_READ, (1ull << 33) | 7, 0x201004);
}

/* ------------------------------------------------------------------ */
/* The TLB of each ASID (15.16), through VMRUN and #VMEXIT.            */

/*
 * The host (pm32, 4 MiB pages 1:1) runs two guests with 32-bit paging
 * and 4 KiB pages, ASID 1 and 2, whose tables map GVA 0x400000 to
 * PAGE_A and PAGE_B (and GVA + 0x1000 in ASID 1 to PAGE_C). A read that hits the TLB walks no table:
 * cpu->tlb_fills counts the misses.
 */
#define HOST_PD  0x40000u
#define G1_PD    0x20000u
#define G1_PT    0x21000u
#define G2_PD    0x22000u
#define G2_PT    0x23000u
#define PAGE_A   0x30000u
#define PAGE_B   0x31000u
#define PAGE_C   0x32000u	/* GVA + 0x1000 in ASID 1 */
#define GVA      0x400000u
#define HOST_VA  0x5008u

static int setup_asid(void **state)
{
	setup_ram(state);
	wr32(HOST_PD, 0x83);
	wr32(HOST_PD + 4, 0x400083);
	wr32(HOST_VA, 0x11110000);
	wr32(G1_PD + 4, G1_PT | 7);
	wr32(G1_PT, PAGE_A | 7);
	wr32(G1_PT + 4, PAGE_C | 7);
	wr32(G2_PD + 4, G2_PT | 7);
	wr32(G2_PT, PAGE_B | 7);
	wr32(PAGE_A, 0xaaaa);
	wr32(PAGE_B, 0xbbbb);
	cpu->s.cr0 = RV_CR0_PE | RV_CR0_ET | RV_CR0_PG;
	cpu->s.cr3 = HOST_PD;
	cpu->s.cr4 = RV_CR4_PSE;
	cpu->s.efer = RV_EFER_SVME;
	cpu_update_mode(cpu);
	return 0;
}

/* A VMCB for a pm32 guest with 32-bit paging at cr3 (flat segments). */
static void vmcb_guest(uint32_t asid, uint32_t cr3, uint8_t tlb_ctl)
{
	memset(ram + VMCB_PA, 0, 4096);
	wr32(VMCB_PA + 0x10, 1);				/* VMRUN intercept */
	wr32(VMCB_PA + 0x58, asid);
	ram[VMCB_PA + 0x5c] = tlb_ctl;
	for (unsigned i = 0; i < 4; i++) {
		wr32(VMCB_PA + 0x400 + 16 * i + 2, i == RV_CS ? 0xc9b : 0xc93);
		wr32(VMCB_PA + 0x400 + 16 * i + 4, 0xffffffff);
	}
	wr64(VMCB_PA + 0x4d0, RV_EFER_SVME);
	wr64(VMCB_PA + 0x558, RV_CR0_PE | RV_CR0_ET | RV_CR0_PG);
	wr64(VMCB_PA + 0x550, cr3);
	wr64(VMCB_PA + 0x560, 0x400);
	wr64(VMCB_PA + 0x568, 0xffff0ff0);
	wr64(VMCB_PA + 0x570, 2);
}

/* VMRUN (0F 01 D8) of the VMCB at VMCB_PA as it is, from the host. */
static void vmrun_as_is(void)
{
	cpu->s.gpr[RV_RAX] = VMCB_PA;
	svm_op(cpu, &(struct insn){ .rm = 0, .addrsize = 4 });
	assert_true(cpu->svm.guest);
}

static void vmrun(uint32_t asid, uint32_t cr3, uint8_t tlb_ctl)
{
	vmcb_guest(asid, cr3, tlb_ctl);
	vmrun_as_is();
}

static void vmexit(void)
{
	svm_vmexit(cpu, SVM_EXIT_HLT, 0, 0, 0);
	assert_false(cpu->svm.guest);
}

/* INVLPGA (0F 01 DF): the page at rAX in ASID ECX. */
static void invlpga(uint64_t lin, uint32_t asid)
{
	struct insn in = { .rm = 7, .addrsize = 4 };

	cpu->s.gpr[RV_RAX] = lin;
	cpu->s.gpr[RV_RCX] = asid;
	svm_op(cpu, &in);
}

/* A read through the TLB; *walked: whether it missed. */
static uint32_t rd_tlb(uint64_t lin, bool *walked)
{
	uint64_t fills = cpu->tlb_fills;
	uint32_t v = (uint32_t)cpu_lin_read(cpu, lin, 4, ACC_READ);

	*walked = cpu->tlb_fills != fills;
	return v;
}

static void expect_read(uint64_t lin, uint32_t value, bool walk)
{
	bool walked;

	assert_int_equal(rd_tlb(lin, &walked), value);
	if (walked != walk)
		fail_msg("read of %#llx: %s", (unsigned long long)lin, walk ? "a hit" : "a walk");
}

/* One run of the guest the VMCB holds: VMRUN, a read of lin, #VMEXIT. */
static void read_run(uint64_t lin, uint32_t value, bool walk)
{
	vmrun_as_is();
	expect_read(lin, value, walk);
	vmexit();
}

static void run_read(uint32_t asid, uint32_t cr3, uint8_t tlb_ctl, uint64_t lin, uint32_t value, bool walk)
{
	vmcb_guest(asid, cr3, tlb_ctl);
	read_run(lin, value, walk);
}

/*
 * The host's and a guest's entries survive the world switches; a guest
 * table changed without a flush goes on being read through the old
 * entry with TLB_CONTROL 0 (what a tagged TLB may do, and ours does),
 * and TLB_CONTROL 3 drops it.
 */
static void test_asid_kept(void **state)
{
	expect_read(HOST_VA, 0x11110000, true);
	vmrun(1, G1_PD, 0);
	expect_read(GVA, 0xaaaa, true);
	expect_read(GVA, 0xaaaa, false);
	vmexit();
	expect_read(HOST_VA, 0x11110000, false);
	wr32(G1_PT, PAGE_B | 7);
	run_read(1, G1_PD, 0, GVA, 0xaaaa, false);
	expect_read(HOST_VA, 0x11110000, false);
	run_read(1, G1_PD, 3, GVA, 0xbbbb, true);
	/* flush by ASID leaves the host's entries */
	expect_read(HOST_VA, 0x11110000, false);
}

/*
 * Entering a kept context with a small working set puts its entries back
 * in cpu->tlb at once (where translated code's inline checks see them),
 * and gives back the target cache's generations it was left with; an
 * INVLPGA into it while it is kept takes them away (new ones).
 */
static void test_asid_eager_code_gen(void **state)
{
	const struct tlb_entry *e = &cpu->tlb[0][(HOST_VA >> 12) & (TLB_SIZE - 1)];
	uint32_t g0, g1;

	expect_read(HOST_VA, 0x11110000, true);
	g0 = cpu->code_gen[0];
	g1 = cpu->code_gen[1];
	vmrun(1, G1_PD, 0);
	assert_int_not_equal(cpu->code_gen[0], g0);
	assert_int_not_equal(cpu->code_gen[1], g1);
	vmexit();
	assert_int_equal(e->tag_read, HOST_VA & ~0xfffull);
	assert_int_equal(cpu->code_gen[0], g0);
	assert_int_equal(cpu->code_gen[1], g1);
	expect_read(HOST_VA, 0x11110000, false);
	vmrun(1, G1_PD, 0);
	invlpga(HOST_VA, 0);
	vmexit();
	assert_int_not_equal(cpu->code_gen[0], g0);
	expect_read(HOST_VA, 0x11110000, true);
}

/*
 * The kept entries come back as they are missed; those not missed in a
 * run stay kept through the next switch. Flushes in the guest reach the
 * entries not taken back yet: INVLPG (its page), MOV CR3 (non-global
 * ones), a paging-mode change (all).
 */
static void test_asid_taken_back(void **state)
{
	vmrun(1, G1_PD, 0);
	expect_read(GVA, 0xaaaa, true);
	expect_read(GVA + 0x1000, 0, true);
	vmexit();
	run_read(1, G1_PD, 0, GVA, 0xaaaa, false);
	run_read(1, G1_PD, 0, GVA + 0x1000, 0, false);
	vmrun(1, G1_PD, 0);
	cpu_tlb_flush_page(cpu, GVA);
	expect_read(GVA, 0xaaaa, true);
	expect_read(GVA + 0x1000, 0, false);
	vmexit();
	vmrun(1, G1_PD, 0);
	cpu_write_cr(cpu, 3, G1_PD);
	expect_read(GVA + 0x1000, 0, true);
	vmexit();
	vmrun(1, G1_PD, 0);
	cpu_tlb_flush_all(cpu);
	expect_read(GVA, 0xaaaa, true);
	vmexit();
}

/*
 * A #PF exit fetches the guest's instruction bytes (decode assists)
 * through the guest's tables: those entries go with the guest's TLB, not
 * into the host's.
 */
static void test_asid_exit_fetch(void **state)
{
	wr32(GVA, 0x4444);			/* the host's (1:1) page at GVA */
	expect_read(GVA, 0x4444, true);
	vmcb_guest(1, G1_PD, 0);
	wr64(VMCB_PA + 0x578, GVA);		/* RIP */
	vmrun_as_is();
	svm_vmexit(cpu, SVM_EXIT_EXCP_BASE + EXC_PF, 0, 0, 0);
	assert_int_equal(rd32(VMCB_PA + 0xd0) & 0xff, 15);	/* the bytes were fetched */
	expect_read(GVA, 0x4444, false);
	/* and the guest has them */
	read_run(GVA, 0xaaaa, false);
}

/* Two ASIDs, one virtual address: each sees its own mapping, with no walk after the first. */
static void test_asid_two(void **state)
{
	run_read(1, G1_PD, 0, GVA, 0xaaaa, true);
	run_read(2, G2_PD, 0, GVA, 0xbbbb, true);
	for (int i = 0; i < 3; i++) {
		run_read(1, G1_PD, 0, GVA, 0xaaaa, false);
		run_read(2, G2_PD, 0, GVA, 0xbbbb, false);
	}
	/* more ASIDs than the contexts kept: the least recently run go, the host's stays */
	expect_read(HOST_VA, 0x11110000, true);
	for (uint32_t a = 3; a < 20; a++) {
		run_read(a, G1_PD, 0, GVA, 0xaaaa, true);
		expect_read(HOST_VA, 0x11110000, false);
	}
	run_read(1, G1_PD, 0, GVA, 0xaaaa, true);
}

/* INVLPGA: the page goes from the ASID named, kept or running, and stays in the others. */
static void test_asid_invlpga(void **state)
{
	vmrun(1, G1_PD, 0);
	expect_read(GVA, 0xaaaa, true);
	expect_read(GVA + 0x1000, 0, true);
	vmexit();
	run_read(2, G2_PD, 0, GVA, 0xbbbb, true);
	wr32(G1_PT, PAGE_B | 7);
	wr32(G2_PT, PAGE_A | 7);
	invlpga(GVA, 1);
	vmrun(1, G1_PD, 0);
	expect_read(GVA, 0xbbbb, true);
	expect_read(GVA + 0x1000, 0, false);	/* the next page stays */
	vmexit();
	vmrun(2, G2_PD, 0);
	expect_read(GVA, 0xbbbb, false);	/* not flushed: stale */
	/* the running ASID's own INVLPGA (a guest that may run it) */
	invlpga(GVA, 2);
	expect_read(GVA, 0xaaaa, true);
	vmexit();
	/* ASID 0 from the host: its own page */
	expect_read(HOST_VA, 0x11110000, true);
	invlpga(HOST_VA, 0);
	expect_read(HOST_VA, 0x11110000, true);
}

/*
 * A context is dropped when entered under another paging state: another
 * CR3 drops its non-global entries, like MOV CR3; TLB_CONTROL 7 drops
 * them too; TLB_CONTROL 1 drops every ASID's, the host's included;
 * another memory map, everything.
 */
static void test_asid_dropped(void **state)
{
	wr32(G1_PT + 4, PAGE_C | 0x107);	/* GVA + 0x1000: a global page */
	vmcb_guest(1, G1_PD, 0);
	wr64(VMCB_PA + 0x548, RV_CR4_PGE);
	vmrun_as_is();
	expect_read(GVA, 0xaaaa, true);
	expect_read(GVA + 0x1000, 0, true);
	vmexit();
	/* the same tables at another CR3: the global entry stays */
	memcpy(ram + G2_PD, ram + G1_PD, 4096);
	vmcb_guest(1, G2_PD, 0);
	wr64(VMCB_PA + 0x548, RV_CR4_PGE);
	vmrun_as_is();
	expect_read(GVA, 0xaaaa, true);
	expect_read(GVA + 0x1000, 0, false);
	vmexit();
	/* TLB_CONTROL 7: the same */
	vmcb_guest(1, G2_PD, 7);
	wr64(VMCB_PA + 0x548, RV_CR4_PGE);
	vmrun_as_is();
	expect_read(GVA, 0xaaaa, true);
	expect_read(GVA + 0x1000, 0, false);
	vmexit();
	/* another CR4 (PGE clear): nothing kept */
	run_read(1, G2_PD, 0, GVA + 0x1000, 0, true);
	/* TLB_CONTROL 1: the host's entries go too */
	expect_read(HOST_VA, 0x11110000, true);
	vmrun(2, G2_PD, 0);
	vmexit();
	expect_read(HOST_VA, 0x11110000, false);
	vmrun(2, G2_PD, 1);
	vmexit();
	expect_read(HOST_VA, 0x11110000, true);
	/* a new memory map: no host pointer of the old one comes back */
	vmrun(1, G1_PD, 0);
	expect_read(GVA, 0xaaaa, true);
	map.generation++;
	vmexit();
	expect_read(HOST_VA, 0x11110000, true);
	run_read(1, G1_PD, 0, GVA, 0xaaaa, true);
}

/* Nested paging: a context holds combined translations, so another nCR3 drops it. */
static void test_asid_ncr3(void **state)
{
	/* nested tables in the host's 32-bit format, 1:1 in 4 MiB user pages, at 0x50000 and 0x51000 */
	wr32(0x50000, 0x87);
	wr32(0x50004, 0x400087);
	wr32(0x51000, 0x87);
	wr32(0x51004, 0x400087);
	vmcb_guest(1, G1_PD, 0);
	wr64(VMCB_PA + 0x90, 1);
	wr64(VMCB_PA + 0xb0, 0x50000);
	wr64(VMCB_PA + 0x668, 0x0007040600070406);
	vmrun_as_is();
	assert_true(cpu->svm.np);
	expect_read(GVA, 0xaaaa, true);
	vmexit();
	read_run(GVA, 0xaaaa, false);
	wr64(VMCB_PA + 0xb0, 0x51000);
	read_run(GVA, 0xaaaa, true);
	/* and NP off with the same ASID: dropped too */
	run_read(1, G1_PD, 0, GVA, 0xaaaa, true);
}

/*
 * A page that became one of code while its context was out: the entry
 * comes back without its write fast path (stores must reach the slow
 * path that sees self-modifying code).
 */
static void test_asid_code_page(void **state)
{
	static uint64_t granules[RAM_SIZE / 4096];
	unsigned idx = (GVA >> 12) & (TLB_SIZE - 1);

	memset(granules, 0, sizeof(granules));
	cpu->code_granules = granules;
	cpu->code_npages = RAM_SIZE / 4096;
	vmrun(1, G1_PD, 0);
	cpu_lin_write(cpu, GVA, 0xaaaa, 4, ACC_WRITE);
	assert_int_equal(cpu->tlb[0][idx].tag_write, GVA);
	vmexit();
	granules[PAGE_A >> 12] = 1;
	vmrun(1, G1_PD, 0);
	expect_read(GVA, 0xaaaa, false);
	assert_int_equal(cpu->tlb[0][idx].tag_read, GVA);
	assert_int_equal(cpu->tlb[0][idx].tag_write, tlb_tag_none(idx));
	vmexit();
	cpu->code_granules = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpuid_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpuid_on, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_efer_svme, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_vm_cr_lock, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_hsave_pa, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_event_step_host, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_event_step_guest, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_vintr_writeback, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_np_paging_off, setup_np, teardown_np),
		cmocka_unit_test_setup_teardown(test_np_guest_paging, setup_np, teardown_np),
		cmocka_unit_test_setup_teardown(test_np_host_32bit, setup_np, teardown_np),
		cmocka_unit_test_setup_teardown(test_np_host_pae, setup_np, teardown_np),
		cmocka_unit_test_setup_teardown(test_np_faults, setup_np, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_kept, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_taken_back, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_exit_fetch, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_two, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_invlpga, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_dropped, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_ncr3, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_code_page, setup_asid, teardown_np),
		cmocka_unit_test_setup_teardown(test_asid_eager_code_gen, setup_asid, teardown_np),
	};

	return cmocka_run_group_tests_name("svm", tests, NULL, NULL);
}
