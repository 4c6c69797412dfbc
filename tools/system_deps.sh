#!/usr/bin/env bash
# `make system-deps`: the Debian packages the optional targets need (graphviz: make diagram).
# As root it runs apt-get; as a user with password-less sudo (hosted CI runners), sudo -n
# apt-get; otherwise, or when apt-get fails, it says what it could not install and exits 0,
# because nothing else in `make setup` or `make test` needs these packages.
set -u

# Each package with the command that shows it is already installed.
declare -A PROVIDES=([graphviz]=dot)

missing=()
for package in "${!PROVIDES[@]}"; do
  command -v "${PROVIDES[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

not_installed() {
  echo "system-deps: could not install ${missing[*]}: $1; only \`make diagram\` needs it" \
       "(install it yourself: sudo apt-get install ${missing[*]})" >&2
  exit 0
}

command -v apt-get >/dev/null 2>&1 || not_installed "no apt-get on this system (not Debian)"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  not_installed "not root, and sudo is missing or wants a password"
fi
echo "system-deps: installing ${missing[*]} with ${as_root[*]:+${as_root[*]} }apt-get" >&2
"${as_root[@]}" apt-get update -qq \
  || not_installed "apt-get update failed (output above)"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
  || not_installed "apt-get install failed (output above)"
echo "system-deps: installed ${missing[*]}" >&2
