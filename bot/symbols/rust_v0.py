"""Rust v0 symbol names (`_R...`, RFC 2603) demangled as c++filt prints them; rarer constructs
(punycode, higher-ranked binders, fn pointers) give None and the caller shows the raw name."""

from __future__ import annotations

_BASIC = {
    "a": "i8",
    "b": "bool",
    "c": "char",
    "d": "f64",
    "e": "str",
    "f": "f32",
    "h": "u8",
    "i": "isize",
    "j": "usize",
    "l": "i32",
    "m": "u32",
    "n": "i128",
    "o": "u128",
    "s": "i16",
    "t": "u16",
    "u": "()",
    "v": "...",
    "x": "i64",
    "y": "u64",
    "z": "!",
    "p": "_",
}
_SIGNED = {"a", "s", "l", "x", "n", "i"}


class _Unsupported(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.pos = 0
        self.bound = 0  # lifetimes bound by the enclosing for<...> binders

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def take(self) -> str:
        if self.pos >= len(self.s):
            raise _Unsupported
        char = self.s[self.pos]
        self.pos += 1
        return char

    def eat(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def base62(self) -> int:
        if self.eat("_"):
            return 0
        value = 0
        while not self.eat("_"):
            char = self.take()
            if char.isdigit():
                digit = ord(char) - 48
            elif "a" <= char <= "z":
                digit = ord(char) - 87
            elif "A" <= char <= "Z":
                digit = ord(char) - 29
            else:
                raise _Unsupported
            value = value * 62 + digit
        return value + 1

    def disambiguator(self) -> int:
        return self.base62() + 1 if self.eat("s") else 0

    def decimal(self) -> int:
        if self.eat("0"):
            return 0  # no leading zeros: "00" is two numbers
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        if start == self.pos:
            raise _Unsupported
        return int(self.s[start : self.pos])

    def ident(self) -> tuple[int, str]:
        dis = self.disambiguator()
        if self.eat("u"):
            raise _Unsupported  # punycode
        length = self.decimal()
        self.eat("_")
        name = self.s[self.pos : self.pos + length]
        if len(name) != length:
            raise _Unsupported
        self.pos += length
        return dis, name

    def backref(self) -> int:
        target = 2 + self.base62()  # relative to the start after "_R"
        if target >= self.pos:
            raise _Unsupported
        return target

    def at(self, target: int, fn: object) -> str:
        saved = self.pos
        self.pos = target
        try:
            return fn()  # type: ignore[operator,no-any-return]
        finally:
            self.pos = saved

    # -- grammar ------------------------------------------------------------------------------
    def path(self, in_value: bool) -> str:
        tag = self.take()
        if tag == "C":
            dis, name = self.ident()
            return f"{name}[{dis:x}]"
        if tag == "N":
            namespace = self.take()
            parent = self.path(in_value)
            dis, name = self.ident()
            if namespace.isupper():
                kind = {"C": "closure", "S": "shim"}.get(namespace, namespace)
                return f"{parent}::{{{kind}{':' + name if name else ''}#{dis}}}"
            return f"{parent}::{name}" if name else parent
        if tag == "M":
            self.disambiguator()
            self.path(False)  # the impl's own path is not printed
            return f"<{self.type()}>"
        if tag == "X":
            self.disambiguator()
            self.path(False)
            self_type = self.type()
            return f"<{self_type} as {self.path(False)}>"
        if tag == "Y":
            self_type = self.type()
            return f"<{self_type} as {self.path(False)}>"
        if tag == "I":
            base = self.path(in_value)
            args = []
            while not self.eat("E"):
                args.append(self.generic_arg())
            return f"{base}{'::' if in_value else ''}<{', '.join(args)}>"
        if tag == "B":
            return self.at(self.backref(), lambda: self.path(in_value))
        raise _Unsupported

    def lifetime(self) -> str:
        index = self.base62()
        if index == 0:
            return "'_"
        depth = self.bound - index
        if not 0 <= depth < 26:
            raise _Unsupported
        return "'" + chr(ord("a") + depth)

    def binder(self) -> str:
        """An optional for<...>; the lifetimes it binds stay bound for the caller's scope."""
        if not self.eat("G"):
            return ""
        count = self.base62() + 1
        names = ["'" + chr(ord("a") + self.bound + i) for i in range(count)]
        self.bound += count
        return f"for<{', '.join(names)}> "

    def generic_arg(self) -> str:
        if self.eat("L"):
            return self.lifetime()
        if self.eat("K"):
            return self.const()
        return self.type()

    def type(self) -> str:
        char = self.peek()
        if char in _BASIC:
            self.pos += 1
            return _BASIC[char]
        if char in ("R", "Q"):
            self.pos += 1
            lifetime = ""
            if self.eat("L"):
                lifetime = self.lifetime()
                lifetime = "" if lifetime == "'_" else lifetime + " "
            return ("&" if char == "R" else "&mut ") + lifetime + self.type()
        if char in ("P", "O"):
            self.pos += 1
            return ("*const " if char == "P" else "*mut ") + self.type()
        if char == "A":
            self.pos += 1
            inner = self.type()
            return f"[{inner}; {self.const()}]"
        if char == "S":
            self.pos += 1
            return f"[{self.type()}]"
        if char == "T":
            self.pos += 1
            items = []
            while not self.eat("E"):
                items.append(self.type())
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if char == "D":
            self.pos += 1
            saved = self.bound
            binder = self.binder()
            traits = []
            while not self.eat("E"):
                traits.append(self.dyn_trait())
            self.bound = saved
            text = "dyn " + binder + " + ".join(traits)
            if self.eat("L"):
                lifetime = self.lifetime()
                if lifetime != "'_":
                    text += " + " + lifetime
            return text
        if char == "B":
            self.pos += 1
            return self.at(self.backref(), self.type)
        if char == "F":
            self.pos += 1
            saved = self.bound
            binder = self.binder()
            prefix = "unsafe " if self.eat("U") else ""
            if self.eat("K"):
                if self.eat("C"):
                    abi = "C"
                else:
                    _, abi = self.ident()
                    abi = abi.replace("_", "-")
                prefix += f'extern "{abi}" '
            args = []
            while not self.eat("E"):
                args.append(self.type())
            result = self.type()
            self.bound = saved
            text = f"{binder}{prefix}fn({', '.join(args)})"
            return text if result == "()" else f"{text} -> {result}"
        return self.path(False)

    def dyn_trait(self) -> str:
        base = self.path(False)
        bindings = []
        while self.eat("p"):
            _, name = self.ident()
            bindings.append(f"{name} = {self.type()}")
        if not bindings:
            return base
        if base.endswith(">"):
            return base[:-1] + ", " + ", ".join(bindings) + ">"
        return base + "<" + ", ".join(bindings) + ">"

    def const(self) -> str:
        if self.eat("p"):
            return "_"
        if self.eat("B"):
            return self.at(self.backref(), self.const)
        kind = self.take()
        negative = self.eat("n")
        start = self.pos
        while self.peek() != "_":
            self.take()
        digits = self.s[start : self.pos]
        self.pos += 1
        value = int(digits, 16) if digits else 0
        if kind == "b" and value in (0, 1):
            return f"{'true' if value else 'false'}: bool"
        if kind == "c":
            char = chr(value)
            if not char.isprintable() or char in "'\\":
                raise _Unsupported
            return f"'{char}': char"
        if kind in _BASIC and kind not in ("b", "c", "e", "u", "v", "z", "p", "d", "f"):
            if negative and kind not in _SIGNED:
                raise _Unsupported
            return f"{-value if negative else value}: {_BASIC[kind]}"
        raise _Unsupported


def demangle_v0(name: str) -> str | None:
    """The demangled form of a `_R` name, or None when it is not one we can print."""
    if not name.startswith("_R"):
        return None
    body = name.split(".", 1)[0]  # vendor suffix such as .llvm.1234
    parser = _Parser(body)
    parser.pos = 2
    if parser.peek().isdigit():
        return None  # an encoding version we do not know
    try:
        return parser.path(True)  # the instantiating crate that may follow is not printed
    except (_Unsupported, IndexError, ValueError, RecursionError):
        return None
