#!/bin/sh
# Prints wirelink's version as git knows it, for meson's vcs_tag:
#   scripts/version.sh SOURCE_DIR BASE_VERSION
# BASE_VERSION is meson.project_version(). Exits non-zero (and meson then
# uses BASE_VERSION as it is) when SOURCE_DIR is not the top of a git
# checkout: an exported tarball, or a tree unpacked inside some other
# repository (a Debian build directory), must not take that repository's
# history for its own.
#
# The form is Debian-sortable, so a package built from any commit sorts
# after the release it follows and before the next one:
#   on a tag vX.Y.Z        X.Y.Z
#   N commits after it     X.Y.Z+git.N.gHASH
#   no tag at all          BASE+git.N.gHASH   (N = commits in the history)
#   uncommitted changes    ... .dirty appended
# '+' and '.' only: in a Debian version '-' would start the revision, and
# dpkg compares N numerically, so +git.9 < +git.10.
set -eu
top=$1 base=$2
cd "$top"
[ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ] || exit 1
hash=$(git rev-parse --short=12 HEAD)
if desc=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	# vX.Y.Z-N-gHASH (the tag itself may contain '-')
	tag=${desc%-*-g*}
	rest=${desc#"$tag"-}
	n=${rest%%-*}
	base=${tag#v}
else
	n=$(git rev-list --count HEAD)
fi
version=$base
[ "$n" = 0 ] || version=$base+git.$n.g$hash
# Index refreshed first, so a touched but unchanged file is not "dirty".
git update-index -q --refresh >/dev/null 2>&1 || true
git diff-index --quiet HEAD -- 2>/dev/null || version=$version.dirty
echo "$version"
