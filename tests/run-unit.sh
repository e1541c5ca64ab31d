#!/bin/sh
# Runs each cmocka unit-test binary given; fails if any fails. A test that
# runs guest code (it includes tests/unit/engine.h) runs twice: on the
# interpreter and on the translator.
status=0
for t in "$@"; do
	if grep -q RINGVM_TEST_ENGINE "$t" 2>/dev/null; then
		for engine in interpreter translator; do
			echo "== $t ($engine)"
			RINGVM_TEST_ENGINE=$engine "$t" || status=1
		done
	else
		"$t" || status=1
	fi
done
exit $status
