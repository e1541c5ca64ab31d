/*
 * kvm_api: runs two small L2 guests through the Linux /dev/kvm API and checks
 * every exit. It runs inside a ringvm guest whose kernel loaded kvm_amd on
 * ringvm's nested SVM (tests/linux/kvm-api.sh), so each exit it sees is an
 * L2 #VMEXIT that ringvm delivered to the L1 kernel, which KVM turned into a
 * KVM_RUN return.
 *
 *  - real mode: a port read answered here and written back, MMIO writes and
 *    an MMIO read through DS, a loop of port writes, HLT;
 *  - long mode (entered by KVM_SET_SREGS with our own page tables): a loop
 *    of MMIO writes, MMIO reads answered here and port writes of a running
 *    sum, a store to RAM, HLT; then the registers and memory are read back.
 *
 * Prints one line per part and "kvm_api: all passed" at the end, with the
 * number of exits and the mean time of one exit round trip (KVM_RUN to
 * KVM_RUN). Status 0 when every check holds, 1 with a message otherwise.
 * The guest code is tests/linux/kvm-api/l2.asm, linked in.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

/* Keep in step with l2.asm. */
#define MMIO16    0xa0000u
#define MMIO64    0x40000000u
#define LOOPS     1000
#define ROUNDS    3000

#define MEM_SIZE  (2u << 20)	/* guest memory: two slots, below MMIO16 and from HIGH_AT */
#define HIGH_AT   0x100000u
#define REAL_AT   0x1000u
#define LONG_AT   0x2000u
#define DATA_AT   0x3000u
#define PML4_AT   0x10000u	/* then the PDPT and two page directories */

extern const unsigned char l2_real_start[], l2_real_end[], l2_long_start[], l2_long_end[];

struct vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	int run_size;
	uint8_t *mem;
	unsigned long exits;
	double seconds;		/* spent in KVM_RUN */
};

static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("kvm_api: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		fail("%s: %s", what, strerror(errno));
	return r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void vm_open(struct vm *v)
{
	struct kvm_userspace_memory_region slot = { 0 };
	memset(v, 0, sizeof(*v));
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		fail("open /dev/kvm: %s", strerror(errno));
	if (ioctl(v->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		fail("KVM_GET_API_VERSION is not %d", KVM_API_VERSION);
	v->vm = xioctl(v->kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
	v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED)
		fail("mmap of guest memory: %s", strerror(errno));
	/* Two slots, as on a PC: the MMIO hole at 0xA0000 (real mode) is not RAM. */
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = MMIO16;
	slot.userspace_addr = (uintptr_t)v->mem;
	xioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &slot, "KVM_SET_USER_MEMORY_REGION");
	slot.slot = 1;
	slot.guest_phys_addr = HIGH_AT;
	slot.memory_size = MEM_SIZE - HIGH_AT;
	slot.userspace_addr = (uintptr_t)v->mem + HIGH_AT;
	xioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &slot, "KVM_SET_USER_MEMORY_REGION");
	v->vcpu = xioctl(v->vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
	v->run_size = xioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
	v->run = mmap(NULL, (size_t)v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED)
		fail("mmap of kvm_run: %s", strerror(errno));
}

/* Everything that holds the VM, so that it is gone before the next is made. */
static void vm_close(struct vm *v)
{
	munmap(v->run, (size_t)v->run_size);
	close(v->vcpu);
	close(v->vm);
	close(v->kvm);
	munmap(v->mem, MEM_SIZE);
}

static const char *exit_name(unsigned r)
{
	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	default: return "other";
	}
}

/* One KVM_RUN: the exit reason, after the details of a failed entry are reported. */
static unsigned vm_step(struct vm *v)
{
	double t0 = now();
	struct kvm_regs regs;

	if (ioctl(v->vcpu, KVM_RUN, 0) < 0)
		fail("KVM_RUN: %s", strerror(errno));
	v->seconds += now() - t0;
	v->exits++;
	switch (v->run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		fail("KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx",
		     (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		fail("KVM_EXIT_INTERNAL_ERROR, suberror %u", v->run->internal.suberror);
		break;
	case KVM_EXIT_SHUTDOWN:
		xioctl(v->vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS");
		fail("KVM_EXIT_SHUTDOWN (the L2 guest triple-faulted) at rip 0x%llx", (unsigned long long)regs.rip);
		break;
	}
	return v->run->exit_reason;
}

static void expect_reason(struct vm *v, unsigned want, const char *what)
{
	unsigned r = vm_step(v);

	if (r == want)
		return;
	if (r == KVM_EXIT_IO)
		fail("%s: exit %s port 0x%x size %u, want %s", what, v->run->io.direction == KVM_EXIT_IO_OUT ?
		     "out" : "in", v->run->io.port, v->run->io.size, exit_name(want));
	if (r == KVM_EXIT_MMIO)
		fail("%s: exit MMIO %s at 0x%llx len %u, want %s", what, v->run->mmio.is_write ? "write" : "read",
		     (unsigned long long)v->run->mmio.phys_addr, v->run->mmio.len, exit_name(want));
	fail("%s: exit %u (%s), want %s", what, r, exit_name(r), exit_name(want));
}

/* The next exit is a port access: its direction, port and size; its data (the first of count). */
static uint8_t *expect_io(struct vm *v, int dir, unsigned port, unsigned size, const char *what)
{
	struct kvm_run *run = v->run;

	expect_reason(v, KVM_EXIT_IO, what);
	if (run->io.direction != dir || run->io.port != port || run->io.size != size || run->io.count != 1)
		fail("%s: port exit %s port 0x%x size %u count %u, want %s port 0x%x size %u count 1", what,
		     run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port, run->io.size,
		     run->io.count, dir == KVM_EXIT_IO_OUT ? "out" : "in", port, size);
	return (uint8_t *)run + run->io.data_offset;
}

/* The next exit is an MMIO access: its address, size and direction; its data buffer. */
static uint8_t *expect_mmio(struct vm *v, int is_write, uint64_t addr, unsigned len, const char *what)
{
	struct kvm_run *run = v->run;

	expect_reason(v, KVM_EXIT_MMIO, what);
	if (run->mmio.is_write != is_write || run->mmio.phys_addr != addr || run->mmio.len != len)
		fail("%s: MMIO %s at 0x%llx len %u, want %s at 0x%llx len %u", what,
		     run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
		     run->mmio.len, is_write ? "write" : "read", (unsigned long long)addr, len);
	return run->mmio.data;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t x = 0;

	while (n--)
		x = x << 8 | p[n];
	return x;
}

static void put_le(uint8_t *p, uint64_t x, unsigned n)
{
	while (n--) {
		*p++ = (uint8_t)x;
		x >>= 8;
	}
}

static void check_halted(struct vm *v, uint64_t rax, uint64_t rax_mask, const char *what)
{
	struct kvm_regs regs;

	expect_reason(v, KVM_EXIT_HLT, what);
	xioctl(v->vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS");
	if ((regs.rax & rax_mask) != rax)
		fail("%s: RAX 0x%llx at HLT, want 0x%llx", what, (unsigned long long)(regs.rax & rax_mask),
		     (unsigned long long)rax);
}

static void report(const char *part, const struct vm *v)
{
	printf("kvm_api: %s: passed, %lu exits, %.1f us per exit round trip\n", part, v->exits,
	       v->exits ? v->seconds * 1e6 / (double)v->exits : 0.0);
}

static void real_mode(unsigned long *exits, double *secs)
{
	struct vm v;
	struct kvm_sregs s;
	struct kvm_regs regs = { 0 };
	uint8_t *d;
	int i;

	vm_open(&v);
	memcpy(v.mem + REAL_AT, l2_real_start, (size_t)(l2_real_end - l2_real_start));
	xioctl(v.vcpu, KVM_GET_SREGS, &s, "KVM_GET_SREGS");
	s.cs.selector = 0;
	s.cs.base = 0;
	xioctl(v.vcpu, KVM_SET_SREGS, &s, "KVM_SET_SREGS");
	regs.rip = REAL_AT;
	regs.rflags = 2;
	xioctl(v.vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

	d = expect_io(&v, KVM_EXIT_IO_IN, 0x10, 1, "real mode: in al, dx");
	*d = 0x5a;
	d = expect_io(&v, KVM_EXIT_IO_OUT, 0x10, 1, "real mode: out dx, al");
	if (*d != 0x5b)
		fail("real mode: port 0x10 got 0x%x, want 0x5b", *d);
	d = expect_mmio(&v, 1, MMIO16, 1, "real mode: mov byte [0], 0x42");
	if (*d != 0x42)
		fail("real mode: MMIO write of 0x%x, want 0x42", *d);
	d = expect_mmio(&v, 0, MMIO16 + 2, 2, "real mode: mov bx, [2]");
	put_le(d, 0x1234, 2);
	d = expect_mmio(&v, 1, MMIO16 + 4, 2, "real mode: mov [4], bx");
	if (le(d, 2) != 0x1234)
		fail("real mode: MMIO write of 0x%llx, want 0x1234", (unsigned long long)le(d, 2));
	for (i = LOOPS; i > 0; i--) {
		d = expect_io(&v, KVM_EXIT_IO_OUT, 0x11, 1, "real mode: loop of out 0x11, al");
		if (*d != (uint8_t)i)
			fail("real mode: loop write %d was 0x%x, want 0x%x", LOOPS - i, *d, (uint8_t)i);
	}
	check_halted(&v, 0x600d, 0xffff, "real mode: hlt");
	report("real mode", &v);
	*exits += v.exits;
	*secs += v.seconds;
	vm_close(&v);
}

/* Identity-maps the first 2 GiB with 2 MiB pages (the MMIO hole included). */
static void page_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + PML4_AT), *pdpt = pml4 + 512, *pd = pdpt + 512;
	unsigned i;

	pml4[0] = (PML4_AT + 0x1000) | 3;		/* present, writable */
	pdpt[0] = (PML4_AT + 0x2000) | 3;
	pdpt[1] = (PML4_AT + 0x3000) | 3;
	for (i = 0; i < 1024; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* present, writable, 2 MiB */
}

static void long_mode(unsigned long *exits, double *secs)
{
	struct vm v;
	struct kvm_sregs s;
	struct kvm_regs regs = { 0 };
	struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
				    .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment data = { .base = 0, .limit = 0xffffffff, .selector = 16, .type = 3,
				    .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
	uint64_t sum = 0;
	uint8_t *d;
	uint32_t i;

	vm_open(&v);
	memcpy(v.mem + LONG_AT, l2_long_start, (size_t)(l2_long_end - l2_long_start));
	page_tables(v.mem);
	xioctl(v.vcpu, KVM_GET_SREGS, &s, "KVM_GET_SREGS");
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr3 = PML4_AT;
	s.cr4 = 0x20;					/* PAE */
	s.cr0 = 0x80050033;				/* PG, AM, WP, NE, ET, MP, PE */
	s.efer = 0x500;					/* LMA, LME */
	xioctl(v.vcpu, KVM_SET_SREGS, &s, "KVM_SET_SREGS");
	regs.rip = LONG_AT;
	regs.rflags = 2;
	xioctl(v.vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

	for (i = ROUNDS; i > 0; i--) {
		d = expect_mmio(&v, 1, MMIO64, 4, "long mode: mov [rdi], ecx");
		if (le(d, 4) != i)
			fail("long mode: MMIO write %u of %llu, want %u", ROUNDS - i, (unsigned long long)le(d, 4), i);
		d = expect_mmio(&v, 0, MMIO64 + 8, 4, "long mode: mov eax, [rdi + 8]");
		put_le(d, (uint64_t)i * 3, 4);
		sum += (uint64_t)i * 3;
		d = expect_io(&v, KVM_EXIT_IO_OUT, 0x12, 4, "long mode: out 0x12, eax");
		if (le(d, 4) != (uint32_t)sum)
			fail("long mode: port write %u of 0x%llx, want 0x%llx", ROUNDS - i,
			     (unsigned long long)le(d, 4), (unsigned long long)(uint32_t)sum);
	}
	check_halted(&v, 0x1122334455667788ull, ~0ull, "long mode: hlt");
	xioctl(v.vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS");
	if (regs.rbx != sum || regs.rcx != 0)
		fail("long mode: RBX 0x%llx RCX 0x%llx at HLT, want 0x%llx and 0", (unsigned long long)regs.rbx,
		     (unsigned long long)regs.rcx, (unsigned long long)sum);
	if (le(v.mem + DATA_AT, 8) != 0x1122334455667788ull)
		fail("long mode: RAM at 0x%x holds 0x%llx", DATA_AT, (unsigned long long)le(v.mem + DATA_AT, 8));
	report("long mode", &v);
	*exits += v.exits;
	*secs += v.seconds;
	vm_close(&v);
}

int main(void)
{
	unsigned long exits = 0;
	double secs = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	real_mode(&exits, &secs);
	long_mode(&exits, &secs);
	printf("kvm_api: all passed, %lu exits, %.1f us per exit round trip\n", exits, secs * 1e6 / (double)exits);
	return 0;
}
