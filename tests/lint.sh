#!/bin/bash
# lint.sh SRCROOT — the rules a compiler won't check (STYLE.md §2, §7, §11):
#   - banned functions (unbounded or thread-unsafe string and number parsing);
#   - each third-party library is included from its one file only;
#   - the layout is clang-format's (.clang-format).
set -uo pipefail
cd "$1"
fail=0
src=$(find common dissectors sensor db tests -name "*.[ch]" | sort)

banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets|strncpy|stpcpy|tmpnam|mktemp)[[:space:]]*\('
if grep -nE "$banned" $src; then
	echo "lint: banned function used (see STYLE.md §11)" >&2
	fail=1
fi

# header -> the only places allowed to include it
check_include() {
	local header=$1 allowed=$2 f
	for f in $(grep -l "#include <$header" $src); do
		if ! [[ $f =~ $allowed ]]; then
			echo "lint: $f includes <$header>; only $allowed may (STYLE.md §7)" >&2
			fail=1
		fi
	done
}
check_include 'pcap' '^sensor/capture\.c$'
check_include 'ndpi' '^sensor/dpi\.c$'
check_include 'sqlite3' '^(db/|tests/test_db\.c$)'
check_include 'htp/' '^sensor/http\.c$'
check_include 'ini.h' '^sensor/config\.c$'

# One layout (.clang-format), checked where clang-format is installed
# (setup.sh installs it; the check is skipped, and says so, elsewhere).
if command -v clang-format >/dev/null; then
	if ! clang-format --dry-run --Werror $src 2>/tmp/lint-format.$$; then
		head -20 /tmp/lint-format.$$ >&2
		echo "lint: run 'clang-format -i' on the files above (STYLE.md §11)" >&2
		fail=1
	fi
	rm -f /tmp/lint-format.$$
else
	echo "lint: clang-format not installed, layout not checked"
fi

if [ $fail -eq 0 ]; then echo "lint: ok"; fi
exit $fail
