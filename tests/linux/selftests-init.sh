#!/bin/sh
# /init.d/run in the selftests initramfs: the busybox /init runs it before the
# shell. With ringvm.selftests=1 on the kernel command line it runs every x86
# selftest (/selftests/run) and powers the machine off; otherwise it returns
# and the shell starts (run /selftests/run by hand there).
case " $(cat /proc/cmdline) " in
*" ringvm.selftests=1 "*)
	/selftests/run
	sync
	poweroff -f
	;;
esac
