#!/bin/sh
# /init.d/run in the native-user initramfs (tests/linux/native-user.sh): runs
# /native_user and powers off. The host side reads the lines that start
# with "native_user:".
/native_user
echo "native_user: ended with status $?"
poweroff -f
