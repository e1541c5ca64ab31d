/*
 * Entry consistency checks (src/cpu/check.c) through the public API: from a
 * valid long-mode state, break exactly one field; rv_vcpu_run must refuse
 * with RV_EXIT_INVALID_STATE naming that check. The valid state must run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu.h"
#include "sys_guest.h"

enum field { F_CR0, F_CR3, F_CR4, F_CR8, F_EFER, F_RFLAGS, F_RIP, F_CS_ATTR, F_CS_SEL_ATTR, F_DR6, F_DR7 };

struct breakage {
	const char *check;
	enum field field;
	uint64_t value;		/* new value (for CR/EFER/RFLAGS/RIP/DR) or CS attrib */
	bool legacy;		/* start from a valid paged 32-bit state instead */
};

static const struct breakage breakages[] = {
	{ "CR0 bits 63:32", F_CR0, 0, false },
	{ "CR0.NW without CR0.CD", F_CR0, 0, false },
	{ "EFER.LME and CR0.PG without CR0.PE", F_CR0, 0, false },
	{ "CR0.PG without CR0.PE", F_CR0, 0, true },
	{ "CR4 reserved bits", F_CR4, 0, false },
	{ "CR3 reserved bits", F_CR3, 1ull << 52, false },
	{ "CR8 reserved bits", F_CR8, 0x10, false },
	{ "DR6 bits 63:32", F_DR6, 0xffff0ff0ull | (1ull << 40), false },
	{ "DR7 bits 63:32", F_DR7, 0x400ull | (1ull << 40), false },
	{ "EFER reserved bits", F_EFER, 0, false },
	{ "EFER.LME and CR0.PG without CR4.PAE", F_CR4, 0, false },
	{ "EFER.LMA inconsistent with LME and PG", F_EFER, 0, false },
	{ "CS.L and CS.D both set in long mode", F_CS_ATTR, 0xe9b, false },
	{ "RFLAGS reserved bits", F_RFLAGS, RV_FLAG_FIXED1 | (1u << 3), false },
	{ "RFLAGS.VM in long mode", F_RFLAGS, RV_FLAG_FIXED1 | RV_FLAG_VM, false },
	{ "non-canonical RIP", F_RIP, 0x0000800000000000ull, false },
	{ "CS not present", F_CS_ATTR, 0xa1b, false },
	{ "CS not a code segment", F_CS_ATTR, 0xa93, false },
	{ "CS.DPL differs from CPL", F_CS_ATTR, 0xafb, false },
};

static void legacy_state(struct rv_sregs *s, struct rv_regs *r)
{
	g_longmode_state(s, r);
	s->seg[RV_CS] = g_seg(SEL_CODE32, 0xc9b);
	s->efer = 0;
	s->cr4 = 0;
}

static void run_breakage(const struct breakage *b)
{
	struct guest g;
	struct rv_sregs s;
	struct rv_regs r;
	struct rv_debugregs d = { .dr6 = 0xffff0ff0, .dr7 = 0x400 };

	assert_int_equal(g_create(&g), 0);
	if (b->legacy)
		legacy_state(&s, &r);
	else
		g_longmode_state(&s, &r);
	switch (b->field) {
	case F_CR0:
		if (!strcmp(b->check, "CR0 bits 63:32"))
			s.cr0 |= 1ull << 32;
		else if (!strcmp(b->check, "CR0.NW without CR0.CD"))
			s.cr0 |= RV_CR0_NW;
		else
			s.cr0 &= ~RV_CR0_PE;
		break;
	case F_CR3: s.cr3 |= b->value; break;
	case F_CR4:
		if (!strcmp(b->check, "CR4 reserved bits"))
			s.cr4 |= RV_CR4_SMEP;	/* not implemented */
		else
			s.cr4 &= ~RV_CR4_PAE;
		break;
	case F_CR8: s.cr8 = b->value; break;
	case F_EFER:
		if (!strcmp(b->check, "EFER reserved bits"))
			s.efer |= 1ull << 20;	/* reserved (SVME may be set: SVM can be offered) */
		else
			s.efer &= ~RV_EFER_LMA;
		break;
	case F_RFLAGS: r.rflags = b->value; break;
	case F_RIP: r.rip = b->value; break;
	case F_CS_ATTR: s.seg[RV_CS].attrib = (uint16_t)b->value; break;
	case F_CS_SEL_ATTR: break;
	case F_DR6: d.dr6 = b->value; break;
	case F_DR7: d.dr7 = b->value; break;
	}
	assert_int_equal(rv_vcpu_set_sregs(g.vcpu, &s), 0);
	assert_int_equal(rv_vcpu_set_regs(g.vcpu, &r), 0);
	assert_int_equal(rv_vcpu_set_debugregs(g.vcpu, &d), 0);
	assert_int_equal(rv_vcpu_run(g.vcpu, &g.exit), 0);
	if (g.exit.reason != RV_EXIT_INVALID_STATE)
		fail_msg("%s: exit %s, want invalid-state", b->check, rv_exit_reason_name(g.exit.reason));
	if (strcmp(g.exit.invalid.check, b->check))
		fail_msg("want check '%s', got '%s'", b->check, g.exit.invalid.check);
	g_destroy(&g);
}

static void test_each_check(void **state)
{
	for (size_t i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++)
		run_breakage(&breakages[i]);
}

/* The unbroken states run: HLT at G_CODE exits as HLT. */
static void test_valid_states_run(void **state)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct guest g;
		struct rv_sregs s;
		struct rv_regs r;
		assert_int_equal(g_create(&g), 0);
		if (legacy) {
			legacy_state(&s, &r);
			s.cr0 &= ~RV_CR0_PG;	/* the tables are 4-level ones */
		} else {
			g_longmode_state(&s, &r);
		}
		assert_int_equal(rv_vcpu_set_sregs(g.vcpu, &s), 0);
		assert_int_equal(rv_vcpu_set_regs(g.vcpu, &r), 0);
		assert_int_equal(rv_vcpu_run(g.vcpu, &g.exit), 0);
		assert_int_equal(g.exit.reason, RV_EXIT_HLT);
		g_destroy(&g);
	}
}

/* Checks the API cannot reach (it derives CPL from SS.DPL, forces RFLAGS bit 1): call the checker directly. */
static void test_direct_checks(void **state)
{
	struct cpu_state cs;
	struct rv_sregs s;
	struct rv_regs r;
	uint64_t bad = 0;

	g_longmode_state(&s, &r);
	memset(&cs, 0, sizeof(cs));
	memcpy(cs.seg, s.seg, sizeof(cs.seg));
	cs.cr0 = s.cr0;
	cs.cr3 = s.cr3;
	cs.cr4 = s.cr4;
	cs.efer = s.efer;
	cs.rflags = r.rflags;
	cs.rip = r.rip;
	cs.dr6 = 0xffff0ff0;
	cs.dr7 = 0x400;
	assert_null(cpu_check_state(&cs, &bad));

	cs.rflags = 0;	/* the API always sets bit 1 */
	assert_string_equal(cpu_check_state(&cs, &bad), "RFLAGS bit 1 clear");
	cs.rflags = RV_FLAG_FIXED1;

	cs.seg[RV_SS].attrib = 0xcf3;	/* DPL 3 at CPL 0 */
	assert_string_equal(cpu_check_state(&cs, &bad), "SS.DPL differs from CPL");
	assert_int_equal(bad, 0xcf3);

	/* a null SS is fine in 64-bit mode at CPL 0, not at CPL 3 */
	cs.seg[RV_SS].attrib = 0;
	assert_null(cpu_check_state(&cs, &bad));

	cs.cpl = 5;
	assert_string_equal(cpu_check_state(&cs, &bad), "CPL above 3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_states_run),
		cmocka_unit_test(test_each_check),
		cmocka_unit_test(test_direct_checks),
	};
	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
