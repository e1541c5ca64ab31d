/*
 * AMD-V as the soft CPU offers it (--cpu svm=on), driven directly: CPUID
 * leaves, EFER.SVME, VM_CR (LOCK, SVMDIS) and VM_HSAVE_PA, with SVM offered
 * and not (AMD APM vol. 2, 15.4 and 15.30). VMRUN, #VMEXIT and the
 * intercepts run in tests/guests/svm.asm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu.h"

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
	assert_int_equal(r[3], (1u << 0) | (1u << 3));	/* NP, NRIPS */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpuid_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpuid_on, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_efer_svme, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_vm_cr_lock, setup_svm, teardown),
		cmocka_unit_test_setup_teardown(test_hsave_pa, setup_svm, teardown),
	};

	return cmocka_run_group_tests_name("svm", tests, NULL, NULL);
}
