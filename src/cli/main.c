/* The ringvm command: subcommand dispatch, --help and --version; the only place that exits. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/status.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ringvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_usage(FILE *out)
{
	fputs(
"usage: ringvm run [OPTIONS]      run a virtual machine\n"
"       ringvm --help | --version\n"
"\n"
"Options of 'ringvm run':\n"
"  --kernel FILE    kernel to boot: a Linux bzImage or uncompressed vmlinux\n"
"                   (ELF), or a multiboot (v1) ELF or a.out-kludge image\n"
"  --append STR     kernel command line (multiboot: the guest sees \"FILE STR\")\n"
"  --initrd FILE    initial ramdisk (bzImage) or boot module 0 (multiboot)\n"
"  --boot-entry E   bzImage entry: 64 (default: long mode, ringvm's page\n"
"                   tables) or 32 (protected mode, paging off)\n"
"  --decompress D   bzImage payload: host (default: ringvm decompresses it\n"
"                   and enters the vmlinux) or guest (the kernel's own\n"
"                   decompressor; always so with --boot-entry 32)\n"
"  --bios FILE      firmware ROM (64K..16M, a multiple of 64K) ending at 4 GiB;\n"
"                   without --kernel the vCPU starts at its reset vector\n"
"  --mem SIZE       guest RAM, suffix K, M, G (a bare number is MiB);\n"
"                   default 256M, at least 2M, at most the host's RAM\n"
"  --cpus N         number of vCPUs (1 to 16; the BSP starts the others with INIT-SIPI)\n"
"  --debug-exit     isa-debug-exit device at port 0xF4: writing V ends ringvm\n"
"                   with status (V << 1) | 1, as QEMU's with iosize 4\n"
"  --no-reboot      a guest reset ends ringvm (status 14) instead of\n"
"                   restarting the guest\n"
"  --disk FILE | --disk path=FILE[,format=raw|qcow2][,readonly=on][,serial=S]\n"
"                   virtio-blk disk on a raw (default) or qcow2 image\n"
"                   (up to 8: vda, vdb, ...);\n"
"                   locked: one writer, or any number of readers\n"
"  --net user[,hostfwd=tcp:[HADDR]:HPORT-[GADDR]:GPORT]...[,mac=M]\n"
"  --net tap,ifname=NAME[,mac=M]\n"
"                   virtio-net NIC (up to 4): user network through libslirp\n"
"                   (guest 10.0.2.15, host 10.0.2.2) or a host tap device\n"
"  --console serial|virtio\n"
"                   where standard input goes: COM1 (default) or the\n"
"                   virtio-console, the guest's hvc0\n"
"  --rng            virtio-rng fed by the host's getrandom()\n"
"  --stats          print retired instructions, MIPS, exits and the\n"
"                   translator's counters on stderr at exit\n"
"  --interpreter    run guest code in the soft CPU's reference interpreter\n"
"                   instead of translating it to host code (the default)\n"
"  --native-user[=on|off|auto]\n"
"                   run guest processes that compute long in user mode on\n"
"                   the host CPU, in a ptraced, seccomp-confined process\n"
"                   that mirrors their memory (64-bit code, Linux's user\n"
"                   segments). auto (the default; off with --interpreter):\n"
"                   where the host can (CPUID faulting, ptrace, seccomp);\n"
"                   on (no value): also say why not when it cannot\n"
"  --cpu svm=on|off offer AMD-V (SVM, nested virtualization) to the guest;\n"
"                   off by default until nested SVM is complete\n"
"  --code-cache SIZE\n"
"                   translated code kept per vCPU (1M to 512M, default 64M);\n"
"                   flushed whole when full\n"
"  --verbose        log unclaimed port and memory accesses on stderr, and\n"
"                   how the kernel was loaded\n"
"  --help           this text\n"
"\n"
"The guest's COM1 (16550 at 0x3F8) is printed on standard output and\n"
"reads standard input. On a terminal, ringvm puts it in raw mode (keys,\n"
"Ctrl-C included, go to the guest) and restores it at exit; escape keys:\n"
"  Ctrl-A x       quit (status 16)\n"
"  Ctrl-A Ctrl-A  send one Ctrl-A to the guest\n"
"  Ctrl-A h       list the escape keys\n"
"SIGINT, SIGTERM, SIGHUP and SIGQUIT stop the VM. A guest reset (8042,\n"
"port 0x92, ACPI 0xCF9) restarts it with the same kernel, initrd and\n"
"command line.\n"
"\n"
"Exit status:\n"
"   0  the guest powered the machine off\n"
"   2  usage or input error (bad option, missing file, not a kernel,\n"
"      more memory than the host has, a disk image in use, a tap device\n"
"      that cannot be opened)\n"
"   4  a vCPU triple-faulted (register dump on stderr)\n"
"   6  a vCPU's state failed the entry consistency checks (dump on stderr)\n"
"   8  every vCPU halted and nothing can wake it (dump on stderr)\n"
"  10  stopped by SIGINT, SIGTERM, SIGHUP or SIGQUIT\n"
"  12  internal error of ringvm\n"
"  14  the guest reset the machine and --no-reboot was given\n"
"  16  the user quit with Ctrl-A x\n"
"  odd (V << 1) | 1, low 8 bits: the guest wrote V to the debug-exit port\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return STATUS_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		cli_usage(stdout);
		return STATUS_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("ringvm %s\n", RINGVM_VERSION);
		return STATUS_OK;
	}
	if (!strcmp(argv[1], "run"))
		return cli_run(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		cli_error("unknown option '%s' (try 'ringvm --help')", argv[1]);
	else
		cli_error("unknown command '%s' (try 'ringvm --help')", argv[1]);
	return STATUS_USAGE;
}
