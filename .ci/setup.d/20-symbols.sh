# Symbolization tests: compilers, the two reference symbolizers (binutils addr2line,
# llvm-symbolizer, whose package also brings llvm-dwp), elfutils (eu-addr2line, eu-unstrip) and its
# debuginfod server, gdb, dwz and xz (distribution-style debug files), and Debian's libc debug file
# (the benchmark's large real binary, found by build-id in /usr/lib/debug).
symbols_packages=(gcc g++ binutils elfutils debuginfod llvm libc6-dbg dwz xz-utils gdb)
symbols_missing=()
for pkg in "${symbols_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || symbols_missing+=("$pkg")
done
if [ "${#symbols_missing[@]}" -gt 0 ]; then
  apt_install "${symbols_missing[@]}"
fi
unset symbols_packages symbols_missing pkg
