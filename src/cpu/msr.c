/* Model-specific registers: RDMSR/WRMSR semantics and the guest TSC. */
#include "cpu/sys.h"

/* AMD MSRs a Linux kernel touches on an AMD CPU (APM vol. 2, appendix A; BKDG for family 0Fh). */
#define MSR_PATCH_LEVEL     0x0000008bu
#define MSR_MCG_CAP         0x00000179u
#define MSR_MCG_STATUS      0x0000017au
#define MSR_DEBUGCTL        0x000001d9u
#define MSR_LAST_BRANCH_FROM 0x000001dbu	/* then LastBranchToIP, LastExceptionFromIP, ...ToIP */
#define MSR_LAST_EXCP_TO    0x000001deu
#define MSR_MTRR_FIX16K_80000 0x00000258u
#define MSR_MTRR_FIX16K_A0000 0x00000259u
#define MSR_MTRR_FIX4K_C0000  0x00000268u
#define MSR_MTRR_FIX4K_F8000  0x0000026fu
#define MSR_K7_EVNTSEL0     0xc0010000u
#define MSR_K7_PERFCTR3     0xc0010007u
#define MSR_SYSCFG          0xc0010010u
#define MSR_HWCR            0xc0010015u
#define MSR_INT_PENDING     0xc0010055u
#define MSR_VM_CR           0xc0010114u
#define MSR_VM_HSAVE_PA     0xc0010117u
#define MSR_DE_CFG          0xc0011029u

/* HWCR reset value: TscFreqSel (bit 24, TSC counts at the P0 rate). */
#define HWCR_RESET          (1ull << 24)
/* VM_CR (APM vol. 2, 15.30.1): DPD, R_INIT, DIS_A20M (0-2), LOCK (3), SVMDIS (4); the rest reserved */
#define VM_CR_LOCK          (1ull << 3)
#define VM_CR_SVMDIS        (1ull << 4)
#define VM_CR_VALID         0x1full
#define DE_CFG_LFENCE_SERIALIZE (1ull << 1)

/* MTRRCAP: 8 variable ranges, fixed ranges, write-combining (SDM vol. 3, 11.11.1). */
#define MTRRCAP_VALUE       (8u | (1u << 8) | (1u << 10))

uint64_t cpu_rdtsc(struct cpu *cpu)
{
	uint64_t host = cpu->read_host_tsc ? cpu->read_host_tsc(cpu->opaque) : cpu->icount;
	/* a guest of the guest reads its host's TSC plus the VMCB's TSC_OFFSET (APM vol. 2, 15.30.5) */
	return host + (uint64_t)cpu->s.tsc_offset + (cpu->svm.guest ? (uint64_t)cpu->svm.tsc_offset : 0);
}

/* Memory types valid in PAT entries and MTRRs: UC, WC, WT, WP, WB (and UC- for PAT). */
static bool memtype_ok(unsigned t, bool pat)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

static bool memtypes_ok(uint64_t v, bool pat)
{
	for (unsigned i = 0; i < 8; i++)
		if (!memtype_ok((unsigned)(v >> (i * 8)) & 0xff, pat))
			return false;
	return true;
}

/* Index into mtrr_fixed[] for a fixed-range MTRR, or -1. */
static int mtrr_fixed_index(uint32_t index)
{
	if (index == RV_MSR_MTRR_FIX64K)
		return 0;
	if (index == MSR_MTRR_FIX16K_80000 || index == MSR_MTRR_FIX16K_A0000)
		return 1 + (int)(index - MSR_MTRR_FIX16K_80000);
	if (index >= MSR_MTRR_FIX4K_C0000 && index <= MSR_MTRR_FIX4K_F8000)
		return 3 + (int)(index - MSR_MTRR_FIX4K_C0000);
	return -1;
}

#define PHYS_MASK_HI (~0ull << PHYS_ADDR_BITS)

/* IA32_APIC_BASE: reserved bits clear, and x2APIC mode only with the APIC enabled (SDM vol. 3A 11.12.5). */
static bool apic_base_ok(uint64_t v)
{
	if (v & (PHYS_MASK_HI | 0x2ffu))
		return false;
	return !((v & (1u << 10)) && !(v & (1u << 11)));
}

/* The local APIC lives in the VMM: its MSRs, and writes to the APIC base so it sees mode changes. */
bool cpu_msr_vmm(uint32_t index, bool is_write)
{
	return (index >= 0x800 && index <= 0x8ff) || index == 0x6e0 ||
	       (is_write && index == RV_MSR_APIC_BASE);
}

/* Like cpu_io_in: exit to the VMM, and on re-execution take its answer (or its #GP). */
uint64_t cpu_msr_exit(struct cpu *cpu, uint32_t index, bool is_write, uint64_t value)
{
	if (cpu->msr_gp) {
		cpu->msr_gp = false;
		cpu_raise_gp0(cpu);
	}
	if (cpu->replay.next < cpu->replay.count)
		return cpu->replay.value[cpu->replay.next++];
	if (is_write && index == RV_MSR_APIC_BASE && !apic_base_ok(value))
		cpu_raise_gp0(cpu);
	cpu->exit.reason = CPU_EXIT_MSR;
	cpu->exit.msr_index = index;
	cpu->exit.is_write = is_write;
	cpu->exit.data = is_write ? value : 0;
	cpu_exit_restart(cpu);
}

/*
 * VM_CR (APM vol. 2, 15.30.1): with LOCK set, writes to LOCK and SVMDIS
 * are silently ignored; setting SVMDIS while EFER.SVME is set is #GP
 * whatever LOCK says. Reserved bits are #GP.
 */
static bool vm_cr_write(struct cpu *cpu, uint64_t v)
{
	uint64_t keep = cpu->svm.vm_cr & (VM_CR_LOCK | VM_CR_SVMDIS);

	if (v & ~VM_CR_VALID)
		return false;
	if ((v & VM_CR_SVMDIS) && (cpu->s.efer & RV_EFER_SVME))
		return false;
	if (cpu->svm.vm_cr & VM_CR_LOCK)
		v = (v & ~(VM_CR_LOCK | VM_CR_SVMDIS)) | keep;
	cpu->svm.vm_cr = v;
	return true;
}

bool cpu_rdmsr(struct cpu *cpu, uint32_t index, uint64_t *value)
{
	struct cpu_state *s = &cpu->s;
	int fix = mtrr_fixed_index(index);
	if (fix >= 0) {
		*value = s->mtrr_fixed[fix];
		return true;
	}
	if (index >= RV_MSR_MTRR_PHYSBASE0 && index < RV_MSR_MTRR_PHYSBASE0 + 16) {
		*value = s->mtrr_var[index - RV_MSR_MTRR_PHYSBASE0];
		return true;
	}
	if (index >= MSR_K7_EVNTSEL0 && index <= MSR_K7_PERFCTR3) {
		*value = 0;	/* no performance counters: read as zero, writes ignored */
		return true;
	}
	switch (index) {
	case RV_MSR_TSC: *value = cpu_rdtsc(cpu); return true;
	case RV_MSR_APIC_BASE: *value = s->apic_base; return true;
	case RV_MSR_MTRRCAP: *value = MTRRCAP_VALUE; return true;
	case RV_MSR_SYSENTER_CS: *value = s->sysenter_cs; return true;
	case RV_MSR_SYSENTER_ESP: *value = s->sysenter_esp; return true;
	case RV_MSR_SYSENTER_EIP: *value = s->sysenter_eip; return true;
	case RV_MSR_MISC_ENABLE: *value = s->misc_enable; return true;
	case RV_MSR_PAT: *value = s->pat; return true;
	case RV_MSR_MTRR_DEF_TYPE: *value = s->mtrr_def_type; return true;
	case RV_MSR_EFER: *value = s->efer; return true;
	case RV_MSR_STAR: *value = s->star; return true;
	case RV_MSR_LSTAR: *value = s->lstar; return true;
	case RV_MSR_CSTAR: *value = s->cstar; return true;
	case RV_MSR_SFMASK: *value = s->sfmask; return true;
	case RV_MSR_FS_BASE: *value = s->seg[RV_FS].base; return true;
	case RV_MSR_GS_BASE: *value = s->seg[RV_GS].base; return true;
	case RV_MSR_KERNEL_GS_BASE: *value = s->kernel_gs_base; return true;
	case RV_MSR_TSC_AUX: *value = s->tsc_aux; return true;
	case MSR_MCG_CAP: *value = 0; return true;	/* no banks */
	case MSR_MCG_STATUS: *value = s->mcg_status; return true;
	case MSR_LAST_BRANCH_FROM ... MSR_LAST_EXCP_TO: *value = 0; return true;	/* no LBR: nothing recorded */
	case MSR_PATCH_LEVEL: *value = 0; return true;
	/*
	 * DebugCtl (APM vol. 2, 13.1.1.6) is on every AMD64 CPU, and KVM reads
	 * it on each VMRUN to restore it after. Branch recording (LBR) and
	 * single-step on branches (BTF) are not modelled: it reads 0 and only
	 * 0 may be written.
	 */
	case MSR_DEBUGCTL: *value = 0; return true;
	case MSR_HWCR: *value = s->hwcr_xor ^ HWCR_RESET; return true;
	case MSR_SYSCFG: *value = 0; return true;	/* no TOM2, no SME */
	case MSR_INT_PENDING: *value = 0; return true;	/* no C1E */
	case MSR_VM_CR:
		/* without SVM offered it reads as disabled, as on a part whose BIOS turned SVM off */
		*value = cpu->svm_offered ? cpu->svm.vm_cr : VM_CR_SVMDIS;
		return true;
	case MSR_VM_HSAVE_PA:
		if (!cpu->svm_offered)
			return false;
		*value = cpu->svm.hsave_pa;
		return true;
	case MSR_DE_CFG: *value = DE_CFG_LFENCE_SERIALIZE; return true;
	default:
		return false;
	}
}

bool cpu_wrmsr(struct cpu *cpu, uint32_t index, uint64_t v)
{
	struct cpu_state *s = &cpu->s;
	int fix = mtrr_fixed_index(index);
	if (fix >= 0) {
		if (!memtypes_ok(v, false))
			return false;
		s->mtrr_fixed[fix] = v;
		return true;
	}
	if (index >= RV_MSR_MTRR_PHYSBASE0 && index < RV_MSR_MTRR_PHYSBASE0 + 16) {
		bool is_mask = (index - RV_MSR_MTRR_PHYSBASE0) & 1;
		uint64_t reserved = PHYS_MASK_HI | (is_mask ? 0x7ffu : 0xf00u);
		if ((v & reserved) || (!is_mask && !memtype_ok(v & 0xff, false)))
			return false;
		s->mtrr_var[index - RV_MSR_MTRR_PHYSBASE0] = v;
		return true;
	}
	if (index >= MSR_K7_EVNTSEL0 && index <= MSR_K7_PERFCTR3)
		return true;
	switch (index) {
	case RV_MSR_TSC: {
		uint64_t host = cpu->read_host_tsc ? cpu->read_host_tsc(cpu->opaque) : cpu->icount;
		s->tsc_offset = (int64_t)(v - host - (cpu->svm.guest ? (uint64_t)cpu->svm.tsc_offset : 0));
		return true;
	}
	case RV_MSR_APIC_BASE:
		/* BSP (8), x2APIC (10), enable (11), base (12 up to the physical width) */
		if (!apic_base_ok(v))
			return false;
		s->apic_base = v;
		return true;
	case RV_MSR_SYSENTER_CS: s->sysenter_cs = v & 0xffff; return true;
	case RV_MSR_SYSENTER_ESP: s->sysenter_esp = v; return true;
	case RV_MSR_SYSENTER_EIP: s->sysenter_eip = v; return true;
	case RV_MSR_MISC_ENABLE: s->misc_enable = v; return true;
	case RV_MSR_PAT:
		if (!memtypes_ok(v, true))
			return false;
		s->pat = v;
		return true;
	case RV_MSR_MTRR_DEF_TYPE:
		/* type in 7:0, FE (10), E (11) */
		if ((v & ~0xcffull) || !memtype_ok(v & 0xff, false))
			return false;
		s->mtrr_def_type = v;
		return true;
	case RV_MSR_EFER:
		if (!sys_efer_ok(cpu, v))
			return false;
		cpu_write_efer(cpu, v);
		return true;
	case RV_MSR_STAR: s->star = v; return true;
	case RV_MSR_LSTAR:
	case RV_MSR_CSTAR:
		if (!sys_canonical(v))
			return false;
		if (index == RV_MSR_LSTAR)
			s->lstar = v;
		else
			s->cstar = v;
		return true;
	case RV_MSR_SFMASK: s->sfmask = (uint32_t)v; return true;
	case RV_MSR_FS_BASE:
	case RV_MSR_GS_BASE:
	case RV_MSR_KERNEL_GS_BASE:
		if (!sys_canonical(v))
			return false;
		if (index == RV_MSR_FS_BASE)
			s->seg[RV_FS].base = v;
		else if (index == RV_MSR_GS_BASE)
			s->seg[RV_GS].base = v;
		else
			s->kernel_gs_base = v;
		return true;
	case RV_MSR_TSC_AUX:
		if (v >> 32)
			return false;
		s->tsc_aux = v;
		return true;
	case MSR_MCG_STATUS:
		s->mcg_status = v;
		return true;
	case MSR_DEBUGCTL:
		return v == 0;
	case MSR_HWCR:
		s->hwcr_xor = v ^ HWCR_RESET;
		return true;
	case MSR_VM_CR:
		if (cpu->svm_offered)
			return vm_cr_write(cpu, v);
		return true;	/* SVM disabled: writes are ignored */
	case MSR_VM_HSAVE_PA:
		/* a 4 KiB-aligned physical address (APM vol. 2, 15.30.4) */
		if (!cpu->svm_offered || (v & 0xfff) || (v >> cpu->maxphyaddr))
			return false;
		cpu->svm.hsave_pa = v;
		return true;
	case MSR_PATCH_LEVEL:
	case MSR_SYSCFG:
	case MSR_INT_PENDING:
	case MSR_DE_CFG:
		return true;	/* accepted and ignored: nothing here changes behaviour */
	default:
		return false;
	}
}
