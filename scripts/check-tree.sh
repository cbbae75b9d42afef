#!/usr/bin/env bash
# check-tree.sh fails when git tracks a build output (a compiled test, a
# wasm bundle, an executable) or any file over 1 MB: such files bloat every
# clone for good, and belong to make, not to the repository.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

status=0
outputs=$(git ls-files -- '*.test' '*.wasm' '*.wasm.br' '*.wasm.gz' '*wasm_exec.js' '*.prof')
if [[ -n $outputs ]]; then
	echo "check-tree: build outputs are tracked (git rm --cached them; .gitignore lists them):" >&2
	echo "$outputs" | sed 's/^/  /' >&2
	status=1
fi
# Executables other than scripts: ELF files by their magic number.
while IFS= read -r -d '' f; do
	if [[ -f $f && $(head -c 4 "$f" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
		echo "check-tree: $f is a compiled binary" >&2
		status=1
	fi
done < <(git ls-files -z)
big=$(git ls-files -z | xargs -0 -r stat -c '%s %n' | awk '$1 > 1048576 {printf "  %s (%d bytes)\n", $2, $1}')
if [[ -n $big ]]; then
	echo "check-tree: tracked files over 1 MB:" >&2
	echo "$big" >&2
	status=1
fi
# Citations must resolve for a reader of the repository: the WHATWG
# section with its link, or a document in the tree; never the labels of a
# spec digest that lives outside it ("SPEC C37", SPEC.md).
cites=$(git grep -n -I -E '\bSPEC( [A-Z][0-9]+|\.md)' -- ':!scripts/check-tree.sh' || true)
if [[ -n $cites ]]; then
	echo "check-tree: citations of a document outside the repository (cite the WHATWG section instead):" >&2
	echo "$cites" | sed 's/^/  /' >&2
	status=1
fi
exit $status
