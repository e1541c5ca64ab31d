#!/bin/sh
# terminal.sh - the console on a real terminal (a tmux pane): raw mode (typed
# bytes reach the guest without echo or line editing, Ctrl-C included),
# the escape key Ctrl-A x ends ringvm with status 16, and the terminal's
# settings (stty -g) are the same before and after.
. "$(dirname "$0")/testlib"

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v tmux >/dev/null 2>&1; then
	skip "terminal: tmux is not installed (Debian package tmux)"
	finish
	exit $?
fi
if ! command -v nasm >/dev/null 2>&1; then
	skip "terminal: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$BUILD/cli"
bin=$BUILD/cli/serial.bin
if ! nasm -f bin -I "$here/../guests/" -o "$bin" "$here/serial.asm"; then
	bad "serial.asm does not assemble"
	finish
	exit $?
fi
ringvm=$(cd "$(dirname "$RINGVM")" && pwd)/$(basename "$RINGVM")
sock=$TMP/tmux.sock
sess=ringvm-term-$$

# run.sh runs in the pane: settings before, ringvm, status, settings after.
cat >"$TMP/run.sh" <<SCRIPT
stty -g >"$TMP/before"
sh -c 'echo \$\$ >"$TMP/pid"; exec "\$0" run --kernel "$bin" --debug-exit 2>"$TMP/err"' "$ringvm"
echo \$? >"$TMP/rc"
stty -g >"$TMP/after"
touch "$TMP/done"
sleep 600
SCRIPT

tmx() { tmux -S "$sock" "$@"; }
cleanup() { tmx kill-server >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT

# wait_for FILE-or-PATTERN: poll up to 20 s
wait_file() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$1" ]
}
wait_pane() {
	i=0
	while ! tmx capture-pane -p -t "$sess" | grep -q "$1" && [ $i -lt 200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	tmx capture-pane -p -t "$sess" | grep -q "$1"
}

run_session() {
	rm -f "$TMP/before" "$TMP/after" "$TMP/rc" "$TMP/done" "$TMP/err" "$TMP/pid"
	tmx -f /dev/null new-session -d -s "$sess" -x 100 -y 30 "sh $TMP/run.sh"
	wait_file "$TMP/pid" || { bad "terminal: the tmux pane did not start"; return 1; }
	sleep 0.5	# ringvm switches the terminal to raw mode
}

# 1. Type a line: the guest echoes it (raw mode: no local echo, so exactly one copy);
#    then the guest PASSes and ringvm ends by itself with the terminal restored.
if run_session; then
	tmx send-keys -t "$sess" -l 'hello tty'
	tmx send-keys -t "$sess" C-j
	if wait_file "$TMP/done"; then
		rc=$(cat "$TMP/rc")
		n=$(tmx capture-pane -p -t "$sess" | grep -c 'hello tty')
		if [ "$rc" = 33 ] && [ "$n" -eq 1 ] && tmx capture-pane -p -t "$sess" | grep -q '^got: hello tty'; then
			ok "raw terminal -> guest echo ('got: hello tty' once, no local echo)"
		else
			bad "echo: status $rc, $n copies"; tmx capture-pane -p -t "$sess" | sed 's/^/    /' | head -n 10
		fi
		if cmp -s "$TMP/before" "$TMP/after"; then
			ok "terminal settings restored after a normal end"
		else
			bad "stty -g differs after a normal end: $(cat "$TMP/before") / $(cat "$TMP/after")"
		fi
	else
		bad "echo: ringvm did not end"; tmx capture-pane -p -t "$sess" | sed 's/^/    /' | head -n 10
	fi
	tmx kill-session -t "$sess" 2>/dev/null
fi

# 2. Ctrl-C reaches the guest (no SIGINT), Ctrl-A h prints the help, Ctrl-A x quits: status 16.
if run_session; then
	tmx send-keys -t "$sess" C-c
	tmx send-keys -t "$sess" C-a h
	wait_pane 'escape keys' || bad "Ctrl-A h: no help text"
	tmx send-keys -t "$sess" C-a x
	if wait_file "$TMP/done"; then
		rc=$(cat "$TMP/rc")
		if [ "$rc" = 16 ] && grep -q 'quit by the user' "$TMP/err"; then
			ok "Ctrl-C went to the guest, Ctrl-A x quit: status 16"
		else
			bad "quit: status $rc: $(cat "$TMP/err")"
		fi
		if cmp -s "$TMP/before" "$TMP/after"; then
			ok "terminal settings restored after Ctrl-A x"
		else
			bad "stty -g differs after Ctrl-A x: $(cat "$TMP/before") / $(cat "$TMP/after")"
		fi
	else
		bad "Ctrl-A x: ringvm did not end"; tmx capture-pane -p -t "$sess" | sed 's/^/    /' | head -n 10
	fi
	tmx kill-session -t "$sess" 2>/dev/null
fi

# 3. Signals while in raw mode: the terminal comes back each time.
#    SIGTERM and SIGHUP stop the VM (status 10); SIGSEGV kills ringvm (128 + 11).
for s in TERM:10 HUP:10 SEGV:139; do
	if run_session; then
		kill -"${s%:*}" "$(cat "$TMP/pid")"
		if wait_file "$TMP/done" && [ "$(cat "$TMP/rc")" = "${s#*:}" ] && cmp -s "$TMP/before" "$TMP/after"; then
			ok "SIG${s%:*}: status ${s#*:}, terminal settings restored"
		else
			bad "SIG${s%:*}: status $(cat "$TMP/rc" 2>/dev/null), want ${s#*:}; settings $(cat "$TMP/before") / $(cat "$TMP/after" 2>/dev/null)"
		fi
		tmx kill-session -t "$sess" 2>/dev/null
	fi
done
finish
