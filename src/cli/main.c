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
"  --kernel FILE    multiboot (v1) kernel to boot, ELF or a.out-kludge image\n"
"  --append STR     kernel command line; the guest sees \"FILE STR\"\n"
"  --initrd FILE    boot module (multiboot module 0)\n"
"  --bios FILE      firmware ROM (64K..16M, a multiple of 64K) ending at 4 GiB;\n"
"                   without --kernel the vCPU starts at its reset vector\n"
"  --mem SIZE       guest RAM, suffix K, M, G (a bare number is MiB);\n"
"                   default 256M, at least 2M, at most the host's RAM\n"
"  --cpus N         number of vCPUs (only 1 until SMP lands)\n"
"  --debug-exit     isa-debug-exit device at port 0xF4: writing V ends ringvm\n"
"                   with status (V << 1) | 1, as QEMU's with iosize 4\n"
"  --stats          print retired instructions and MIPS on stderr at exit\n"
"  --verbose        log unclaimed port and memory accesses on stderr\n"
"  --help           this text\n"
"\n"
"The guest's COM1 (16550 at 0x3F8) is printed on standard output.\n"
"SIGINT and SIGTERM stop the VM.\n"
"\n"
"Exit status:\n"
"   0  the guest powered the machine off\n"
"   2  usage or input error (bad option, missing file, not a kernel,\n"
"      more memory than the host has)\n"
"   4  a vCPU triple-faulted (register dump on stderr)\n"
"   6  a vCPU's state failed the entry consistency checks (dump on stderr)\n"
"   8  every vCPU halted and nothing can wake it (dump on stderr)\n"
"  10  stopped by SIGINT or SIGTERM\n"
"  12  internal error of ringvm\n"
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
