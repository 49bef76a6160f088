#!/usr/bin/env bash
# Builds the Debian package wirelink_VERSION_ARCH.deb from this tree's HEAD
# (what is committed: uncommitted changes are not in it).
#   scripts/package.sh [--out DIR]     (default DIR: build-deb/ in this tree)
# Prints the path of the .deb. VERSION is the version meson gives the
# project, computed in a clone of HEAD exactly as a build of this tree
# computes it (from git describe once meson.build does, else meson.build's
# own), spelled for Debian ('-' becomes '+', a leading 'v' goes). The
# build runs in DIR/work (a clone, with a changelog entry for VERSION
# written there): nothing is written into this tree or its parent.
# Needs dpkg-dev, debhelper and the build dependencies: scripts/deps.sh test.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build-deb
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	*) echo "usage: scripts/package.sh [--out DIR]" >&2; exit 2 ;;
	esac
done
for tool in git meson dpkg-buildpackage dh; do
	command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (bash scripts/deps.sh test)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/work
rm -rf "$work"
mkdir -p "$work"
src=$work/wirelink
if commit=$(git -C "$top" rev-parse HEAD 2>/dev/null); then
	git clone -q --shared --no-checkout "$top" "$src"
	git -C "$src" checkout -q --detach "$commit"
else
	# Not a git tree (an unpacked release): the files as they are.
	commit=""
	mkdir -p "$src"
	tar -C "$top" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$src" -xf -
fi

# The project's version as meson computes it in the clone.
meson setup "$work/probe" "$src" -Dtests=false >"$work/probe.log" 2>&1 ||
	{ cat "$work/probe.log" >&2; exit 1; }
base=$(meson introspect --projectinfo "$work/probe" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
rm -rf "$work/probe"
# The binary's version (wirelink --version) comes from git through
# scripts/version.sh at build time; the package's must be the same.
version=$(sh "$src/scripts/version.sh" "$src" "$base" 2>/dev/null) || version=$base
deb_version=$(printf '%s' "$version" | sed 's/^v//; s/[-_]/+/g')
case "$deb_version" in
[0-9]*) ;;
*) echo "package.sh: meson's version '$version' is no Debian version" >&2; exit 1 ;;
esac

# A changelog entry for this version on top of the tree's changelog
# (unless the tree's names it already), dated as the commit.
if [ "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)" != "$deb_version" ]; then
	maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
	{
		echo "wirelink ($deb_version) unstable; urgency=medium"
		echo
		echo "  * Built from ${commit:+commit }${commit:-a tree without git}."
		echo
		echo " -- $maint  $(if [ -n "$commit" ]; then git -C "$src" log -1 --format=%aD "$commit"; else date -R; fi)"
		echo
		cat "$src/debian/changelog"
	} >"$work/changelog"
	mv "$work/changelog" "$src/debian/changelog"
	# That entry is the package build's own, not a change to the source:
	# the version the build computes must not turn ".dirty" for it.
	[ -z "$commit" ] || git -C "$src" update-index --assume-unchanged debian/changelog
fi

(cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" \
	dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
	{ tail -n 40 "$work/build.log" >&2; echo "package.sh: dpkg-buildpackage failed (log: $work/build.log)" >&2; exit 1; }
rm -f "$out"/wirelink*.deb "$out"/wirelink_*.buildinfo "$out"/wirelink_*.changes
mv "$work"/wirelink*.deb "$work"/wirelink_*.buildinfo "$work"/wirelink_*.changes "$out/"
ls "$out"/wirelink_"$deb_version"_*.deb
