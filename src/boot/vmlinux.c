/* An x86-64 Linux vmlinux (ELF64): the notes that identify it, its PT_LOAD segments and entry, all checked, and loading them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/vmlinux.h"
#include "common/le.h"

/* ELF-64 Object File Format 1.5 and the System V ABI (x86-64 supplement). */
#define EHDR_SIZE    64
#define PHDR_SIZE    56
#define ELFCLASS64   2
#define ELFDATA2LSB  1
#define ET_EXEC      2
#define EM_X86_64    62
#define PT_LOAD      1
#define PT_NOTE      4
#define PF_X         1

/* Xen's ELF notes (xen/include/public/elfnote.h): every x86-64 Linux carries them. */
#define XEN_ELFNOTE_GUEST_OS 6

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* The ELF identification and header fields a 64-bit x86 executable must have. */
static bool vmlinux_is_elf64_x86(const uint8_t *f, size_t size)
{
	return size >= EHDR_SIZE && !memcmp(f, "\x7f" "ELF", 4) && f[4] == ELFCLASS64 &&
	       f[5] == ELFDATA2LSB && get16(f + 16) == ET_EXEC && get16(f + 18) == EM_X86_64;
}

/* The program header table, when it lies in the file with entries of the right size. */
static const uint8_t *vmlinux_phdrs(const uint8_t *f, size_t size, unsigned *count)
{
	uint64_t phoff = get64(f + 32);
	unsigned entsize = get16(f + 54), num = get16(f + 56);

	if (entsize < PHDR_SIZE || phoff > size || (uint64_t)entsize * num > size - phoff)
		return NULL;
	*count = num;
	return f + phoff;
}

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

/* One note segment: is there an owner "Linux" note, or Xen's GUEST_OS = "linux"? */
static bool vmlinux_notes_say_linux(const uint8_t *p, size_t len)
{
	size_t pos = 0;

	while (len - pos >= 12) {
		size_t namesz = get32(p + pos), descsz = get32(p + pos + 4);
		uint32_t type = get32(p + pos + 8);
		const uint8_t *name = p + pos + 12, *desc;

		if (namesz > len - pos - 12 || align4(namesz) > len - pos - 12)
			return false;
		desc = name + align4(namesz);
		if (descsz > len - (size_t)(desc - p) || align4(descsz) > len - (size_t)(desc - p))
			return false;
		if (namesz == 6 && !memcmp(name, "Linux", 6))
			return true;
		if (namesz == 4 && !memcmp(name, "Xen", 4) && type == XEN_ELFNOTE_GUEST_OS &&
		    descsz >= 5 && !memcmp(desc, "linux", 5))
			return true;
		pos = (size_t)(desc - p) + align4(descsz);
	}
	return false;
}

bool vmlinux_probe(const uint8_t *f, size_t size)
{
	const uint8_t *ph;
	unsigned n, i;

	if (!vmlinux_is_elf64_x86(f, size))
		return false;
	ph = vmlinux_phdrs(f, size, &n);
	if (!ph)
		return false;
	for (i = 0; i < n; i++, ph += get16(f + 54)) {
		uint64_t off = get64(ph + 8), len = get64(ph + 32);

		if (get32(ph) != PT_NOTE || off > size || len > size - off)
			continue;
		if (vmlinux_notes_say_linux(f + off, (size_t)len))
			return true;
	}
	return false;
}

int vmlinux_parse(const uint8_t *f, size_t size, struct vmlinux *vm, char *err, size_t errlen)
{
	const uint8_t *ph;
	unsigned n, i, j;
	uint64_t entry;
	bool entry_found = false;

	memset(vm, 0, sizeof(*vm));
	if (size < EHDR_SIZE || memcmp(f, "\x7f" "ELF", 4))
		return fail(err, errlen, -ENOEXEC, "not an ELF file");
	if (!vmlinux_is_elf64_x86(f, size))
		return fail(err, errlen, -ENOEXEC,
			    "not an ELF64 little-endian x86-64 executable (class %u, data %u, type %u, machine %u)",
			    f[4], f[5], get16(f + 16), get16(f + 18));
	ph = vmlinux_phdrs(f, size, &n);
	if (!ph)
		return fail(err, errlen, -ENOEXEC, "ELF program headers lie beyond the end of the file");
	vm->image = f;
	vm->size = size;
	vm->start = UINT64_MAX;
	for (i = 0; i < n; i++, ph += get16(f + 54)) {
		struct vmlinux_segment *s;
		uint64_t off = get64(ph + 8), paddr = get64(ph + 24);
		uint64_t filesz = get64(ph + 32), memsz = get64(ph + 40);

		if (get32(ph) != PT_LOAD || memsz == 0)
			continue;
		if (vm->nr_segments == VMLINUX_MAX_SEGMENTS)
			return fail(err, errlen, -ENOEXEC, "ELF kernel has more than %d loadable segments",
				    VMLINUX_MAX_SEGMENTS);
		if (filesz > memsz)
			return fail(err, errlen, -ENOEXEC, "ELF segment %u's file size exceeds its memory size", i);
		if (off > size || filesz > size - off)
			return fail(err, errlen, -ENOEXEC, "ELF segment %u lies beyond the end of the file", i);
		if (paddr > UINT64_MAX - memsz)
			return fail(err, errlen, -ENOEXEC, "ELF segment %u wraps around the address space", i);
		for (j = 0; j < vm->nr_segments; j++) {
			const struct vmlinux_segment *o = &vm->seg[j];

			if (paddr < o->paddr + o->memsz && o->paddr < paddr + memsz)
				return fail(err, errlen, -ENOEXEC,
					    "ELF segments overlap at 0x%llx-0x%llx and 0x%llx-0x%llx",
					    (unsigned long long)o->paddr,
					    (unsigned long long)(o->paddr + o->memsz - 1),
					    (unsigned long long)paddr, (unsigned long long)(paddr + memsz - 1));
		}
		s = &vm->seg[vm->nr_segments++];
		s->offset = off;
		s->paddr = paddr;
		s->filesz = filesz;
		s->memsz = memsz;
		if (paddr < vm->start)
			vm->start = paddr;
		if (paddr + memsz > vm->end)
			vm->end = paddr + memsz;
	}
	if (!vm->nr_segments)
		return fail(err, errlen, -ENOEXEC, "ELF kernel has no loadable segment");

	/* e_entry is physical in a vmlinux (ENTRY(phys_startup_64)); accept a virtual one too. */
	entry = get64(f + 24);
	ph = vmlinux_phdrs(f, size, &n);
	for (i = 0; i < n && !entry_found; i++, ph += get16(f + 54)) {
		uint64_t vaddr = get64(ph + 16), paddr = get64(ph + 24), memsz = get64(ph + 40);

		if (get32(ph) != PT_LOAD || memsz == 0 || !(get32(ph + 4) & PF_X))
			continue;
		if (entry >= paddr && entry - paddr < memsz) {
			vm->entry = entry;
			entry_found = true;
		} else if (entry >= vaddr && entry - vaddr < memsz) {
			vm->entry = entry - vaddr + paddr;
			entry_found = true;
		}
	}
	if (!entry_found)
		return fail(err, errlen, -ENOEXEC,
			    "ELF entry point 0x%llx is not in an executable loadable segment",
			    (unsigned long long)entry);
	return 0;
}

int vmlinux_load(const struct vmlinux *vm, const struct guestmem *mem,
		 uint64_t lo, uint64_t hi, const char *area,
		 char *err, size_t errlen)
{
	unsigned i;

	/* Check them all first: a refused kernel leaves guest RAM as it was. */
	for (i = 0; i < vm->nr_segments; i++) {
		const struct vmlinux_segment *s = &vm->seg[i];

		if (s->paddr < lo || s->paddr > hi || s->memsz > hi - s->paddr)
			return fail(err, errlen, -ENOMEM,
				    "ELF segment at 0x%llx-0x%llx lies outside %s (0x%llx-0x%llx)",
				    (unsigned long long)s->paddr,
				    (unsigned long long)(s->paddr + s->memsz - 1), area,
				    (unsigned long long)lo, (unsigned long long)(hi - 1));
		if (!guestmem_ptr(mem, s->paddr, s->memsz))
			return fail(err, errlen, -ENOMEM,
				    "ELF segment at 0x%llx-0x%llx is not in guest RAM; give more --mem",
				    (unsigned long long)s->paddr,
				    (unsigned long long)(s->paddr + s->memsz - 1));
	}
	for (i = 0; i < vm->nr_segments; i++) {
		const struct vmlinux_segment *s = &vm->seg[i];
		uint8_t *dst = guestmem_ptr(mem, s->paddr, s->memsz);

		memcpy(dst, vm->image + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}
