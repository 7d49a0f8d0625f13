#!/bin/sh
# Installs the Debian packages named as arguments that are missing, when we
# can (root with apt-get); otherwise names them and fails.
set -u
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing missing packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q $missing >/dev/null 2>&1 || {
		apt-get update -q >/dev/null 2>&1
		apt-get install -y -q $missing >/dev/null || { echo "apt-get could not install:$missing" >&2; exit 1; }
	}
	exit 0
fi
echo "missing Debian packages:$missing" >&2
echo "install them with: sudo apt-get install$missing" >&2
exit 1
