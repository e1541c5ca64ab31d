/* Register dump: GPRs, RIP, RFLAGS, segments with their hidden parts, descriptor tables, control registers, EFER. */
#include "cli/regdump.h"

static const char *const gpr_name[RV_NR_GPRS] = {
	"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
	"R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
};

static const char *const seg_name[RV_NR_SEGS] = {
	"ES ", "CS ", "SS ", "DS ", "FS ", "GS ", "LDT", "TR ",
};

/* Print order: the usual A, B, C, D, SI, DI, BP, SP reading order. */
static const int gpr_order[RV_NR_GPRS] = {
	RV_RAX, RV_RBX, RV_RCX, RV_RDX, RV_RSI, RV_RDI, RV_RBP, RV_RSP,
	RV_R8, RV_R9, RV_R10, RV_R11, RV_R12, RV_R13, RV_R14, RV_R15,
};

static void print_flags(FILE *out, uint64_t f)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ RV_FLAG_ID, "ID" }, { RV_FLAG_VIP, "VIP" }, { RV_FLAG_VIF, "VIF" },
		{ RV_FLAG_AC, "AC" }, { RV_FLAG_VM, "VM" }, { RV_FLAG_RF, "RF" },
		{ RV_FLAG_NT, "NT" }, { RV_FLAG_OF, "OF" }, { RV_FLAG_DF, "DF" },
		{ RV_FLAG_IF, "IF" }, { RV_FLAG_TF, "TF" }, { RV_FLAG_SF, "SF" },
		{ RV_FLAG_ZF, "ZF" }, { RV_FLAG_AF, "AF" }, { RV_FLAG_PF, "PF" },
		{ RV_FLAG_CF, "CF" },
	};
	unsigned i;

	fprintf(out, "RFLAGS=%016llx [", (unsigned long long)f);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			fprintf(out, " %s", names[i].name);
	fprintf(out, " ] IOPL=%u\n", (unsigned)((f & RV_FLAG_IOPL) >> 12));
}

static void print_segment(FILE *out, const char *name, const struct rv_segment *s, int idx)
{
	unsigned a = s->attrib;
	const char *kind;

	if (!(a & RV_SEG_S))
		kind = idx == RV_TR ? "tss" : idx == RV_LDTR ? "ldt" : "system";
	else if (RV_SEG_TYPE(a) & 8)
		kind = a & RV_SEG_L ? "code64" : a & RV_SEG_DB ? "code32" : "code16";
	else
		kind = a & RV_SEG_DB ? "data32" : "data16";
	fprintf(out, "%s=%04x base=%016llx limit=%08x attr=%04x type=%x dpl=%u %s%s%s%s\n",
		name, s->selector, (unsigned long long)s->base, s->limit, a,
		RV_SEG_TYPE(a), RV_SEG_DPL(a), a & RV_SEG_P ? "P " : "not-present ",
		a & RV_SEG_G ? "G " : "", a & RV_SEG_L ? "L " : "", kind);
}

void regdump_print(FILE *out, unsigned vcpu, const struct rv_regs *regs,
		   const struct rv_sregs *sregs)
{
	unsigned i;

	fprintf(out, "--- vCPU %u ---\n", vcpu);
	for (i = 0; i < RV_NR_GPRS; i++) {
		int r = gpr_order[i];

		fprintf(out, "%s=%016llx%s", gpr_name[r], (unsigned long long)regs->gpr[r],
			i % 4 == 3 ? "\n" : " ");
	}
	fprintf(out, "RIP=%016llx ", (unsigned long long)regs->rip);
	print_flags(out, regs->rflags);
	for (i = 0; i < RV_NR_SEGS; i++)
		print_segment(out, seg_name[i], &sregs->seg[i], (int)i);
	fprintf(out, "GDT=     base=%016llx limit=%04x\n",
		(unsigned long long)sregs->gdtr.base, sregs->gdtr.limit);
	fprintf(out, "IDT=     base=%016llx limit=%04x\n",
		(unsigned long long)sregs->idtr.base, sregs->idtr.limit);
	fprintf(out, "CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n",
		(unsigned long long)sregs->cr0, (unsigned long long)sregs->cr2,
		(unsigned long long)sregs->cr3, (unsigned long long)sregs->cr4);
	fprintf(out, "CR8=%016llx EFER=%016llx APIC_BASE=%016llx\n",
		(unsigned long long)sregs->cr8, (unsigned long long)sregs->efer,
		(unsigned long long)sregs->apic_base);
}
