"""How Asterisk 22.10.1 takes apart what a script sends, ported line for line for the fakes.

The fake peer (``peer.channel``) must read our commands the way Asterisk does, or a test of
escaping proves nothing; so these are straight ports of the C, not a second guess at it:

* :func:`agi_words`: ``res/res_agi.c`` ``parse_args``, an AGI command line into words;
* :func:`separate_args`: ``main/app.c`` ``__ast_app_separate_args``, how applications
  split their data (``AST_STANDARD_APP_ARGS`` and kin);
* :func:`mset`: ``main/pbx_variables.c`` ``pbx_builtin_setvar_multiple``, the ``MSet``
  application, and :func:`set_app`: ``pbx_builtin_setvar``, ``Set``.

``tests/asterisk/test_agi_dialplan.py`` checks the same values against the real thing.
"""

from __future__ import annotations


def agi_words(line: str) -> list[str]:
    """``parse_args``: words split on unquoted, unescaped blanks or tabs; ``"`` toggles
    quoting (and starts a word after a blank); ``\\`` makes the next character literal."""
    words: list[list[str]] = []
    quoted = escaped = False
    blank = True  # "whitespace" in the C: the next character starts a word
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and blank:
                words.append([])
                blank = False
            continue
        if char in " \t" and not quoted and not escaped:
            blank = True
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if blank:
            words.append([])
            blank = False
        words[-1].append(char)
        escaped = False
    return ["".join(word) for word in words]


def separate_args(data: str, delim: str, remove_chars: bool, arraylen: int) -> list[str]:
    """``__ast_app_separate_args``: ``data`` split on ``delim`` outside ``(...)``,
    ``[...]`` and ``"..."`` (whose states carry on from one argument to the next); with
    ``remove_chars`` a ``"`` is dropped and a ``\\`` is dropped with the next character
    kept literally. The last of ``arraylen`` arguments is the raw rest, unprocessed."""
    args: list[str] = []
    paren = bracket = 0
    quote = False
    at = 0
    ended_on_delim = False
    while at < len(data) and len(args) < arraylen - 1:
        out: list[str] = []
        ended_on_delim = False
        while at < len(data):
            char = data[at]
            if char == "(":
                paren += 1
            elif char == ")":
                paren = max(0, paren - 1)
            elif char == "[":
                bracket += 1
            elif char == "]":
                bracket = max(0, bracket - 1)
            elif char == '"' and delim != '"':
                quote = not quote
                if remove_chars:
                    at += 1
                    continue
            elif char == "\\":
                if remove_chars:  # the backslash goes, the next character is skipped over
                    at += 1
                    if at < len(data):
                        out.append(data[at])
                    at += 1
                    continue
                out.append(char)
                at += 1
                if at < len(data):
                    out.append(data[at])
                at += 1
                continue
            elif char == delim and not paren and not quote and not bracket:
                at += 1
                ended_on_delim = True
                break
            out.append(char)
            at += 1
        args.append("".join(out))
    # "If the last character in the original string was the delimiter, then there is one
    # additional argument."
    if at < len(data) or ended_on_delim:
        args.append(data[at:])
    return args


def mset(data: str) -> dict[str, str]:
    """What ``MSet(data)`` sets: up to 99 comma-separated ``name=value`` pairs; a pair
    without ``=`` is ignored (with a warning, in Asterisk)."""
    found: dict[str, str] = {}
    for pair in separate_args(data, ",", True, 99):
        name_value = separate_args(pair, "=", True, 2)
        if len(name_value) == 2:
            found[name_value[0]] = name_value[1]
    return found


def set_app(data: str) -> dict[str, str]:
    """What ``Set(data)`` sets: the name up to the first ``=``, the value the raw rest."""
    name, equals, value = data.partition("=")
    return {name: value} if equals else {}
