"""Generate data/sample_tweets.csv, a small SYNTHETIC tweet corpus.

Every tweet in the sample is made up by this script. No public tweet corpus
can be redistributed, so the default dataset for `python train.py` is built
here from templates and word lists instead. It exists so that training runs
offline and the tests have data; it says nothing about real people.

How the sample is built:

* Each synthetic author (user_000, user_001, ...) draws a set of writing
  HABITS, each one independently from a shared pool of options: preferred
  topics and pet words, capitalisation, end punctuation, spelling quirks,
  emoji, hashtags, mentions, links, tweet length, spacing, number style
  and a sign-off. See `make_author` for the full list.
* Each tweet is 1-4 sentences made from simple templates filled with topic
  words, and the author's habits are then applied to it. A habit shows up
  with high but not perfect consistency (80-95%, per author), so the
  same-author task is learnable but not trivial.
* Because the habits come from pools shared by all authors, a character-level
  model trained on some authors can compare habits of authors it never saw
  (the evaluation splits by author).

The output is deterministic: the same seed gives a byte-identical CSV. Each
author has their own random stream, seeded from (seed, author index), so a
smaller corpus is a prefix of a larger one with the same seed.

Usage:
    python data/make_sample.py                      # writes data/sample_tweets.csv
    python data/make_sample.py --out /tmp/t.csv --authors 20 --seed 7
    python data/make_sample.py --check              # also print a sanity AUC
"""

import argparse
import csv
import random
import re
import string
from pathlib import Path

# ----------------------------------------------------------------------------
# config
SEED = 1234
N_AUTHORS = 300
MIN_TWEETS, MAX_TWEETS = 20, 40    # tweets per author, inclusive
MIN_CHARS, MAX_CHARS = 20, 280     # tweet length in characters (code points)
CONSISTENCY = (0.80, 0.95)         # per author: how often a habit shows up
MAX_TRIES = 200                    # attempts per tweet to fit length / be unique
OUT_PATH = Path(__file__).resolve().parent / "sample_tweets.csv"

# ----------------------------------------------------------------------------
# shared pools (lists, not sets: iteration order must never depend on hashing)

# topic -> (noun phrases, verb phrases in base form, hashtags in CamelCase)
TOPICS = {
    "sports": (
        ["the match", "the ref", "extra time", "the league", "our keeper",
         "the transfer window", "penalties", "the derby", "the playoffs",
         "game day", "the coach", "the new lineup", "the stadium", "the final"],
        ["watch the game", "get tickets", "go for a run", "yell at the tv",
         "play five a side", "check the scores", "defend the coach"],
        ["GameDay", "MatchDay", "COYS", "Playoffs", "FantasyFootball"],
    ),
    "tech": (
        ["the new phone", "this update", "my laptop", "the wifi", "python",
         "the beta", "dark mode", "the app", "my keyboard", "the cloud bill",
         "this bug", "the release", "open source", "the new chip"],
        ["update my laptop", "fix this bug", "ship the release", "reboot",
         "learn rust", "deploy on a friday", "buy a new monitor"],
        ["100DaysOfCode", "DevLife", "TechNews", "OpenSource", "Python"],
    ),
    "food": (
        ["this pizza", "the ramen place", "brunch", "my sourdough", "tacos",
         "the new cafe", "pumpkin spice", "my grandma's soup", "street food",
         "the burger", "iced coffee", "the bakery", "hot sauce", "dessert"],
        ["cook dinner", "order takeout", "bake bread", "try the new cafe",
         "eat tacos", "make pancakes", "grab a coffee"],
        ["Foodie", "Brunch", "TacoTuesday", "HomeCooking", "Yum"],
    ),
    "politics": (
        ["the debate", "the election", "this bill", "the senate", "the council",
         "the budget", "the new policy", "the polls", "the minister",
         "local news", "the vote", "the campaign", "the press briefing",
         "the referendum"],
        ["vote", "call my rep", "read the bill", "watch the debate",
         "sign the petition", "go to the town hall", "fact check this"],
        ["Vote", "Election", "Debate", "Democracy", "LocalNews"],
    ),
    "music": (
        ["the new album", "this song", "the concert", "my playlist", "vinyl",
         "the festival", "the bassline", "the encore", "this remix", "the tour",
         "the opening act", "my guitar", "the chorus", "the live set"],
        ["play this on repeat", "buy the vinyl", "learn guitar", "go to the gig",
         "make a playlist", "sing in the car", "queue for tickets"],
        ["NowPlaying", "NewMusic", "Vinyl", "LiveMusic", "OnRepeat"],
    ),
    "travel": (
        ["the airport", "my flight", "the hostel", "the beach", "lisbon",
         "the night train", "my passport", "the view", "jet lag", "the old town",
         "the road trip", "the hotel", "the mountains", "the ferry"],
        ["book a flight", "pack my bag", "catch the train", "see the sunset",
         "find a cheap hostel", "go travel", "get lost on purpose"],
        ["Wanderlust", "TravelGram", "RoadTrip", "Travel", "Adventure"],
    ),
    "gaming": (
        ["the new patch", "ranked", "the boss fight", "my squad", "the sequel",
         "the speedrun", "this build", "the loot", "the open world", "the dlc",
         "the final level", "my controller", "the stream", "the servers"],
        ["grind ranked", "finish the game", "go live", "beat the boss",
         "buy the dlc", "play with the squad", "rage quit"],
        ["Gaming", "GamerLife", "Twitch", "RetroGaming", "PatchNotes"],
    ),
    "finance": (
        ["the market", "my portfolio", "interest rates", "bitcoin", "the budget",
         "my savings", "index funds", "the dip", "rent", "inflation",
         "the earnings call", "crypto", "my side hustle", "the stock"],
        ["buy the dip", "check my portfolio", "save money", "pay rent",
         "rebalance", "cancel a subscription", "read the earnings"],
        ["Investing", "Stocks", "Crypto", "PersonalFinance", "FIRE"],
    ),
    "pets": (
        ["my dog", "the cat", "the vet", "the new puppy", "my hamster",
         "the dog park", "treats", "the litter box", "her new collar",
         "the fish tank", "bath time", "the neighbor's cat", "walkies",
         "the squeaky toy"],
        ["walk the dog", "feed the cat", "go to the vet", "adopt a puppy",
         "buy more treats", "clean the tank", "cuddle the cat"],
        ["DogsOfTwitter", "CatsOfTwitter", "Caturday", "AdoptDontShop", "PetLife"],
    ),
    "movies": (
        ["the trailer", "the sequel", "the cinema", "this show", "the finale",
         "the director's cut", "the plot twist", "the soundtrack", "season two",
         "the cast", "the remake", "the popcorn", "the theater", "the ending"],
        ["binge the show", "watch the trailer", "go to the theater",
         "rewatch the finale", "avoid spoilers", "pick a movie", "queue it up"],
        ["MovieNight", "Netflix", "NowWatching", "Cinema", "Spoilers"],
    ),
}
TOPIC_NAMES = list(TOPICS)  # insertion order, stable

ADJECTIVES = [
    "amazing", "terrible", "overrated", "underrated", "wild", "great",
    "so good", "a mess", "unreal", "boring", "insane", "beautiful", "perfect",
    "so bad", "weird", "brilliant", "a disaster", "really good", "too much",
]
TIMES = [
    "today", "tonight", "this morning", "this weekend", "right now",
    "yesterday", "again", "every single time", "on a monday", "all week",
    "this year", "later",
]
REACTIONS = [
    "no thanks", "love it", "why", "what a day", "I can't", "same",
    "so good", "not again", "great", "wow", "okay then", "big mood",
]

# {noun}/{noun2} noun phrase, {verb} base-form verb phrase, {adj}, {time},
# {num} small count, {big} big number, {react} a short reaction.
TEMPLATES = [
    "{noun} is {adj}",
    "can't believe {noun} was {adj} {time}",
    "I really need to {verb} {time}",
    "who else wants to {verb}",
    "nothing beats {noun}",
    "hot take: {noun} is {adj}",
    "not gonna lie, {noun} is {adj}",
    "{noun} {time}? {react}",
    "my favorite thing {time} was {noun}",
    "I love {noun} so much",
    "{noun} and {noun2}, what a combo",
    "reminder that {noun} is {adj}",
    "you know {noun} is {adj} when you {verb}",
    "{num} hours of {noun} and I'm still not done",
    "finally got to {verb} {time}",
    "thanks for the great tips about {noun}",
    "I'm going to {verb} {time}, wish me luck",
    "your opinion on {noun} is wrong",
    "{big} people talking about {noun} {time}",
    "did anyone else {verb} {time}",
    "please tell me {noun} is not {adj}",
    "I didn't realize {noun} was this {adj}",
    "the color of {noun} is {adj}",
    "just saw {noun}, it's {adj}",
    "{noun} is the center of my life",
    "trying to organize {noun} before I {verb}",
    "{noun} got canceled, {react}",
    "my mom thinks {noun} is {adj}",
    "see you later, time to {verb}",
    "yes, {noun} is back {time}",
    "{num} reasons why {noun} is {adj}",
    "ok but {noun} though",
    "I'm so tired of {noun}",
    "remember when {noun} was {adj}?",
    "great, {noun} again",
    "because {noun} is {adj}, I'm going to {verb}",
]

# ------------------------------------------------------------------ habit pools
CASE_STYLES = ["lower", "sentence", "title", "shouty", "allcaps"]
END_PUNCT = ["!!!", "...", ".", "?!", "", "!", "!!"]
SPACING = ["normal", "double_after_period", "space_before_bang", "no_space_after_comma"]
NUMBER_STYLES = ["digits", "words", "short", "comma"]
LENGTHS = {"short": (1, 1), "medium": (1, 2), "long": (2, 4)}
LENGTH_NAMES = list(LENGTHS)

PET_OPENERS = ["honestly", "tbh", "lowkey", "ngl", "literally", "basically",
               "ok so", "omg", "ugh", "bruh", "yikes", "welp", "oh man", "look,"]
PET_CLOSERS = ["lol", "lmao", "haha", "hahaha", "smh", "fr", "tho", "mate",
               "dude", "y'all", "xD", "innit", "for real", "bestie", "fml", "ffs"]

# American -> British: applied to whole words for "british" spellers
BRITISH = {
    "favorite": "favourite", "color": "colour", "realize": "realise",
    "center": "centre", "organize": "organise", "canceled": "cancelled",
    "mom": "mum", "neighbor's": "neighbour's", "theater": "theatre",
    "traveling": "travelling", "gray": "grey", "program": "programme",
}
# standard -> txt-speak: applied word by word for "txt" spellers
TXT_SPEAK = {
    "you": "u", "your": "ur", "you're": "ur", "great": "gr8", "to": "2",
    "for": "4", "tonight": "2nite", "please": "pls", "because": "bc",
    "people": "ppl", "thanks": "thx", "really": "rly", "later": "l8r",
    "before": "b4", "see": "c", "are": "r", "okay": "k", "ok": "k",
    "tomorrow": "tmrw", "what": "wat",
}
# words some authors stretch, "so" -> "sooo"
STRETCHABLE = ["so", "love", "yes", "good", "no", "omg", "why", "wow", "much",
               "ugh", "too", "great", "need", "really", "tired"]
SPELLINGS = ["standard", "british", "txt", "no_apostrophes", "stretchy"]

EMOJI = ["😂", "😭", "🔥", "❤️", "✨", "🙏", "😍", "💯", "🤔", "😎", "🙄", "👀",
         "🎉", "😅", "💀", "🥺", "👍🏽", "👏🏻", "💪🏿", "🙌🏾", "👌🏼", "✌🏻",
         "🤦🏽‍♀️", "🤷🏻‍♂️"]
EMOTICONS = [":)", ":-)", ":D", ";)", ":(", ":P", "<3", "^^", ":/", "xx"]
EMOJI_STYLES = ["none", "start", "end", "both", "emoticon"]

HASHTAG_STYLES = ["none", "signature", "camel", "lower"]
SIGNATURE_TAGS = ["TeamNoSleep", "JustSaying", "BlessedAndStressed", "SundayFunday",
                  "NoFilter", "MondayMood", "StayHumble", "ThatsAllFolks",
                  "DailyRant", "KeepItReal", "CoffeeFirst", "TrustTheProcess"]

MENTION_NAMES = ["jess_k", "mike88", "the_real_tom", "sarahlou", "dan_codes",
                 "priya", "coach_b", "mrsmith", "kat_travels", "big_al",
                 "nina.m", "joey_99", "lolabear", "sam_writes", "rachel_r",
                 "benny", "zoe_eats", "chrisp", "meg_on_air", "ali_k"]
URL_STYLES = ["none", "bitly", "tco"]
SIGNOFF_STYLES = ["none", "dash", "caret", "tilde", "xoxo"]

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven",
                "eight", "nine", "ten", "eleven", "twelve"]
URL_CHARS = string.ascii_letters + string.digits


# ----------------------------------------------------------------------------
# authors

def make_author(rng):
    """Draw one author's habits, each independently from the shared pools."""
    n_topics = rng.choice([1, 2])
    emoji_set = rng.sample(EMOJI, rng.randint(1, 3))
    return {
        "consistency": rng.uniform(*CONSISTENCY),
        # vocabulary: 1-2 favourite topics plus a few personal pet words
        "topics": rng.sample(TOPIC_NAMES, n_topics),
        "templates": rng.sample(TEMPLATES, 6),       # favourite phrasings
        "adjectives": rng.sample(ADJECTIVES, 3),     # favourite adjectives
        "openers": rng.sample(PET_OPENERS, rng.randint(1, 2)),
        "closers": rng.sample(PET_CLOSERS, rng.randint(1, 2)),
        "pet_rate": rng.uniform(0.3, 0.7),
        # surface form
        "case": rng.choice(CASE_STYLES),
        "end": rng.choice(END_PUNCT),
        "spelling": rng.choice(SPELLINGS),
        "stretch": rng.randint(3, 6),            # "sooo" vs "sooooo"
        "spacing": rng.choice(SPACING),
        "numbers": rng.choice(NUMBER_STYLES),
        "length": rng.choice(LENGTH_NAMES),
        # decorations
        "emoji_style": rng.choice(EMOJI_STYLES),
        "emoji": emoji_set,
        "emoticon": rng.choice(EMOTICONS),
        "hashtags": rng.choice(HASHTAG_STYLES),
        "signature": rng.choice(SIGNATURE_TAGS),
        "mentions": rng.sample(MENTION_NAMES, rng.randint(1, 3)) if rng.random() < 0.4 else [],
        "url": rng.choice(URL_STYLES),
        "url_rate": rng.uniform(0.2, 0.5),
        "signoff": make_signoff(rng),
    }


def make_signoff(rng):
    """A personal sign-off like '-J' or '^MK', or '' for most authors."""
    style = rng.choice(SIGNOFF_STYLES + ["none", "none"])   # most don't sign
    initials = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(1, 2)))
    return {"none": "", "dash": "-" + initials, "caret": "^" + initials,
            "tilde": "~" + initials.lower(), "xoxo": "xoxo " + initials}[style]


def habit(rng, author, key, pool):
    """The author's own option for `key` most of the time, else any option from the pool."""
    if rng.random() < author["consistency"]:
        return author[key]
    return rng.choice(pool)


# ----------------------------------------------------------------------------
# sentences

def format_number(n, style):
    """Write n in one of the number styles (3 / three / 1.5k / 1,500)."""
    if style == "words" and n < len(NUMBER_WORDS):
        return NUMBER_WORDS[n]
    if style == "short" and n >= 1000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    if style in ("comma", "words"):
        return f"{n:,}"
    return str(n)


def make_sentence(rng, author):
    """One template sentence, filled with words from the author's topics (mostly)."""
    topic = rng.choice(author["topics"]) if rng.random() < author["consistency"] else rng.choice(TOPIC_NAMES)
    nouns, verbs, _ = TOPICS[topic]
    noun, noun2 = rng.sample(nouns, 2)
    numbers = habit(rng, author, "numbers", NUMBER_STYLES)
    own = rng.random() < author["consistency"]   # the author's favourite phrasing?
    template = rng.choice(author["templates"] if own else TEMPLATES)
    adjective = rng.choice(author["adjectives"] if own else ADJECTIVES)
    text = template.format(
        noun=noun, noun2=noun2, verb=rng.choice(verbs), adj=adjective,
        time=rng.choice(TIMES), react=rng.choice(REACTIONS),
        num=format_number(rng.randint(2, 12), numbers),
        big=format_number(rng.choice([150, 300, 1200, 1500, 2500, 10000, 45000]), numbers),
    )
    # pet words: a personal opener or closer on some sentences
    if rng.random() < author["pet_rate"]:
        if rng.random() < 0.5:
            text = rng.choice(author["openers"]) + " " + text
        else:
            text = text + " " + rng.choice(author["closers"])
    return text


def respell(rng, author, text):
    """Apply the author's spelling quirk word by word (most words, not all)."""
    style = habit(rng, author, "spelling", SPELLINGS)
    if style == "standard":
        return text

    def fix(m):
        word = m.group(0)
        if rng.random() > author["consistency"]:
            return word
        low = word.lower()
        if style == "british" and low in BRITISH:
            return BRITISH[low]
        if style == "txt" and low in TXT_SPEAK:
            return TXT_SPEAK[low]
        if style == "no_apostrophes":
            return word.replace("'", "")
        if style == "stretchy" and low in STRETCHABLE:
            return word + word[-1] * (author["stretch"] - 1)
        return word

    return re.sub(r"[A-Za-z']+", fix, text)


def recase(rng, author, text):
    """Apply the author's capitalisation style to one sentence."""
    style = habit(rng, author, "case", CASE_STYLES)
    if style == "lower":
        return text.lower()
    if style == "allcaps":
        return text.upper()
    if style == "title":
        return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    text = text[:1].upper() + text[1:]
    if style == "shouty":   # sentence case with a few random words in CAPS
        words = text.split(" ")
        return " ".join(w.upper() if len(w) > 2 and rng.random() < 0.25 else w for w in words)
    return text


def punctuate(rng, author, text):
    """End a sentence with the author's punctuation (unless it already ends in one)."""
    if text[-1] in "?!.":
        return text
    return text + habit(rng, author, "end", END_PUNCT)


def join_sentences(rng, author, sentences):
    """Join sentences and apply the author's spacing quirk."""
    spacing = habit(rng, author, "spacing", SPACING)
    text = " ".join(sentences)
    if spacing == "double_after_period":
        text = re.sub(r"([.!?]) (?=\S)", r"\1  ", text)
    elif spacing == "space_before_bang":
        text = re.sub(r"(?<=\w)([!?]+)", r" \1", text)
    elif spacing == "no_space_after_comma":
        text = text.replace(", ", ",")
    return text


# ----------------------------------------------------------------------------
# decorations

def emoji_run(rng, author):
    """One or two of the author's own emoji, sometimes repeated ('😂😂😂')."""
    if rng.random() > author["consistency"]:
        return rng.choice(EMOJI)
    e = rng.choice(author["emoji"])
    return e * rng.choice([1, 1, 2, 3])


def make_url(rng, style):
    """A fake shortened link: bit.ly + 6 chars or t.co + 10 chars."""
    if style == "bitly":
        return "http://bit.ly/" + "".join(rng.choice(URL_CHARS) for _ in range(6))
    return "https://t.co/" + "".join(rng.choice(URL_CHARS) for _ in range(10))


def hashtag(rng, author, topic):
    """A hashtag in the author's style: signature, #CamelCase or #lowercase topic tag."""
    style = habit(rng, author, "hashtags", HASHTAG_STYLES)
    tag = rng.choice(TOPICS[topic][2])
    if style == "signature":
        return "#" + author["signature"]
    if style == "camel":
        return "#" + tag
    if style == "lower":
        return "#" + tag.lower()
    return ""


def decorate(rng, author, text):
    """Add mentions, emoji, hashtags, link and sign-off around the body."""
    head, tail = [], []
    if author["mentions"] and rng.random() < 0.5:
        head += ["@" + m for m in rng.sample(author["mentions"], rng.randint(1, len(author["mentions"])))]
    emoji = habit(rng, author, "emoji_style", EMOJI_STYLES)
    if emoji in ("start", "both"):
        head.append(emoji_run(rng, author))
    if emoji in ("end", "both"):
        tail.append(emoji_run(rng, author))
    if emoji == "emoticon":
        tail.append(author["emoticon"])
    if rng.random() < 0.7:
        tag = hashtag(rng, author, rng.choice(author["topics"]))
        if tag:
            tail.append(tag)
    if author["url"] != "none" and rng.random() < author["url_rate"]:
        tail.append(make_url(rng, author["url"]))
    if author["signoff"] and rng.random() < author["consistency"]:
        tail.append(author["signoff"])
    return " ".join(head + [text] + tail)


def make_tweet(rng, author, max_sentences=None):
    """One tweet: 1-4 template sentences with all of the author's habits applied."""
    lo, hi = LENGTHS[habit(rng, author, "length", LENGTH_NAMES)]
    n = rng.randint(lo, hi)
    if max_sentences is not None:
        n = min(n, max_sentences)
    sentences = []
    for _ in range(n):
        s = make_sentence(rng, author)
        s = respell(rng, author, s)
        s = recase(rng, author, s)
        sentences.append(punctuate(rng, author, s))
    return decorate(rng, author, join_sentences(rng, author, sentences))


# ----------------------------------------------------------------------------
# corpus

def author_id(i, n_authors):
    """'user_007': zero-padded to at least 3 digits."""
    return f"user_{i:0{max(3, len(str(n_authors - 1)))}d}"


def generate(n_authors=N_AUTHORS, seed=SEED):
    """Return [(author, text), ...] grouped by author, deterministic in (n_authors, seed)."""
    rows, seen = [], set()   # `seen` is only used for membership, never iterated
    for i in range(n_authors):
        # a string seed is hashed with sha512 by `random`, not with hash(): stable across runs
        rng = random.Random(f"{seed}:{i}")
        author = make_author(rng)
        name = author_id(i, n_authors)
        for _ in range(rng.randint(MIN_TWEETS, MAX_TWEETS)):
            for attempt in range(MAX_TRIES):
                # long attempts that overflow are retried with fewer sentences
                text = make_tweet(rng, author, max_sentences=4 - min(attempt // 5, 3))
                if MIN_CHARS <= len(text) <= MAX_CHARS and text not in seen:
                    break
            else:
                raise RuntimeError(f"could not make a valid unique tweet for {name}")
            seen.add(text)
            rows.append((name, text))
    return rows


def write_csv(rows, path):
    """Write rows as a UTF-8 CSV with header author,text and '\\n' line endings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["author", "text"])
        writer.writerows(rows)


def sanity_auc(rows, n_pairs=2000, seed=0):
    """Rough AUC of char-frequency cosine for same- vs different-author single-tweet pairs.

    A quick check that habits are visible at the character level: ~0.5 means
    authors are indistinguishable, 1.0 means the task is trivial.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    chars = sorted({c for _, t in rows for c in t})
    index = {c: j for j, c in enumerate(chars)}
    X = np.zeros((len(rows), len(chars)))
    for r, (_, t) in enumerate(rows):
        for c in t:
            X[r, index[c]] += 1
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    authors = np.array([a for a, _ in rows])
    by_author = {a: np.flatnonzero(authors == a) for a in sorted(set(authors))}
    names = sorted(by_author)
    same, diff = [], []
    for _ in range(n_pairs // 2):
        a = by_author[names[rng.integers(len(names))]]
        i, j = rng.choice(a, 2, replace=False)
        same.append(X[i] @ X[j])
        i, j = rng.integers(len(rows), size=2)
        while authors[i] == authors[j]:
            j = rng.integers(len(rows))
        diff.append(X[i] @ X[j])
    same, diff = np.array(same), np.array(diff)
    # AUC = P(score_same > score_diff), ties count half
    greater = (same[:, None] > diff[None, :]).mean()
    ties = (same[:, None] == diff[None, :]).mean()
    return greater + 0.5 * ties


def main():
    parser = argparse.ArgumentParser(description="Write the synthetic tweet sample CSV.")
    parser.add_argument("--out", type=Path, default=OUT_PATH, help="output CSV path")
    parser.add_argument("--authors", type=int, default=N_AUTHORS, help="number of authors")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    parser.add_argument("--check", action="store_true",
                        help="also print the char-frequency same/different-author AUC")
    args = parser.parse_args()

    rows = generate(args.authors, args.seed)
    write_csv(rows, args.out)
    n_authors = len({a for a, _ in rows})
    print(f"wrote {len(rows)} tweets from {n_authors} authors to {args.out} "
          f"({args.out.stat().st_size} bytes)")
    if args.check:
        print(f"char-frequency cosine AUC (2000 single-tweet pairs): {sanity_auc(rows):.3f}")


if __name__ == "__main__":
    main()
