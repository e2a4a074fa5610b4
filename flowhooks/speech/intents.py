"""Intents by example phrases: which intent of a set a caller's words ask for, or none.

A wrong intent is worse than none (issue 24): the flow acts on it. So a text matches an
example only when it says every *content word* of the example (all but one, for an
example of three or more, when a word said is one only its intent has): the words
other than function words ("i", "want", "to", "please"), days, times, numbers and
money words. A question word is a content word
("where is my order" is not "order"). A word said under a negation ("don't", "not",
"no need to", "nothing to") is another word than the same word said plainly: "I don't
want a refund" does not say "refund", "money not refunded" does. A letter missing from
a word, a plural "s", or one letter wrong in a word of six or more is forgiven
("acount balanse", "bills"); "play" is not "pay", "called" not "call".

The confidence of an intent is the share of the words that matched examples say (of
every intent) that its own matched examples say, times how much of its best example
was said: "I want to pay my bill" is payment at 1.00 where "pay my bill" is one of its
examples, and none at 0.50 where "pay" is one and "bill" is one of another intent.
Under the threshold, or within ``MARGIN`` of another intent, the answer is none.

A text whose content words are only yes/no words, or that has none ("yes please",
"not sure", "what", "tomorrow", "4421"), matches only an example that is itself a yes
or a no ("yes", "that's right": an intent of a confirmation set) and says the same, or
an example of function words alone that it says whole ("no, that's all" is "that's
all"). "call" after a determiner ("I got a call", "my second call") is the phone call
itself, not the "call" of "call me later".

Everything is prepared once, at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from flowhooks.speech.dates import MONTHS, WEEKDAYS
from flowhooks.speech.normalize import FILLERS, normalize
from flowhooks.speech.reading import CURRENCIES, SUBUNITS
from flowhooks.speech.yesno import NO_PHRASES, UNSURE_PHRASES, YES_PHRASES, extract_yes_no

NONE = "none"
MARGIN = 0.2  # the best intent must lead the next one by this much, else none
# an example of this many content words matches with one not said, when a word said is
# one only its intent has ("person to talk to": "can i talk to a real person")
PARTIAL_FROM = 3

FUNCTION_WORDS = frozenset("""
    i me my mine myself we us our ours you your yours he him his she her it its they
    them their this that these those thats im ive ill id youre theyre were theres lets
    a an the some any all every each another other to of in on at for from with by
    about into onto over up out off through via per as and or but so if then than
    because also just only even still too very really much many more most is am are was
    be been being do does did have has had can could will would shall should may might
    must whom whose please pls plz kindly thanks thank sir madam maam ji bhai want wanna
    need needs needed like love wish gonna gotta let get got getting make made give tell
    know see go going take there here ok okay hello hi hey oh well
""".split())  # fmt: skip
NEGATORS = frozenset("""
    not dont doesnt didnt cant cannot wont never isnt wasnt arent werent havent hasnt
    couldnt shouldnt wouldnt nothing nahi nahin mat
""".split())  # fmt: skip
# a thing not received is what the call is about, not refused: "I didn't get my bill",
# "I haven't received my order": the negation stops at the verb
RECEIVED = frozenset({
    "get", "got", "gotten", "receive", "received", "come", "came", "arrive", "arrived",
    "reach", "reached", "reflect", "reflected", "credited", "delivered",
})  # fmt: skip
# a negation ends at one of these ("I don't want a refund, just cancel it"): the
# sentence's punctuation is gone by now
CLAUSE_BREAKS = frozenset({"but", "and", "so", "then", "instead", "rather", "just", "actually"})
TIME_WORDS = frozenset({
    *MONTHS, *WEEKDAYS, "today", "tomorrow", "yesterday", "tonight", "morning", "evening",
    "afternoon", "night", "noon", "weekend", "week", "weeks", "month", "months", "year",
    "years", "day", "days", "date", "hour", "hours", "minute", "minutes", "mins", "hrs",
    "time", "later", "soon", "next", "last", "coming", "upcoming", "previous", "ago", "after",
    "before", "early", "now", "am", "pm", "aaj", "kal", "parso", "abhi",
})  # fmt: skip
MONEY_WORDS = frozenset({
    *CURRENCIES, *SUBUNITS, "thousand", "hundred", "lakh", "lakhs", "lac", "crore", "crores",
    "k", "double", "triple", "dozen",
})  # fmt: skip
# yes/no said in one word ("check" of "let me check" is not one); content words, so that
# "correct my address" needs "correct", but a text of them alone is only a yes or a no
YES_NO_WORDS = frozenset(
    p for p in (*YES_PHRASES, *NO_PHRASES, *UNSURE_PHRASES, "right") if " " not in p
)
NOT_CONTENT = FUNCTION_WORDS | FILLERS | TIME_WORDS | MONEY_WORDS


@dataclass(frozen=True)
class Match:
    intent: str
    confidence: float  # 0-1


# "call" after one of these (or "5th") is the phone call itself ("I got a call", "my 2nd
# call"), another word than the "call" a caller asks for ("call me later", "a call back")
DETERMINERS = frozenset({
    "a", "an", "the", "this", "that", "my", "your", "our", "his", "her", "their", "every",
    "each", "another", "any", "same", "last", "next", "1st", "2nd", "3rd",
})  # fmt: skip
THE_CALL = "the call"
# a question word is a content word: "where is my pizza" is not "order a pizza"
QUESTIONS = {"whats": "what", "wheres": "where", "hows": "how", "whos": "who", "whys": "why"}


def content_words(ws: Sequence[str]) -> list[str]:
    """The content words of normalised words, in order; a negated one as ``!word``.

    "call" after a determiner, not before "back" or "me", is ``THE_CALL``. A negation
    reaches across function words ("don't want to talk to an agent": both) and ends at a
    verb of receiving ("didn't get my bill": the bill is not refused), a yes/no word
    ("not sure"), a day, number or money word ("not now, call me"), at a clause
    break ("but", "and"), or where two content words meet ("I don't want it anymore
    cancel it"). "no" negates only a word right after it ("no refund", "no need to
    call": need is a function word), not an answer before a sentence ("no, I want to pay").
    """
    out: list[str] = []
    negated = after_content = False
    for k, w in enumerate(ws):
        if w in NEGATORS or (w == "no" and k + 1 < len(ws) and _negatable(ws[k + 1])):
            negated, after_content = True, False
        elif w in RECEIVED and w in FUNCTION_WORDS:
            negated = after_content = False
        elif w in FUNCTION_WORDS and w not in CLAUSE_BREAKS:
            after_content = False
        elif w not in NOT_CONTENT and w.isalpha() and len(w) > 1:
            negated = negated and not after_content
            w = QUESTIONS.get(w, w)
            if w == "call" and _the_call(ws, k):
                w = THE_CALL
            out.append("!" + w if negated else w)
            after_content = True
            negated = negated and w not in YES_NO_WORDS and w not in RECEIVED
        else:
            negated = after_content = False
    return out


def _the_call(ws: Sequence[str], k: int) -> bool:
    """Is ``ws[k]`` ("call") the phone call itself?"""
    before, after = ws[k - 1] if k else "", ws[k + 1] if k + 1 < len(ws) else ""
    noun = before in DETERMINERS or (before[:1].isdigit() and before.endswith("th"))
    return noun and after not in ("back", "me")


def _negatable(w: str) -> bool:
    return w == "need" or (w not in NOT_CONTENT and w not in YES_NO_WORDS and w.isalpha())


def only_yes_no(content: Iterable[str]) -> bool:
    """Content words that are all yes/no words ("yes", "not sure") say no more than that."""
    return all(w.lstrip("!") in YES_NO_WORDS for w in content)


class IntentSet:
    """One set's examples, read once; ``match`` does no set-up work."""

    def __init__(self, intents: Mapping[str, Sequence[str]]) -> None:
        self.labels: list[str] = []
        self.contents: list[frozenset[str]] = []
        # the examples that are only a yes or a no, or only function words: (intent, the
        # yes or no, its words): "yes", "that's right"; "that's all"
        self.bare: list[tuple[str, str, frozenset[str]]] = []
        for intent, phrases in intents.items():
            for phrase in phrases:
                ws = normalize(phrase).split()
                content = frozenset(content_words(ws))
                self.labels.append(intent)
                self.contents.append(content)
                if only_yes_no(content):
                    self.bare.append((intent, extract_yes_no(phrase), frozenset(ws)))
        holders: dict[str, list[int]] = {}
        for i, content in enumerate(self.contents):
            for word in content:
                holders.setdefault(word, []).append(i)
        self.index = {w: tuple(ids) for w, ids in holders.items()}  # content word -> examples
        # the words only one intent's examples have: "balance" of balance, not "account"
        self.own = frozenset(
            w for w, ids in holders.items() if len({self.labels[i] for i in ids}) == 1
        )
        self.vocabulary = sorted({w.lstrip("!") for w in holders})
        # callers say the same words again and again: spelling is looked up once a word
        self._spelled = lru_cache(maxsize=4096)(self._spelling)

    def match(self, text: str, threshold: float) -> Match:
        ws = normalize(text).split()
        said = {self._spelled(w) for w in content_words(ws)}
        if only_yes_no(said):
            return self._yes_no_only(ws, text)
        explained: dict[str, set[str]] = {}  # intent -> the words its matched examples say
        share: dict[str, float] = {}  # intent -> the most of one matched example said
        nearest = 0.0  # the most of any example said
        for i in {i for w in said for i in self.index.get(w, ())}:
            content, label = self.contents[i], self.labels[i]
            common = content & said
            part = len(common) / len(content)
            nearest = max(nearest, part)
            if part == 1 or (
                PARTIAL_FROM <= len(content) == len(common) + 1 and not common.isdisjoint(self.own)
            ):
                explained.setdefault(label, set()).update(common)
                share[label] = max(share.get(label, 0.0), part)
        if not explained:
            return Match(NONE, round(nearest, 2))
        total = len(set().union(*explained.values()))
        scores = {label: share[label] * len(words) / total for label, words in explained.items()}
        ranked = sorted(scores.values(), reverse=True)
        confidence = round(ranked[0], 2)
        if confidence < threshold or (len(ranked) > 1 and ranked[0] - ranked[1] < MARGIN):
            return Match(NONE, confidence)
        return Match(max(scores, key=scores.__getitem__), confidence)

    def _yes_no_only(self, ws: list[str], text: str) -> Match:
        """A text that is only a yes or a no, or only function, day and number words: it
        matches an example that gives the same yes or no ("yeah sure" is "yes"), or an
        example of function words that it says whole, not negated ("no, that's all,
        thanks" is "that's all"; "that's not all" is not)."""
        yes_no, words = extract_yes_no(text), set(ws)
        negators = NEGATORS & words
        found = {
            intent
            for intent, y, e in self.bare
            if (y == yes_no if y else e <= words and negators <= e)
        }
        return Match(found.pop(), 1.0) if len(found) == 1 else Match(NONE, 0.0)

    def _spelling(self, word: str) -> str:
        """The examples' word a misheard one stands for, or the word itself."""
        bare = word.lstrip("!")
        if len(bare) < 4 or word in self.index:
            return word
        for known, _, _ in process.extract(
            bare, self.vocabulary, scorer=Levenshtein.distance, score_cutoff=1, limit=4
        ):
            # a letter missing, a plural, or one wrong in a long word; "play" is not "pay"
            if len(known) > len(bare) or len(bare) >= 6 or bare == known + "s":
                return word[: len(word) - len(bare)] + known
        return word
