#!/usr/bin/env bash
# The version: from git when built from a checkout (scripts/version.sh),
# meson's project version when built from a tree that is not one.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
tmp=$(mktemp -d /tmp/wl-version.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
script=$WL_TOP/scripts/version.sh
base=$(sed -n "s/^  version: '\([^']*\)',$/\1/p" "$WL_TOP/meson.build" | head -n 1)
pattern='^[0-9]+\.[0-9]+\.[0-9]+(\+git\.[0-9]+\.g[0-9a-f]{12})?(\.dirty)?$'

line=$("$WL_BIN" --version)
version=${line#wirelink }
if [ "$line" != "wirelink $version" ]; then
	fail version-line "got '$line', want 'wirelink VERSION'"
elif echo "$version" | grep -Eq "$pattern"; then
	pass version-line
else
	fail version-line "'$version' does not match $pattern"
fi

# The built binary says what the script says for this tree (but for
# .dirty: the tree may have been touched since the build).
if git -C "$WL_TOP" rev-parse --show-toplevel >/dev/null 2>&1; then
	want=$(sh "$script" "$WL_TOP" "$base")
	if [ "${version%.dirty}" = "${want%.dirty}" ]; then pass version-from-git
	else fail version-from-git "binary says '$version', scripts/version.sh '$want'"; fi
else
	echo "SKIP: $suite/version-from-git: $WL_TOP is not a git checkout"
fi

# The script in a repository of the test's own, one step at a time.
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t \
	GIT_COMMITTER_EMAIL=t@example.org GIT_CONFIG_NOSYSTEM=1 HOME=$tmp
repo=$tmp/repo
mkdir "$repo"
git -C "$repo" init -q
echo a >"$repo/f"
git -C "$repo" add f && git -C "$repo" commit -qm one && git -C "$repo" commit -q --allow-empty -m two
h=$(git -C "$repo" rev-parse --short=12 HEAD)
expect() { # NAME WANT
	local got
	got=$(sh "$script" "$repo" 9.8.7 2>&1)
	if [ "$got" = "$2" ]; then pass "$1"; else fail "$1" "got '$got', want '$2'"; fi
}
expect untagged "9.8.7+git.2.g$h"
echo b >"$repo/f"
expect dirty "9.8.7+git.2.g$h.dirty"
git -C "$repo" commit -qam three
git -C "$repo" tag v1.2.3
expect on-tag "1.2.3"
git -C "$repo" commit -q --allow-empty -m four
git -C "$repo" commit -q --allow-empty -m five
expect after-tag "1.2.3+git.2.g$(git -C "$repo" rev-parse --short=12 HEAD)"
touch "$repo/f" # touched, not changed
expect touched-not-dirty "1.2.3+git.2.g$(git -C "$repo" rev-parse --short=12 HEAD)"
# dpkg must sort them in the order they were made.
if command -v dpkg >/dev/null; then
	check dpkg-order sh -c "dpkg --compare-versions 1.2.3 lt 1.2.3+git.2.gabc &&
		dpkg --compare-versions 1.2.3+git.9.gfff lt 1.2.3+git.10.gaaa &&
		dpkg --compare-versions 1.2.3+git.10.gaaa lt 1.2.3+git.10.gaaa.dirty &&
		dpkg --compare-versions 1.2.3+git.99.gaaa lt 1.2.4"
fi
# A tree inside another repository is not that repository's history.
mkdir "$repo/sub"
if sh "$script" "$repo/sub" 9.8.7 >/dev/null 2>&1; then fail nested-tree "used the outer repository"
else pass nested-tree; fi
if sh "$script" "$tmp" 9.8.7 >/dev/null 2>&1; then fail not-git "succeeded outside git"
else pass not-git; fi

# A build from a copy that is not a git checkout (an exported tree, as the
# Debian package builds) takes meson's project version.
if command -v meson >/dev/null && command -v ninja >/dev/null &&
	git -C "$WL_TOP" rev-parse --show-toplevel >/dev/null 2>&1; then
	mkdir "$tmp/src"
	(cd "$WL_TOP" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 cp --parents -t "$tmp/src" 2>/dev/null)
	if meson setup "$tmp/b" "$tmp/src" >"$tmp/setup.log" 2>&1 &&
		ninja -C "$tmp/b" wl_version.h >"$tmp/ninja.log" 2>&1; then
		got=$(sed -n 's/^#define WL_VERSION "\(.*\)"$/\1/p' "$tmp/b/wl_version.h")
		if [ "$got" = "$base" ]; then pass exported-tree
		else fail exported-tree "WL_VERSION is '$got', want meson's '$base'"; fi
	else
		fail exported-tree "$(tail -n 5 "$tmp/setup.log" "$tmp/ninja.log" 2>/dev/null | tr '\n' ' ')"
	fi
else
	echo "SKIP: $suite/exported-tree: needs meson, ninja and a git checkout to copy from"
fi
finish
