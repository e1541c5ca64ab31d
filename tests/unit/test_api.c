/* libringvm API with the software engine: tiny guests run to HLT, I/O and MMIO exits, ROM, SMC. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"
#include "ringvm/ringvm.h"

#define RAM_SIZE (4u << 20)

struct guest {
	struct rv_vm *vm;
	struct rv_vcpu *vcpu;
	uint8_t *ram;
};

static void guest_new(struct guest *g)
{
	struct rv_vm_config cfg = test_vm_config();

	g->ram = aligned_alloc(4096, RAM_SIZE);
	assert_non_null(g->ram);
	memset(g->ram, 0, RAM_SIZE);
	assert_int_equal(rv_vm_create(&g->vm, &cfg), 0);
	assert_int_equal(rv_vm_map(g->vm, 0, RAM_SIZE, RV_MEM_RAM, g->ram), 0);
	assert_int_equal(rv_vcpu_create(g->vm, 0, &g->vcpu), 0);
}

static void guest_free(struct guest *g)
{
	rv_vm_destroy(g->vm);
	free(g->ram);
}

/* Real mode, CS = DS = SS = 0, IP = ip. */
static void guest_real(struct guest *g, uint16_t ip)
{
	struct rv_sregs s;
	struct rv_regs r;

	assert_int_equal(rv_vcpu_get_sregs(g->vcpu, &s), 0);
	for (int i = 0; i < 6; i++) {
		s.seg[i].selector = 0;
		s.seg[i].base = 0;
	}
	assert_int_equal(rv_vcpu_set_sregs(g->vcpu, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = ip;
	r.rflags = 2;
	r.gpr[RV_RSP] = 0x8000;
	assert_int_equal(rv_vcpu_set_regs(g->vcpu, &r), 0);
}

static void flat_seg(struct rv_segment *s, uint16_t sel, uint16_t attrib)
{
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->attrib = attrib;
}

/* 32-bit flat protected mode, no paging. */
static void guest_prot32(struct guest *g, uint32_t eip)
{
	struct rv_sregs s;
	struct rv_regs r;

	assert_int_equal(rv_vcpu_get_sregs(g->vcpu, &s), 0);
	flat_seg(&s.seg[RV_CS], 0x08, 0xc9b);
	for (int i = 0; i < 6; i++)
		if (i != RV_CS)
			flat_seg(&s.seg[i], 0x10, 0xc93);
	s.cr0 = RV_CR0_PE | RV_CR0_ET | RV_CR0_NE;
	assert_int_equal(rv_vcpu_set_sregs(g->vcpu, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = eip;
	r.rflags = 2;
	r.gpr[RV_RSP] = 0x80000;
	assert_int_equal(rv_vcpu_set_regs(g->vcpu, &r), 0);
}

/* 64-bit mode with 2 MiB identity pages for the first 1 GiB (tables at 0x1000). */
static void guest_long64(struct guest *g, uint64_t rip)
{
	struct rv_sregs s;
	struct rv_regs r;
	uint64_t *pml4 = (uint64_t *)(g->ram + 0x1000);
	uint64_t *pdpt = (uint64_t *)(g->ram + 0x2000);
	uint64_t *pd = (uint64_t *)(g->ram + 0x3000);

	pml4[0] = 0x2000 | 7;
	pdpt[0] = 0x3000 | 7;
	for (int i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x87;
	assert_int_equal(rv_vcpu_get_sregs(g->vcpu, &s), 0);
	flat_seg(&s.seg[RV_CS], 0x08, 0xa9b);
	for (int i = 0; i < 6; i++)
		if (i != RV_CS)
			flat_seg(&s.seg[i], 0x10, 0xc93);
	s.cr0 = RV_CR0_PE | RV_CR0_ET | RV_CR0_NE | RV_CR0_PG | RV_CR0_WP;
	s.cr3 = 0x1000;
	s.cr4 = RV_CR4_PAE;
	s.efer = RV_EFER_LME | RV_EFER_LMA | RV_EFER_NXE;
	assert_int_equal(rv_vcpu_set_sregs(g->vcpu, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = rip;
	r.rflags = 2;
	r.gpr[RV_RSP] = 0x80000;
	assert_int_equal(rv_vcpu_set_regs(g->vcpu, &r), 0);
}

static void code(struct guest *g, uint64_t at, const void *bytes, size_t n)
{
	memcpy(g->ram + at, bytes, n);
}

static void test_power_on_state(void **state)
{
	struct guest g;
	struct rv_regs r;
	struct rv_sregs s;

	guest_new(&g);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(rv_vcpu_get_sregs(g.vcpu, &s), 0);
	assert_int_equal(r.rip, 0xfff0);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(s.seg[RV_CS].selector, 0xf000);
	assert_int_equal(s.seg[RV_CS].base, 0xffff0000);
	assert_int_equal(s.seg[RV_CS].limit, 0xffff);
	assert_int_equal(s.cr0, 0x60000010);
	assert_false(rv_vcpu_halted(g.vcpu));
	guest_free(&g);
}

static void test_reset_vector_rom(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	uint8_t *rom = aligned_alloc(4096, 0x10000);
	/* at FFFF:FFF0 -> F000:FFF0: mov ax, 0x55aa; mov [cs:0xfff0], al (dropped: ROM); mov bl, [cs:0xfff0]; hlt */
	static const uint8_t prog[] = { 0xb8, 0xaa, 0x55, 0x2e, 0xa2, 0xf0, 0xff, 0x2e, 0x8a, 0x1e, 0xf0, 0xff, 0xf4 };

	guest_new(&g);
	memset(rom, 0xf4, 0x10000);
	memcpy(rom + 0xfff0 - 0x10, prog, sizeof(prog));
	/* entry jumps back 16 bytes: EB EE */
	rom[0xfff0] = 0xeb;
	rom[0xfff1] = (uint8_t)-0x12;
	assert_int_equal(rv_vm_map(g.vm, 0xffff0000, 0x10000, RV_MEM_ROM, rom), 0);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_true(rv_vcpu_halted(g.vcpu));
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RAX] & 0xffff, 0x55aa);
	assert_int_equal(r.gpr[RV_RBX] & 0xff, 0xeb);	/* the ROM kept its byte */
	assert_int_equal(rom[0xfff0], 0xeb);
	guest_free(&g);
	free(rom);
}

static void test_real_mode_io(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	struct rv_vcpu_stats st;
	static const uint8_t prog[] = {
		0xb8, 0x34, 0x12,	/* mov ax, 0x1234 */
		0x89, 0xc3,		/* mov bx, ax */
		0x01, 0xd8,		/* add ax, bx */
		0xe6, 0x80,		/* out 0x80, al */
		0xe4, 0x60,		/* in al, 0x60 */
		0xa3, 0x00, 0x20,	/* mov [0x2000], ax */
		0xf4,			/* hlt */
	};

	guest_new(&g);
	guest_real(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_IO);
	assert_int_equal(e.io.port, 0x80);
	assert_true(e.io.is_write);
	assert_int_equal(e.io.size, 1);
	assert_int_equal(e.io.data, 0x68);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_IO);
	assert_int_equal(e.io.port, 0x60);
	assert_false(e.io.is_write);
	e.io.data = 0x5a;
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RAX] & 0xffff, 0x245a);
	assert_int_equal(r.rip, 0x1000 + sizeof(prog));
	assert_int_equal(g.ram[0x2000], 0x5a);
	assert_int_equal(g.ram[0x2001], 0x24);
	assert_int_equal(rv_vcpu_get_stats(g.vcpu, &st), 0);
	assert_int_equal(st.instructions, 7);
	assert_int_equal(st.exits, 3);
	/* halted without an interrupt: HLT again */
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	guest_free(&g);
}

static void test_real_mode_loop(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	/* cx = 1000; ax = 0; l: add ax, cx; dec cx; jnz l; call f; hlt; f: push ax; pop dx; ret */
	static const uint8_t prog[] = {
		0xb9, 0xe8, 0x03, 0x31, 0xc0, 0x01, 0xc8, 0x49, 0x75, 0xfb,
		0xe8, 0x01, 0x00, 0xf4, 0x50, 0x5a, 0xc3,
	};

	guest_new(&g);
	guest_real(&g, 0x7c00);
	code(&g, 0x7c00, prog, sizeof(prog));
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RAX] & 0xffff, (1000 * 1001 / 2) & 0xffff);
	assert_int_equal(r.gpr[RV_RDX] & 0xffff, (1000 * 1001 / 2) & 0xffff);
	assert_int_equal(r.gpr[RV_RSP], 0x8000);
	guest_free(&g);
}

static void test_long64_program(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	static const uint8_t prog[] = {
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,	/* mov rax, 0x1122334455667788 */
		0x50,								/* push rax */
		0x5b,								/* pop rbx */
		0x48, 0x8d, 0x0c, 0x43,						/* lea rcx, [rbx+rax*2] */
		0x49, 0x89, 0xc8,						/* mov r8, rcx */
		0x41, 0xff, 0xc0,						/* inc r8d */
		0x48, 0x89, 0x05, 0x10, 0x00, 0x00, 0x00,			/* mov [rip+0x10], rax */
		0x48, 0x63, 0xd0,						/* movsxd rdx, eax */
		0xf4,
	};

	guest_new(&g);
	guest_long64(&g, 0x10000);
	code(&g, 0x10000, prog, sizeof(prog));
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RBX], 0x1122334455667788ull);
	assert_int_equal(r.gpr[RV_RCX], 0x1122334455667788ull * 3);
	assert_int_equal(r.gpr[RV_R8], (uint32_t)(0x1122334455667788ull * 3 + 1));
	assert_int_equal(r.gpr[RV_RDX], 0x55667788);
	assert_int_equal(r.gpr[RV_RSP], 0x80000);
	{
		uint64_t stored;

		memcpy(&stored, g.ram + 0x10000 + 29 + 0x10, 8);
		assert_int_equal(stored, 0x1122334455667788ull);
	}
	/* accessed and dirty bits of the 2 MiB page were set */
	assert_true(*(uint64_t *)(g.ram + 0x3000) & 0x60);
	guest_free(&g);
}

static void test_mmio_hole(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	static const uint8_t prog[] = {
		0xa1, 0x00, 0x00, 0xe0, 0xfe,		/* mov eax, [0xfee00000] */
		0x40,					/* inc eax */
		0xa3, 0x10, 0x00, 0xe0, 0xfe,		/* mov [0xfee00010], eax */
		0x83, 0x05, 0x20, 0x00, 0xe0, 0xfe, 0x05,	/* add dword [0xfee00020], 5 */
		0xf4,
	};

	guest_new(&g);
	guest_prot32(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_MMIO);
	assert_int_equal(e.mmio.gpa, 0xfee00000);
	assert_int_equal(e.mmio.size, 4);
	assert_false(e.mmio.is_write);
	e.mmio.data = 0x41;
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_MMIO);
	assert_int_equal(e.mmio.gpa, 0xfee00010);
	assert_true(e.mmio.is_write);
	assert_int_equal(e.mmio.data, 0x42);
	/* read-modify-write on MMIO: a read exit, then a write exit with the sum */
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_MMIO);
	assert_int_equal(e.mmio.gpa, 0xfee00020);
	assert_false(e.mmio.is_write);
	e.mmio.data = 10;
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_MMIO);
	assert_true(e.mmio.is_write);
	assert_int_equal(e.mmio.data, 15);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RAX], 0x42);
	guest_free(&g);
}

static void test_self_modifying(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	/*
	 * l: mov eax, 1 (patched to mov eax, 2 by the store below, after it ran once)
	 *    add ebx, eax; cmp ebx, 3; je done; mov byte [l+1], 2; jmp l; done: hlt
	 */
	static const uint8_t prog[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00,		/* 1000: mov eax, 1 */
		0x01, 0xc3,				/* 1005: add ebx, eax */
		0x83, 0xfb, 0x03,			/* 1007: cmp ebx, 3 */
		0x74, 0x09,				/* 100a: je 1015 */
		0xc6, 0x05, 0x01, 0x10, 0x00, 0x00, 0x02,	/* 100c: mov byte [0x1001], 2 */
		0xeb, 0xe5,				/* 1013: jmp 1000... */
		0xf4,					/* 1015: hlt */
	};

	guest_new(&g);
	guest_prot32(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	g.ram[0x1014] = (uint8_t)(0x1000 - 0x1015);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RBX], 3);
	assert_int_equal(r.gpr[RV_RAX], 2);
	guest_free(&g);
}

static void test_map_errors(void **state)
{
	struct guest g;
	uint8_t *buf = aligned_alloc(4096, 8192);
	struct rv_vcpu *v;

	guest_new(&g);
	assert_int_equal(rv_vm_map(g.vm, 0x1000, 0x1000, RV_MEM_RAM, buf), -EEXIST);
	assert_int_equal(rv_vm_map(g.vm, 0x10000001, 0x1000, RV_MEM_RAM, buf), -EINVAL);
	assert_int_equal(rv_vm_map(g.vm, 0x10000000, 0x1001, RV_MEM_RAM, buf), -EINVAL);
	assert_int_equal(rv_vm_map(g.vm, 0x10000000, 0x2000, RV_MEM_RAM, buf), 0);
	assert_int_equal(rv_vm_unmap(g.vm, 0x10000000), 0);
	assert_int_equal(rv_vm_unmap(g.vm, 0x10000000), -ENOENT);
	assert_int_equal(rv_vcpu_create(g.vm, 0, &v), -EEXIST);
	assert_string_equal(rv_exit_reason_name(RV_EXIT_MMIO), "mmio");
	guest_free(&g);
	free(buf);
}

static void test_interrupt_wakes_hlt(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	/* sti; hlt; mov cx, 1; hlt */
	static const uint8_t prog[] = { 0xfb, 0xf4, 0xb9, 0x01, 0x00, 0xf4 };
	/* vector 0x20 handler at 0:3000: mov bx, 0x77; iret */
	static const uint8_t isr[] = { 0xbb, 0x77, 0x00, 0xcf };

	guest_new(&g);
	guest_real(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	code(&g, 0x3000, isr, sizeof(isr));
	g.ram[0x20 * 4] = 0x00;
	g.ram[0x20 * 4 + 1] = 0x30;
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_true(rv_vcpu_halted(g.vcpu));
	assert_int_equal(rv_vcpu_interrupt(g.vcpu, 0x20), 0);
	assert_int_equal(rv_vcpu_interrupt(g.vcpu, 0x21), -EBUSY);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RBX] & 0xffff, 0x77);
	assert_int_equal(r.gpr[RV_RCX] & 0xffff, 1);
	assert_int_equal(r.rip, 0x1006);
	assert_int_equal(r.gpr[RV_RSP], 0x8000);
	guest_free(&g);
}

static void test_irq_window_kick_singlestep(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	/* nop; sti; nop; nop; hlt */
	static const uint8_t prog[] = { 0x90, 0xfb, 0x90, 0x90, 0xf4 };

	guest_new(&g);
	guest_real(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	/* a kick before the run makes it return at once */
	rv_vcpu_kick(g.vcpu);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_KICK);
	/* single step: one instruction per run */
	assert_int_equal(rv_vcpu_set_intercepts(g.vcpu, RV_INTERCEPT_HLT | RV_INTERCEPT_SINGLESTEP), 0);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_DEBUG);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.rip, 0x1001);
	assert_int_equal(rv_vcpu_set_intercepts(g.vcpu, RV_INTERCEPT_HLT), 0);
	/* the window opens after STI and the instruction in its shadow */
	rv_vcpu_set_irq_window_exit(g.vcpu, true);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_IRQ_WINDOW);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.rip, 0x1003);
	rv_vcpu_set_irq_window_exit(g.vcpu, false);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	guest_free(&g);
}

static void test_invalid_state(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_sregs s;

	guest_new(&g);
	assert_int_equal(rv_vcpu_get_sregs(g.vcpu, &s), 0);
	s.cr0 = RV_CR0_PG | RV_CR0_ET;		/* paging without protection */
	assert_int_equal(rv_vcpu_set_sregs(g.vcpu, &s), 0);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_INVALID_STATE);
	assert_non_null(e.invalid.check);
	guest_free(&g);
}

static void test_string_io(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	/* mov dx, 0x3f8; mov si, 0x2000; mov cx, 3; cld; rep outsb; mov di, 0x2100; mov cx, 2; rep insb; hlt */
	static const uint8_t prog[] = {
		0xba, 0xf8, 0x03, 0xbe, 0x00, 0x20, 0xb9, 0x03, 0x00, 0xfc, 0xf3, 0x6e,
		0xbf, 0x00, 0x21, 0xb9, 0x02, 0x00, 0xf3, 0x6c, 0xf4,
	};

	guest_new(&g);
	guest_real(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	memcpy(g.ram + 0x2000, "abc", 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
		assert_int_equal(e.reason, RV_EXIT_IO);
		assert_true(e.io.is_write);
		assert_int_equal(e.io.port, 0x3f8);
		assert_int_equal(e.io.data, "abc"[i]);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
		assert_int_equal(e.reason, RV_EXIT_IO);
		assert_false(e.io.is_write);
		e.io.data = 'x' + i;
	}
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(g.ram[0x2100], 'x');
	assert_int_equal(g.ram[0x2101], 'y');
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RCX] & 0xffff, 0);
	assert_int_equal(r.gpr[RV_RDI] & 0xffff, 0x2102);
	guest_free(&g);
}

struct runner {
	struct rv_vcpu *vcpu;
	struct rv_exit exit;
	int ret;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->ret = rv_vcpu_run(r->vcpu, &r->exit);
	return NULL;
}

/* Run the guest's vCPU on another thread, kick it after 20 ms: the run must end with RV_EXIT_KICK. */
static void run_and_kick(struct guest *g)
{
	struct runner r = { .vcpu = g->vcpu };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, run_thread, &r), 0);
	usleep(20000);
	rv_vcpu_kick(g->vcpu);
	pthread_join(t, NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.exit.reason, RV_EXIT_KICK);
}

static void test_kick_from_thread(void **state)
{
	struct guest g;
	static const uint8_t prog[] = { 0xeb, 0xfe };	/* jmp $ */

	guest_new(&g);
	guest_real(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	run_and_kick(&g);
	guest_free(&g);
}

/*
 * A kick reaches a loop whose forward jump enters a block that writes the
 * flags first (the translator chains such a jump past the block's
 * exit-request check: its backward jump must still look).
 */
static void test_kick_forward_loop(void **state)
{
	struct guest g;
	static const uint8_t prog[] = {
		0x83, 0xc0, 0x01,	/* 0x1000: add eax, 1 */
		0xeb, 0x10,		/*         jmp 0x1015 */
	};
	static const uint8_t fwd[] = {
		0x83, 0xc3, 0x01,	/* 0x1015: add ebx, 1 */
		0x83, 0xf8, 0x00,	/*         cmp eax, 0 */
		0x75, 0xe3,		/*         jne 0x1000 */
		0xf4,			/*         hlt */
	};
	struct rv_regs regs;

	guest_new(&g);
	guest_prot32(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	code(&g, 0x1015, fwd, sizeof(fwd));
	run_and_kick(&g);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &regs), 0);
	/* stopped at a block boundary, the two counters in step */
	assert_true(regs.gpr[RV_RAX] > 1000);
	assert_true(regs.gpr[RV_RBX] == regs.gpr[RV_RAX] || regs.gpr[RV_RBX] + 1 == regs.gpr[RV_RAX]);
	guest_free(&g);
}

/* With the HLT intercept off, HLT sleeps in the engine until an interrupt arrives. */
static void test_hlt_waits_without_intercept(void **state)
{
	struct guest g;
	struct runner r = { 0 };
	pthread_t t;
	struct rv_regs regs;
	/* sti; hlt; out 0x80, al */
	static const uint8_t prog[] = { 0xfb, 0xf4, 0xe6, 0x80 };
	static const uint8_t isr[] = { 0xb0, 0x42, 0xcf };	/* mov al, 0x42; iret */

	guest_new(&g);
	guest_real(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	code(&g, 0x3000, isr, sizeof(isr));
	g.ram[0x30 * 4 + 1] = 0x30;
	assert_int_equal(rv_vcpu_set_intercepts(g.vcpu, 0), 0);
	r.vcpu = g.vcpu;
	assert_int_equal(pthread_create(&t, NULL, run_thread, &r), 0);
	usleep(20000);
	assert_int_equal(rv_vcpu_interrupt(g.vcpu, 0x30), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.exit.reason, RV_EXIT_IO);
	assert_int_equal(r.exit.io.data, 0x42);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &regs), 0);
	assert_int_equal(regs.rip, 0x1002);
	guest_free(&g);
}

/* Two vCPUs increment one counter with LOCK INC: host atomics make it exact. */
static void test_smp_lock_inc(void **state)
{
	struct guest g;
	struct rv_vcpu *v1;
	struct runner r0 = { 0 }, r1 = { 0 };
	pthread_t t0, t1;
	struct rv_sregs s;
	struct rv_regs regs;
	uint32_t count;
	/* mov ecx, 200000; l: lock inc dword [0x5000]; dec ecx; jnz l; hlt */
	static const uint8_t prog[] = {
		0xb9, 0x40, 0x0d, 0x03, 0x00, 0xf0, 0xff, 0x05, 0x00, 0x50, 0x00, 0x00,
		0x49, 0x75, 0xf6, 0xf4,
	};

	guest_new(&g);
	guest_prot32(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	assert_int_equal(rv_vcpu_create(g.vm, 1, &v1), 0);
	assert_int_equal(rv_vcpu_get_sregs(g.vcpu, &s), 0);
	assert_int_equal(rv_vcpu_set_sregs(v1, &s), 0);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &regs), 0);
	assert_int_equal(rv_vcpu_set_regs(v1, &regs), 0);
	r0.vcpu = g.vcpu;
	r1.vcpu = v1;
	assert_int_equal(pthread_create(&t0, NULL, run_thread, &r0), 0);
	assert_int_equal(pthread_create(&t1, NULL, run_thread, &r1), 0);
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);
	assert_int_equal(r0.exit.reason, RV_EXIT_HLT);
	assert_int_equal(r1.exit.reason, RV_EXIT_HLT);
	memcpy(&count, g.ram + 0x5000, 4);
	assert_int_equal(count, 400000);
	guest_free(&g);
}

/* A remap between runs is seen at once: no access goes through a stale TLB entry. */
static void test_remap_flushes(void **state)
{
	struct guest g;
	struct rv_exit e;
	struct rv_regs r;
	uint8_t *a = aligned_alloc(4096, 4096), *b = aligned_alloc(4096, 4096);
	/* mov eax, [0x800000]; mov dword [0x800004], 0x99; hlt */
	static const uint8_t prog[] = {
		0xa1, 0x00, 0x00, 0x80, 0x00, 0xc7, 0x05, 0x04, 0x00, 0x80, 0x00, 0x99, 0x00, 0x00, 0x00, 0xf4,
	};

	guest_new(&g);
	memset(a, 0x11, 4096);
	memset(b, 0x22, 4096);
	assert_int_equal(rv_vm_map(g.vm, 0x800000, 4096, RV_MEM_RAM, a), 0);
	guest_prot32(&g, 0x1000);
	code(&g, 0x1000, prog, sizeof(prog));
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RAX], 0x11111111);
	assert_int_equal(a[4], 0x99);
	/* swap the page for another: both the read and the write must see b */
	assert_int_equal(rv_vm_unmap(g.vm, 0x800000), 0);
	assert_int_equal(rv_vm_map(g.vm, 0x800000, 4096, RV_MEM_RAM, b), 0);
	guest_prot32(&g, 0x1000);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_HLT);
	assert_int_equal(rv_vcpu_get_regs(g.vcpu, &r), 0);
	assert_int_equal(r.gpr[RV_RAX], 0x22222222);
	assert_int_equal(b[4], 0x99);
	assert_int_equal(a[8], 0x11);
	/* unmapped: the page is a hole now */
	assert_int_equal(rv_vm_unmap(g.vm, 0x800000), 0);
	guest_prot32(&g, 0x1000);
	assert_int_equal(rv_vcpu_run(g.vcpu, &e), 0);
	assert_int_equal(e.reason, RV_EXIT_MMIO);
	assert_int_equal(e.mmio.gpa, 0x800000);
	guest_free(&g);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_on_state),
		cmocka_unit_test(test_reset_vector_rom),
		cmocka_unit_test(test_real_mode_io),
		cmocka_unit_test(test_real_mode_loop),
		cmocka_unit_test(test_long64_program),
		cmocka_unit_test(test_mmio_hole),
		cmocka_unit_test(test_self_modifying),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_interrupt_wakes_hlt),
		cmocka_unit_test(test_irq_window_kick_singlestep),
		cmocka_unit_test(test_invalid_state),
		cmocka_unit_test(test_string_io),
		cmocka_unit_test(test_kick_from_thread),
		cmocka_unit_test(test_kick_forward_loop),
		cmocka_unit_test(test_hlt_waits_without_intercept),
		cmocka_unit_test(test_smp_lock_inc),
		cmocka_unit_test(test_remap_flushes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
