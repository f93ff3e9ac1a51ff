"""Crisis messages: a resident who writes about suicide or self-harm, violence,
a child in danger, a medical emergency or nowhere to sleep tonight gets, at
once and before anything else, the emergency number and the right line in
their language, and a person at the hub is alerted (``gateway.conversation``).

Hand-written phrase patterns rather than the intent model, on purpose: a
crisis must be caught even when the model has never seen the wording, the
rule must be readable by the people who answer for it, and every pattern is
tested with messages that must and must not trigger it. The patterns aim at
what people really write, direct and indirect ("jag orkar inte mer"), and
leave out what only sounds alarming ("jag dör av tristess", "this job hunt
is killing me", a question about sick leave). They were written by the team,
not by native speakers of every language: ``tests/common/test_crisis.py`` and
the real-question development set (``eval/dev``) check them, and a native
review is still owed (README, "Crisis messages").

Shared by both environments; imports only the language table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.languages import fold

# What a crisis is about; each kind has its own reply (common/texts.py, "crisis_<kind>").
KINDS = ("suicide", "violence", "child", "medical", "shelter")

# Per language and kind: regular expressions over the folded message
# (common.languages.fold: lower case, no å/ä/ö or vowel marks, Arabic and Persian
# letter forms alike; ZWNJ becomes a space). Write them as people write, the
# module folds them. "\s*" between Persian verb parts allows "می خواهم",
# "میخواهم" and "می‌خواهم".
_ME_SV = r"(jag|mig|mej)"
_WHO_SV = (
    r"(han|hon|min man|mannen|maken|min make|min fru|frun|pojkvannen|min kille|killen|pappa|mamma|"
    r"min bror|brorsan|dom|de|familjen|min partner|sambon|min sambo|exet|mitt ex)"
)
_WHO_EN = (
    r"(he|she|my husband|my wife|husband|my boyfriend|boyfriend|my partner|my dad|my father|my mum|"
    r"my mom|my mother|my brother|they|my ex|my family)"
)
PATTERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "sv": {
        "suicide": (
            r"\bta (livet av mig|mitt (eget )?liv)",
            r"\btar livet av mig",
            r"\bsjalvmord",
            r"\bsuicid",
            r"\bvill (bara |helst )?(do|doo)\b(?! av (skratt|tristess))",
            r"\bvill inte (leva|finnas)",
            r"\borkar inte (leva|mer|langre)\b",
            r"\bingen (mening|ide) (att|med att) leva",
            r"\b(skada|skadar|skadat) (mig|mej) sjalv\b",
            r"\b(skar|skurit|skara) (mig|mej)\b(?! i (fingret|handen))",
            r"\bsjalvskad",
            r"\bhanga mig\b",
            r"\bhoppa framfor (tag|taget|bilen)",
        ),
        "violence": (
            rf"\b{_WHO_SV} (slar|slog|misshandlar|misshandlade|sparkar|hotar|hotade|stryper|strypte) (mig|mej)\b",
            r"\bhotar att (doda|ta livet av) (mig|mej)",
            r"\bhotade att doda (mig|mej)",
            rf"\b{_ME_SV} (blir|blev|har blivit) (slagen|misshandlad|valdtagen|hotad)\b",
            r"\bvaldtog (mig|mej)",
            r"\bvald i (hemmet|nara relation)",
            r"\b(jag ar )?radd for min (man|make|fru|pojkvan|sambo|pappa)\b",
            r"\bvaldtakt",
            r"\bhedersvald",
            r"\bkommer att doda (mig|mej)",
            r"\bslar (mig|mej) i (huvudet|skallen|ansiktet|magen)",
            r"\bstryptag",
            r"\bsexuell(a|t)? overgrepp",
            r"\bkastar (ner|omkull) (mig|mej)",
        ),
        "child": (
            r"\b(slar|slog|misshandlar|misshandlade|sparkar) (mitt barn|mina barn|barnet|barnen|var son|"
            r"var dotter|min son|min dotter|ungarna)",
            r"\bbarn(et|en)? (ar|blir|ar i) (i )?fara\b",
            r"\b(mitt|ett|vart) barn far illa",
            r"\bbarn som far illa",
            r"\bbarnet (blir|blev) (slaget|misshandlat)",
        ),
        "medical": (
            r"\b(kan inte|kan ej|kan knappt) andas\b",
            r"\bfar inte (nagon )?luft\b",
            r"\bblod(er|ning)\b.*\b(slutar inte|stoppa|stoppar inte|mycket|kraftigt)\b",
            r"\b(slutar inte|kan inte stoppa).*\bblod",
            r"\bmedvetslos",
            r"\bhjartinfarkt",
            r"\bstroke\b",
            r"\bont i brostet\b",
            r"\boverdos",
            r"\btagit (for manga|massa) (tabletter|piller)",
            r"\bkrampanfall",
        ),
        "shelter": (
            r"\bingenstans att (sova|bo)\b",
            r"\bsova (ute|pa gatan) (i natt|inatt|ikvall)",
            r"\b(inget|ingen) (boende|sovplats|stalle att sova)( i natt| inatt| ikvall)",
            r"\b(jag ar|blev|blivit) (hemlos|bostadslos|vrakt|utkastad)",
        ),
    },
    "en": {
        "suicide": (
            r"\bkill(ing)? myself\b",
            r"\bend(ing)? (my|my own) life\b",
            r"\bend it all\b",
            r"\btake my (own )?life\b",
            r"\bsuicid",
            r"\b(want|wanna|going) to die\b(?! (of|from) (laughter|boredom))",
            r"\bwanna die\b",
            r"\b(don'?t|do not|dont) want to (live|be alive|exist)",
            r"\bno reason to live",
            r"\bbetter off dead",
            r"\b(can'?t|cannot) go on (like this|anymore|any more|living)\b",
            r"\b(want|wanna|going|thinking (of|about)|keep|started|have been) (to )?(hurt|harm|cut|cutting|hurting|harming) myself",
            r"\bself[- ]?harm",
        ),
        "violence": (
            rf"\b{_WHO_EN} (hits|hit|beats|beat|is beating|is hitting|abuses|abused|kicks|kicked|chokes|choked|"
            r"threatens|threatened|rapes|raped) me\b",
            r"\b(threaten(s|ed)?|going|wants?) to kill me\b",
            r"\bdomestic (violence|abuse)",
            r"\bsexual(ly)? (abuse|abused|assault|assaulted|exploitation|exploited)\b",
            r"\bi (was|got|am being|have been) (raped|beaten|abused|assaulted)",
            r"\bafraid of my (husband|partner|wife)",
        ),
        "child": (
            r"\b(hits|beats|abuses|hurts|kicks) (my|the|our) (child|children|kids?|son|daughter|baby)\b",
            r"\b(child|kid|baby|son|daughter)( is)? in danger\b",
        ),
        "medical": (
            r"\b(can'?t|cannot|cant) breathe\b",
            r"\b(won'?t|doesn'?t|can'?t|cannot) stop (the )?bleeding",
            r"\bbleeding (a lot|heavily|badly)",
            r"\bunconscious\b",
            r"\bheart attack\b",
            r"\bchest pains?\b",
            r"\boverdos",
            r"\btook too many (pills|tablets)",
            r"\bhaving a (stroke|seizure)\b",
        ),
        "shelter": (
            r"\bnowhere to (sleep|stay)\b",
            r"\bno (place|where) to (sleep|stay) tonight",
            r"\bsleep(ing)? (on the street|outside|rough) tonight",
            r"\b(i am|i'm|im) homeless\b",
            r"\b(evicted|kicked out) (today|tonight)\b",
        ),
    },
    "ar": {
        "suicide": (
            r"انتحر",
            r"انتحار",
            r"(اقتل|قتل) نفسی",
            r"انهی حیاتی",
            r"(ارید|اريد|بدی|بدي|ابغی|ابی) (ان )?اموت",
            r"\bبدی موت",
            r"(ما بدی|لا ارید ان|ما ابغی) (اعیش|عیش)",
            r"تعبت من (الحیاه|حیاتی)",
            r"(اوذی|اذیت|اجرح|جرحت) نفسی",
            r"ما عاد فینی عیش",
            r"\b(ente7ar|enti7ar|nte7ar|bade mot|bdi mout|bdi mot)\b",
        ),
        "violence": (
            r"(یضربنی|تضربنی|ضربنی|یعنفنی|یهددنی بالقتل|هددنی بالقتل|بیضربنی|یخنقنی)",
            r"عنف (اسری|منزلی)",
            r"اغتصب(نی|ت)",
            r"اغتصاب",
            r"(اعتداء|استغلال) جنسی",
            r"خایفه من (زوجی|جوزی)",
            r"(سیقتلنی|رح یقتلنی|راح یقتلنی)",
        ),
        "child": (
            r"یضرب (ابنی|بنتی|اطفالی|اولادی|الاطفال|الاولاد|طفلی)",
            r"(طفلی|ابنی|بنتی|الاطفال|اولادی) فی خطر",
        ),
        "medical": (
            r"(لا استطیع|ما اقدر|ما عم اقدر|مش قادر|ما اكدر|ما اکدر) (ان )?(اتنفس|التنفس)",
            r"نزیف",
            r"ینزف",
            r"فاقد الوعی",
            r"مغمی علیه",
            r"نوبه قلبیه",
            r"جلطه",
            r"جرعه زایده",
            r"الم فی (الصدر|صدری)",
        ),
        "shelter": (
            r"(ما عندی|لیس لدی|ما فی) مکان (انام|للنوم|نام)",
            r"انام فی الشارع",
            r"بلا ماوی",
            r"(طردونی|طردنی) من (البیت|السکن)",
        ),
    },
    "so": {
        "suicide": (
            r"\bis dil",
            r"\bisdil",
            r"\bnaftayda (ka )?(qaado|qaato|dilo)",
            r"\binaan dhinto\b",
            r"\b(ma rabo|ma doonayo) inaan (noolaado|sii noolaado)",
            r"\bnolosha (waan )?ka daalay",
            r"\bis dhaawac",
            r"\bisdhaawac",
            r"\bis (gooyay|gooyo|jaro)",
        ),
        "violence": (
            r"\bi garaac(aa|ay|ayaa|ay)\b",
            r"\bwuu i (garaacaa|garaacay|dilayaa|dili doonaa|handadayaa|xanuujiyaa)",
            r"\bi dili doonaa\b",
            r"\brabshad(aha)? (qoyska|guriga)",
            r"\bla i kufsaday",
            r"\bkufsi",
            r"\bxadgudub(ka)? (galmo|galmada)",
            r"\bdambi(falka)? sokeeyaha",
        ),
        "child": (
            r"\b(ilmahayga|ilmaha|carruurta|caruurta|wiilkayga|gabadhayda) (wuu|way|ayuu|ayay)? ?garaac",
            r"\b(ilmahayga|ilmo|cunug|carruurta|caruurta)\b.*\bhalis\b",
        ),
        "medical": (
            r"\bma neefsan karo",
            r"\bneef(ta)? (ma qaadan karo|i qabatay)",
            r"\bdhiig(bax| baa iga| ayaa iga)",
            r"\bmiyir(beel| beelay|ka tagay)",
            r"\bsuuxay",
            r"\bwadne xanuun",
            r"\bistaroog",
        ),
        "shelter": (
            r"\bmeel aan (ku )?seexdo (ma|maa) (haysto|lihi)",
            r"\bhoy la'?aan",
            r"\bwaddada (ayaan|baan) seexan",
            r"\bcaawa meel aan (ku )?seexdo",
        ),
    },
    "fa": {
        "suicide": (
            r"خودکشی",
            r"خود\s*م?\s*(را|رو|و)? ?(بکشم|میکشم|می کشم)",
            r"(می\s*خواهم|میخوام|می خوام|میخواهم) (بمیرم|بمرم)",
            r"(نمی\s*خواهم|نمیخوام|نمی خوام) (زنده باشم|زندگی کنم|زنده بمانم)",
            r"(دیگر|دیگه) (طاقت|توان) (ندارم|زندگی)",
            r"به خودم (اسیب|صدمه) (بزنم|زدم|میزنم|می زنم)",
            r"(رگ|رگم|رگ دستم) را? ?(زدم|بزنم)",
        ),
        "violence": (
            r"(مرا|منو|من را|مره) (می\s*زند|میزنه|می زنه|کتک می\s*زند|کتک میزنه|لت می\s*کند|لت میکنه)",
            r"(کتکم|لتم) (می\s*زند|میزنه|میکنه|می کند)",
            r"(شوهرم|خاوندم|همسرم|پدرم|برادرم) .*\b(کتک|لت)\b",
            r"خشونت (خانگی|خانوادگی)",
            r"تهدید به (کشتن|قتل)",
            r"(مرا|منو) (میکشه|می کشد|خواهد کشت)",
            r"(به من|بهم) تجاوز",
            r"تجاوز جنسی",
            r"(ازار|سوء ?استفاده) جنسی",
        ),
        "child": (
            r"(بچه|بچه ها|بچه هایم|فرزندم|کودکم|طفلم|اولادم|پسرم|دخترم) .*\b(کتک|لت)\b ?(می\s*زند|میزنه|میکنه|می کند)",
            r"(بچه|فرزند|کودک|طفل|اولاد)(م|هایم|ام)? در خطر",
        ),
        "medical": (
            r"(نمی\s*توانم|نمیتونم|نمی تونم) نفس (بکشم|بکشیم)",
            r"نفس (کشیده|گرفته) (نمی\s*توانم|نمیتانم)",
            r"خونریزی",
            r"بیهوش",
            r"سکته",
            r"حمله قلبی",
            r"درد (قفسه )?سینه",
            r"اوردوز",
        ),
        "shelter": (
            r"جا(ی|یی)? (برای )?خواب ندارم",
            r"(امشب|امروز) جا(یی)? (ندارم|برای خواب)",
            r"(در|تو) (خیابان|سرک) (میخوابم|می خوابم)",
            r"بی\s*خانمان",
            r"از خانه بیرونم (کردند|کردن)",
        ),
    },
    "ti": {
        "suicide": (
            r"(ነብሰይ|ርእሰይ) (ክቐትል|ክቀትል|ክቐተል|ክቀተል)",
            r"(ክመውት|ክሞት|ምሟት) (እደሊ|እየ ዝደሊ|ደልየ)",
            r"(ነብሰ|ርእሰ) (ቕትለት|ቅትለት)",
            r"(ክነብር|ምንባር) (ኣይደልን|ኣይደለኹን)",
            r"(ነብሰይ|ርእሰይ) (ክጎድእ|ጎዲአ)",
        ),
        "violence": (
            r"(ይወቕዓኒ|ይወቅዓኒ|ይሃርመኒ|ይወቕዑኒ|ትወቕዓኒ|ይሃርሙኒ|ወቒዑኒ|ሃሪሙኒ)",
            r"(ክቐትለኒ|ክቀትለኒ|ክቐትሉኒ)",
            r"ዓመጽ (ኣብ ገዛ|ስድራ)",
            r"(ተዓሚጸ|ዓሚጹኒ|ተገሲሰ)",
            r"ጾታዊ (ዓመጽ|ግህሰት|ምግሃስ)",
        ),
        "child": (r"(ውሉደይ|ቆልዓይ|ቆልዑ|ወደይ|ጓለይ|ህጻን).*(ይወቕዕ|ይሃርም|ኣብ ሓደጋ)",),
        "medical": (
            r"(ክተንፍስ|ምስትንፋስ) (ኣይክእልን|ኣይከኣልኩን)",
            r"ደም (ይፈስስ|ይወጽእ|ይፈሰኒ|ዝፈስስ)",
            r"(ልበይ|ኣፍ ልበይ) (የሕምመኒ|ይሕምመኒ)",
            r"(ዓንዲ ልቢ|ስትሮክ)",
        ),
        "shelter": (
            r"(ዝድቅሰሉ|መደቀሲ) (ቦታ )?(የብለይን|የለን)",
            r"ኣብ (ጎደና|ጽርግያ) (ክድቅስ|ደቂሰ)",
        ),
    },
}


@dataclass(frozen=True)
class Crisis:
    kind: str  # one of KINDS
    language: str  # the language of the pattern that matched


_COMPILED: list[tuple[str, str, re.Pattern]] = [
    (language, kind, re.compile(fold(pattern)))
    for language, by_kind in PATTERNS.items()
    for kind in KINDS
    for pattern in by_kind.get(kind, ())
]
# Most urgent first: a message that speaks of several gets the most urgent line.
_COMPILED.sort(key=lambda item: KINDS.index(item[1]))


def detect(message: str) -> Crisis | None:
    """The crisis a message speaks of, with the language its wording is in;
    None for an ordinary message."""
    text = " ".join(fold(message.replace("\u2019", "'")).split())
    for language, kind, pattern in _COMPILED:
        if pattern.search(text):
            return Crisis(kind, language)
    return None
