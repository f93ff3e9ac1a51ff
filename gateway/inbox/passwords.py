"""How strong a new password must be: long enough, and not made of what is guessed first
(``password_problem``). ``security`` imports these names too, where the inbox found them before."""

from __future__ import annotations

import re

MIN_PASSWORD = 12


# Hand-written: zxcvbn, the library for this, is not among the pinned packages. A password is
# refused when little is left once the words everyone tries, the person's own names, years and
# runs along the keyboard or the alphabet are taken out, or when it repeats itself.
COMMON = """password passw0rd lösenord losenord qwerty qwertz azerty letmein welcome välkommen
    valkommen admin administrator iloveyou monkey dragon football baseball sunshine princess master shadow
    superman batman trustno1 hello hejsan sommar vinter sverige göteborg goteborg borås boras hubguide hubben
    framtidshubben 1q2w3e4r 1qaz2wsx zaq12wsx qazwsx abc123 secret hemlig changeme default login guest
    inbox coordinator koordinator""".split()
RUNS = ("abcdefghijklmnopqrstuvwxyzåäö", "0123456789", "qwertyuiopå", "asdfghjklöä", "zxcvbnm", "1234567890")
NEIGHBOURS = {a + b for run in RUNS for a, b in zip(run, run[1:], strict=False)}
NEIGHBOURS |= {pair[::-1] for pair in NEIGHBOURS}
YEARS = re.compile(r"(19|20)\d\d")


def _guessable_rest(text: str, personal: list[str]) -> str:
    """What is left of ``text`` without common words, the person's names, years, and runs of 3 or more
    neighbouring keys, letters or digits (or of one character)."""
    for word in sorted(personal + COMMON, key=len, reverse=True):
        text = text.replace(word, " ")
    text = YEARS.sub(" ", text)
    kept, start = [], 0
    for end in range(1, len(text) + 1):  # split into runs where each character follows the one before
        if end == len(text) or not (text[end - 1 : end + 1] in NEIGHBOURS or text[end] == text[end - 1]):
            kept.append(text[start:end] if end - start < 3 else "")
            start = end
    return "".join(kept).replace(" ", "")


def password_problem(password: str, personal: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` will not do, or None; ``personal``: the account's email and name."""
    if len(password) < MIN_PASSWORD:
        return f"A password needs at least {MIN_PASSWORD} characters."
    if len(password) > 200:
        return "A password can have at most 200 characters."
    lowered = password.lower()
    own = [text.lower().split("@")[0] for text in personal]  # the email's part before @, and the name
    names = [w for text in own for w in (text, *re.split(r"[\W\d_]+", text)) if len(w) >= 3]
    leet = lowered.translate(str.maketrans("@43$501!7", "aaessoiit"))
    if min(len(_guessable_rest(lowered, names)), len(_guessable_rest(leet, names))) < 5:
        return (
            "That password is made of common words, names, years or keyboard runs, which are guessed "
            "first. A few unusual words of your own make a good one."
        )
    if re.fullmatch(r"(.+?)\1+", lowered) or len(set(lowered)) < 6:
        return "That password repeats itself. A few unusual words of your own make a good one."
    return None
