/* The guest TSC comes from the VM's clock at the configured frequency, through the public API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "engine.h"
#include "ringvm/ringvm.h"

#define RAM_SIZE (1u << 20)

static uint64_t fake_ns;

static uint64_t fake_clock(void *opaque)
{
	return *(uint64_t *)opaque;
}

/* Real mode at 0:0x1000: rdtsc; hlt */
static const uint8_t code[] = { 0x0f, 0x31, 0xf4 };

/* Run the RDTSC again from its start (which also takes the vCPU out of HLT). */
static uint64_t run_rdtsc(struct rv_vcpu *vcpu)
{
	struct rv_exit exit;
	struct rv_regs r = { .rip = 0x1000, .rflags = 2 };

	assert_int_equal(rv_vcpu_set_regs(vcpu, &r), 0);
	assert_int_equal(rv_vcpu_run(vcpu, &exit), 0);
	assert_int_equal(exit.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(vcpu, &r), 0);
	return (r.gpr[RV_RDX] & 0xffffffff) << 32 | (r.gpr[RV_RAX] & 0xffffffff);
}

static void setup_real(struct rv_vcpu *vcpu)
{
	struct rv_sregs s;

	assert_int_equal(rv_vcpu_get_sregs(vcpu, &s), 0);
	s.seg[RV_CS].selector = 0;
	s.seg[RV_CS].base = 0;
	assert_int_equal(rv_vcpu_set_sregs(vcpu, &s), 0);
}

/* With a VMM-supplied clock the TSC is exactly clock * tsc_hz / 10^9. */
static void test_tsc_follows_vm_clock(void **state)
{
	uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
	struct rv_vm *vm;
	struct rv_vcpu *vcpu;
	struct rv_vm_config cfg = {
		.engine = RV_ENGINE_SOFT, .tsc_hz = 3000000000ull, .soft_interpreter = !test_translate(),
		.clock_ns = fake_clock, .clock_opaque = &fake_ns,
	};

	assert_non_null(ram);
	memset(ram, 0, RAM_SIZE);
	memcpy(ram + 0x1000, code, sizeof(code));
	assert_int_equal(rv_vm_create(&vm, &cfg), 0);
	assert_int_equal(rv_vm_map(vm, 0, RAM_SIZE, RV_MEM_RAM, ram), 0);
	assert_int_equal(rv_vcpu_create(vm, 0, &vcpu), 0);
	setup_real(vcpu);

	fake_ns = 5000000000ull;			/* 5 s */
	assert_int_equal(run_rdtsc(vcpu), 15000000000ull);
	fake_ns += 333;					/* 333 ns at 3 GHz = 999 ticks */
	assert_int_equal(run_rdtsc(vcpu), 15000000999ull);

	/* CPUID 0x40000010 reports the same frequency in kHz: mov eax, 0x40000010; cpuid; hlt */
	static const uint8_t leaf[] = { 0x66, 0xb8, 0x10, 0x00, 0x00, 0x40, 0x0f, 0xa2, 0xf4 };
	struct rv_exit exit;
	struct rv_regs r = { .rip = 0x2000, .rflags = 2 };

	memcpy(ram + 0x2000, leaf, sizeof(leaf));
	assert_int_equal(rv_vcpu_set_regs(vcpu, &r), 0);
	assert_int_equal(rv_vcpu_run(vcpu, &exit), 0);
	assert_int_equal(exit.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RAX] & 0xffffffff, 3000000);
	rv_vm_destroy(vm);
	free(ram);
}

/* With the default clock the TSC advances with host time at RV_DEFAULT_TSC_HZ, also while nothing runs. */
static void test_tsc_default_clock_real_time(void **state)
{
	uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
	struct rv_vm *vm;
	struct rv_vcpu *vcpu;
	struct timespec pause = { 0, 50 * 1000 * 1000 };	/* 50 ms */
	struct rv_vm_config cfg;

	assert_non_null(ram);
	memset(ram, 0, RAM_SIZE);
	memcpy(ram + 0x1000, code, sizeof(code));
	cfg = test_vm_config();
	assert_int_equal(rv_vm_create(&vm, &cfg), 0);
	assert_int_equal(rv_vm_map(vm, 0, RAM_SIZE, RV_MEM_RAM, ram), 0);
	assert_int_equal(rv_vcpu_create(vm, 0, &vcpu), 0);
	setup_real(vcpu);

	uint64_t t0 = run_rdtsc(vcpu);
	nanosleep(&pause, NULL);
	uint64_t t1 = run_rdtsc(vcpu);
	/* At least the 50 ms slept (a lower bound only: a loaded machine may take longer). */
	assert_true(t1 - t0 >= RV_DEFAULT_TSC_HZ / 20);
	rv_vm_destroy(vm);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsc_follows_vm_clock),
		cmocka_unit_test(test_tsc_default_clock_real_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
