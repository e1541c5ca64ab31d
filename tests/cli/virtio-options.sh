#!/bin/sh
# virtio-options.sh - --disk, --net, --console and --rng from the outside:
# every malformed value, and every image or tap device that cannot be opened,
# gives status 2 and one line on stderr naming the problem; image locks
# (flock: read-write exclusive, read-only shared) hold against other processes.
. "$(dirname "$0")/testlib"

# A multiboot kernel (a.out kludge) that halts at once (status 8), so a
# device that does open ends the run quickly; errors come before it runs.
K=$(halting_kernel)
head -c 1048576 /dev/zero >"$TMP/disk.img"
D=$TMP/disk.img

# --- Malformed values: refused by the parser, before anything is opened.
e() { expect_error "$@"; }
e "--disk empty"              2 "^ringvm: --disk: empty path"                  -- run --kernel "$K" --disk ""
e "--disk path= empty"        2 "^ringvm: --disk: empty path"                  -- run --kernel "$K" --disk "path="
e "--disk unknown key"        2 "^ringvm: --disk: unknown key 'foo'"           -- run --kernel "$K" --disk "path=$D,foo=1"
e "--disk no path"            2 "^ringvm: --disk: no path=FILE"                -- run --kernel "$K" --disk "readonly=on"
e "--disk path twice"         2 "^ringvm: --disk: 'path' given twice"          -- run --kernel "$K" --disk "path=$D,path=$D"
e "--disk readonly=yes"       2 "^ringvm: --disk: readonly 'yes': give on or off" -- run --kernel "$K" --disk "path=$D,readonly=yes"
e "--disk readonly alone"     2 "^ringvm: --disk: key 'readonly' needs a value" -- run --kernel "$K" --disk "path=$D,readonly"
e "--disk serial too long"    2 "^ringvm: --disk: serial .* longer than 20 bytes" -- run --kernel "$K" --disk "path=$D,serial=123456789012345678901"
e "--disk serial empty"       2 "^ringvm: --disk: serial is empty"             -- run --kernel "$K" --disk "path=$D,serial="
e "--disk serial non-ASCII"   2 "^ringvm: --disk: serial .*not printable ASCII" -- run --kernel "$K" --disk "path=$D,serial=$(printf 'a\001b')"
e "--disk stray comma"        2 "^ringvm: --disk: empty item"                  -- run --kernel "$K" --disk "path=$D,"
e "--disk format=vmdk"        2 "^ringvm: --disk: format 'vmdk': give raw or qcow2" -- run --kernel "$K" --disk "path=$D,format=vmdk"
e "--disk format twice"       2 "^ringvm: --disk: 'format' given twice"        -- run --kernel "$K" --disk "path=$D,format=raw,format=raw"
e "--disk format alone"       2 "^ringvm: --disk: key 'format' needs a value"  -- run --kernel "$K" --disk "path=$D,format"
e "--disk raw as qcow2"       2 "^ringvm: disk image '$D' is not a qcow2 image" -- run --kernel "$K" --disk "path=$D,format=qcow2"
e "--disk same image twice"   2 "^ringvm: --disk: '.*' given twice"            -- run --kernel "$K" --disk "$D" --disk "path=$D"
e "--disk 9 disks"            2 "^ringvm: --disk: more than 8 disks"           -- run --kernel "$K" \
	--disk a1 --disk a2 --disk a3 --disk a4 --disk a5 --disk a6 --disk a7 --disk a8 --disk a9
e "--disk without value"      2 "'--disk' needs a value"                       -- run --kernel "$K" --disk
e "--net unknown backend"     2 "^ringvm: --net: unknown backend 'bridge'"     -- run --kernel "$K" --net bridge
e "--net unknown key"         2 "^ringvm: --net: unknown key 'foo' for user"   -- run --kernel "$K" --net user,foo=1
e "--net tap without ifname"  2 "^ringvm: --net: tap needs ifname=NAME"        -- run --kernel "$K" --net tap
e "--net ifname too long"     2 "^ringvm: --net: ifname .* longer than 15 bytes" -- run --kernel "$K" --net tap,ifname=abcdefghijklmnop
e "--net ifname with /"       2 "^ringvm: --net: ifname 'a/b' is not a valid"  -- run --kernel "$K" --net tap,ifname=a/b
e "--net hostfwd on tap"      2 "^ringvm: --net: unknown key 'hostfwd' for tap" -- run --kernel "$K" --net tap,ifname=t0,hostfwd=tcp::1-:2
e "--net hostfwd syntax"      2 "^ringvm: --net: hostfwd 'tcp:2222:22': not \[tcp\|udp\]" -- run --kernel "$K" --net user,hostfwd=tcp:2222:22
e "--net hostfwd protocol"    2 "^ringvm: --net: hostfwd .*protocol 'icmp'"    -- run --kernel "$K" --net user,hostfwd=icmp::1-:2
e "--net hostfwd host addr"   2 "^ringvm: --net: hostfwd .*host address 'localhost'" -- run --kernel "$K" --net user,hostfwd=tcp:localhost:2222-:22
e "--net hostfwd guest addr"  2 "^ringvm: --net: hostfwd .*not in 10.0.2.0/24" -- run --kernel "$K" --net user,hostfwd=tcp::2222-192.168.0.2:22
e "--net hostfwd port 0"      2 "^ringvm: --net: hostfwd .*host port '0'"      -- run --kernel "$K" --net user,hostfwd=tcp::0-:22
e "--net hostfwd port 65536"  2 "^ringvm: --net: hostfwd .*guest port '65536'" -- run --kernel "$K" --net user,hostfwd=tcp::2222-:65536
e "--net 17 hostfwd"          2 "^ringvm: --net: more than 16 hostfwd" -- run --kernel "$K" --net "user$(
	i=1; while [ $i -le 17 ]; do printf ',hostfwd=tcp::%d-:%d' $((20000 + i)) $i; i=$((i + 1)); done)"
e "--net mac syntax"          2 "^ringvm: --net: mac '52:54:00:12:34' is not six hex bytes" -- run --kernel "$K" --net user,mac=52:54:00:12:34
e "--net mac multicast"       2 "^ringvm: --net: mac '01:00:5e:00:00:01' is a multicast" -- run --kernel "$K" --net user,mac=01:00:5e:00:00:01
e "--net mac null"            2 "^ringvm: --net: mac .* null address"          -- run --kernel "$K" --net user,mac=00:00:00:00:00:00
e "--net same mac"            2 "^ringvm: --net: NICs 0 and 1 have the same mac" -- run --kernel "$K" --net user,mac=52:54:00:12:34:57 --net user
e "--net same tap"            2 "^ringvm: --net: tap 'rvt0' given twice"       -- run --kernel "$K" --net tap,ifname=rvt0 --net tap,ifname=rvt0
e "--net 5 NICs"              2 "^ringvm: --net: more than 4 NICs"             -- run --kernel "$K" --net user --net user --net user --net user --net user
e "--net without value"       2 "'--net' needs a value"                        -- run --kernel "$K" --net
e "--console bad"             2 "^ringvm: --console 'hvc0': give serial or virtio" -- run --kernel "$K" --console hvc0
e "--console without value"   2 "'--console' needs a value"                    -- run --kernel "$K" --console
e "--rng with a value"        2 "option '--rng' takes no value"                -- run --kernel "$K" --rng=on

# --- Images and devices that cannot be opened: machine_create's one line, status 2.
e "missing image (bare)"      2 "^ringvm: disk image '$TMP/nope.img'.*No such file" -- run --kernel "$K" --disk "$TMP/nope.img"
e "missing image (path=)"     2 "^ringvm: disk image '$TMP/nope,x.img'.*No such file" -- run --kernel "$K" --disk "path=$TMP/nope,,x.img,readonly=on"
e "missing second image"      2 "^ringvm: disk image '$TMP/nope2.img'.*No such file" -- run --kernel "$K" --disk "$D" --disk "$TMP/nope2.img"
e "directory as image"        2 "^ringvm: disk image '$TMP'"                   -- run --kernel "$K" --disk "$TMP"

# hold_lock x|s FILE: another process holds flock(FILE) exclusive or shared until release_lock.
holder=
hold_lock() {
	rm -f "$TMP/held"
	python3 - "$1" "$2" "$TMP/held" <<'PY' &
import fcntl, sys, time
f = open(sys.argv[2], 'rb')
fcntl.flock(f, fcntl.LOCK_EX if sys.argv[1] == 'x' else fcntl.LOCK_SH)
open(sys.argv[3], 'w').close()
time.sleep(120)
PY
	holder=$!
	n=0
	while [ ! -e "$TMP/held" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ -e "$TMP/held" ] || bad "the lock holder did not start"
}
release_lock() {
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	holder=
}
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$TMP"' EXIT


hold_lock x "$D"
e "image locked exclusive, read-write" 2 "^ringvm: disk image '$D'.*in use"   -- run --kernel "$K" --disk "$D"
e "image locked exclusive, read-only"  2 "^ringvm: disk image '$D'.*in use"   -- run --kernel "$K" --disk "path=$D,readonly=on"
release_lock
hold_lock s "$D"
e "image locked shared, read-write"    2 "^ringvm: disk image '$D'.*in use"   -- run --kernel "$K" --disk "$D"
expect_runs "image locked shared, read-only" -- run --kernel "$K" --disk "path=$D,readonly=on"
release_lock
expect_runs "image unlocked, read-write" -- run --kernel "$K" --disk "$D"
expect_runs "format=raw"                 -- run --kernel "$K" --disk "path=$D,format=raw"
expect_runs "one image read-only twice"  -- run --kernel "$K" --disk "path=$D,readonly=on" --disk "path=$D,readonly=on"

# Every kind of device at once: the machine is built and the guest runs.
cp "$D" "$TMP/disk2.img"
free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_runs "all device kinds" -- run --kernel "$K" --disk "$D" --disk "path=$TMP/disk2.img,readonly=on,serial=S2" \
	--net "user,hostfwd=tcp::$free_port-:80,mac=02:00:00:00:00:01" --net user --console virtio --rng

# A host port already taken: the user network's forward cannot bind it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -f "$TMP/bound"
python3 - "$port" "$TMP/bound" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], 'w').close()
time.sleep(120)
PY
holder=$!
n=0
while [ ! -e "$TMP/bound" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
e "hostfwd port in use" 2 "^ringvm: .*$port" -- run --kernel "$K" --net "user,hostfwd=tcp:127.0.0.1:$port-:22"
release_lock

# A tap device we may not open. As root we drop to nobody (no CAP_NET_ADMIN),
# so that the test never creates an interface on the host.
if [ "$(id -u)" -ne 0 ]; then
	e "tap without permission" 2 "^ringvm: cannot open tap device 'rvtest0'" -- run --kernel "$K" --net tap,ifname=rvtest0
elif command -v setpriv >/dev/null 2>&1; then
	chmod 755 "$TMP"
	chmod 644 "$K"
	cp "$RINGVM" "$TMP/ringvm" && chmod 755 "$TMP/ringvm"
	RINGVM_REAL=$RINGVM
	RINGVM=$TMP/ringvm
	RUNWRAP="setpriv --reuid=65534 --regid=65534 --clear-groups"
	e "tap without permission" 2 "^ringvm: cannot open tap device 'rvtest0'" -- run --kernel "$K" --net tap,ifname=rvtest0
	cp "$D" "$TMP/unreadable.img" && chmod 600 "$TMP/unreadable.img"
	e "image without permission" 2 "^ringvm: disk image '$TMP/unreadable.img'.*Permission denied" -- run --kernel "$K" --disk "$TMP/unreadable.img"
	RINGVM=$RINGVM_REAL
	RUNWRAP=
else
	skip "tap without permission: running as root without setpriv"
fi

finish
