/*
 * Fuzz target for the soft CPU's decoder and executor: the input chooses a
 * mode and register values and supplies the code the vCPU runs, plus the
 * values the "VMM" returns for port and MMIO reads. Nothing the guest does
 * may crash ringvm, hang it, or touch memory outside the guest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"

#define GUEST_RAM   (2u << 20)	/* 2 MiB of RAM at guest-physical 0 */
#define CODE_GPA    0x10000u
#define PML4_GPA    0x1000u	/* identity map of the first 1 GiB for long mode */
#define PDPT_GPA    0x2000u
#define PD_GPA      0x3000u
#define BUDGET      256		/* instructions per input */
#define MAX_EXITS   32

struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct fuzz_input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static void put64(uint8_t *ram, uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static void set_seg(struct rv_segment *s, uint16_t sel, uint16_t attrib, uint32_t limit)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = 0;
}

/* Put the vCPU in real, 32-bit protected, or 64-bit long mode with flat segments. */
static void setup_mode(struct cpu *cpu, uint8_t *ram, unsigned mode)
{
	struct cpu_state *s = &cpu->s;
	const uint16_t code32 = 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G;
	const uint16_t data32 = 0x3 | RV_SEG_S | RV_SEG_P | RV_SEG_DB | RV_SEG_G;
	const uint16_t code64 = 0xb | RV_SEG_S | RV_SEG_P | RV_SEG_L | RV_SEG_G;

	switch (mode % 3) {
	case 0:		/* real mode: the power-on state, code at 0:CODE_GPA */
		s->seg[RV_CS].selector = 0;
		s->seg[RV_CS].base = 0;
		s->rip = CODE_GPA;
		break;
	case 1:		/* flat 32-bit protected mode */
		s->cr0 = RV_CR0_PE | RV_CR0_ET | RV_CR0_NE;
		set_seg(&s->seg[RV_CS], 0x8, code32, 0xffffffff);
		for (int i = RV_ES; i <= RV_GS; i++)
			if (i != RV_CS)
				set_seg(&s->seg[i], 0x10, data32, 0xffffffff);
		s->rip = CODE_GPA;
		break;
	case 2:		/* 64-bit long mode, identity-mapped with 2 MiB pages */
		put64(ram, PML4_GPA, PDPT_GPA | 3);
		put64(ram, PDPT_GPA, PD_GPA | 3);
		for (uint64_t i = 0; i < 512; i++)
			put64(ram, PD_GPA + 8 * i, (i << 21) | 0x83);
		s->cr3 = PML4_GPA;
		s->cr4 = RV_CR4_PAE | RV_CR4_OSFXSR | RV_CR4_OSXMMEXCPT;
		s->efer = RV_EFER_LME | RV_EFER_LMA | RV_EFER_SCE | RV_EFER_NXE;
		s->cr0 = RV_CR0_PE | RV_CR0_PG | RV_CR0_ET | RV_CR0_NE | RV_CR0_WP;
		set_seg(&s->seg[RV_CS], 0x8, code64, 0xffffffff);
		for (int i = RV_ES; i <= RV_GS; i++)
			if (i != RV_CS)
				set_seg(&s->seg[i], 0x10, data32, 0xffffffff);
		s->rip = CODE_GPA;
		break;
	}
	cpu_update_mode(cpu);
	cpu_tlb_flush_all(cpu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static struct cpu_memmap map;
	static struct cpu cpu;
	struct fuzz_input in = { data, size };

	if (!ram) {
		ram = calloc(1, GUEST_RAM);
		if (!ram)
			abort();
		map.count = 1;
		map.slot[0] = (struct cpu_mem_slot){ 0, GUEST_RAM, ram, CPU_SLOT_RAM };
		map.generation = 1;
		cpu_init(&cpu, &map);	/* once: the decode cache is reused, as in a long-lived VM */
	}
	memset(ram, 0, GUEST_RAM);
	cpu_reset(&cpu);
	cpu_tlb_flush_all(&cpu);

	unsigned mode = (unsigned)take(&in, 1);
	setup_mode(&cpu, ram, mode);
	for (int r = 0; r < RV_NR_GPRS; r++)
		cpu.s.gpr[r] = take(&in, 1) & 1 ? take(&in, 8) : take(&in, 2);
	cpu.s.gpr[RV_RSP] = 0x8000;
	uint64_t flags = take(&in, 2) & (CPU_ARITH_FLAGS | RV_FLAG_DF);
	cpu_set_rflags(&cpu, flags | RV_FLAG_FIXED1);

	size_t code_len = in.left < 4096 ? in.left : 4096;
	memcpy(ram + CODE_GPA, in.p, code_len);
	in.p += code_len;
	in.left -= code_len;
	/* The tail of the input feeds the values of I/O and MMIO reads. */
	struct fuzz_input io = { data, size };

	uint64_t budget = BUDGET;
	for (int exits = 0; exits < MAX_EXITS && budget; exits++) {
		uint64_t before = cpu.icount;
		enum cpu_exit why = cpu_run(&cpu, budget);
		uint64_t ran = cpu.icount - before;

		budget = ran >= budget ? 0 : budget - ran;
		if (why == CPU_EXIT_SHUTDOWN || why == CPU_EXIT_INVALID || why == CPU_EXIT_BUDGET)
			break;
		if ((why == CPU_EXIT_IO || why == CPU_EXIT_MMIO) && !cpu.exit.is_write &&
		    cpu.replay.count < CPU_REPLAY_MAX)
			cpu.replay.value[cpu.replay.count++] = take(&io, 8);
		if (why == CPU_EXIT_HLT)
			break;
	}
	return 0;
}
