"""Write the bad-input corpus: small CSV files that train.py and predict.py must survive.

    python tests/bad_inputs/make_bad_inputs.py     # rewrites the files next to this script

The files are committed; tests/test_bad_input.py checks they are what this
script writes (so the bytes are documented here) and asserts each answer.
`.gitattributes` here keeps git from touching line endings or encodings.

Each file is either an ERROR (train.py stops with one line naming file, row and
column, exit 1) or a REPAIR (the data loads; what was repaired is counted):

file                              answer
--------------------------------  ------------------------------------------------------------
empty.csv                         ERROR file is empty
header_only.csv                   ERROR header only, no data rows
header_then_blank_lines.csv       ERROR header only (blank lines are not data)
unknown_header.csv                ERROR row 1: found 'user,tweet'
no_header.csv                     ERROR row 1: the first row is data, not a header
missing_text_column.csv           ERROR row 1, column 'text': missing column
pairs_missing_label.csv           ERROR row 1, column 'same_author': missing column (train.py)
label_2.csv                       ERROR row 4, column 'same_author': label '2'
label_yes.csv                     ERROR row 3, column 'same_author': label 'yes'
label_empty.csv                   ERROR row 5, column 'same_author': label ''
label_after_blank_line.csv        ERROR row 4 (a blank line is a row, as in a spreadsheet)
label_after_quoted_newline.csv    ERROR row 3 (a quoted text over two lines is one row)
extra_columns.csv                 REPAIR id, lang, retweets are ignored
empty_texts.csv                   REPAIR rows 5, 9, 14 (empty text, empty author, both) skipped, counted
whitespace_texts.csv              REPAIR rows 3-6 (space, tab, U+00A0, U+3000 only) skipped, counted;
                                         row 7 (only U+200B, a zero-width character) kept
nan_texts.csv                     REPAIR none needed: "NaN", "nan", "NULL", "NA", "None" are texts
blank_lines.csv                   REPAIR blank rows 4 and 99 skipped, counted; row numbers stay right
short_row.csv                     REPAIR row 6 has no comma: its text is empty, skipped, counted
all_texts_empty.csv               ERROR no usable rows
non_utf8.csv                      ERROR row 5, column 'text': not valid UTF-8 (Latin-1 "café")
utf16.csv                         ERROR file is UTF-16
bom.csv                           REPAIR the byte-order mark is dropped (not part of 'author')
crlf.csv                          REPAIR CRLF line endings; a quoted CRLF inside a text becomes "\n"
quoted.csv                        REPAIR quoted commas, doubled quotes, line breaks stay in the text
long_text.csv                     REPAIR a 100,000-character text is cut to 280 characters, counted
unicode.csv                       REPAIR none needed: emoji (skin tones, ZWJ, flags), CJK, RTL,
                                         zero-width and combining characters survive exactly
ragged_row.csv                    ERROR row 5: 3 fields, but the header has 2 (an unquoted comma)
ragged_first_row.csv              ERROR row 2: 3 fields (not silently taken as an index column)
unclosed_quote.csv                ERROR row 4: a quoted text that never closes
one_author.csv                    ERROR one author only: no different-author pairs
one_tweet_per_author.csv          ERROR every author has one tweet: no same-author pairs
pairs_one_class.csv               ERROR column 'same_author': only same_author=1 pairs
predict_bad_rows.csv              predict.py: rows 3, 5, 6 not scored (empty texts), exit 0
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
HABITS = ["!!!", "...", " lol", " #tbt", " :)", "?!", " xx", " -J", " ^MK", " ok.", " :D", " ~z"]


def tweet_lines(authors=12, per_author=8):
    """Good author,text rows (no header): enough authors for the default splits."""
    return [
        f"user_{a:02d},note {i} about {'abcdefgh'[i % 8]} things{HABITS[a % len(HABITS)]}"
        for a in range(authors)
        for i in range(per_author)
    ]


def lines(*rows, end="\n"):
    return (end.join(rows) + end).encode("utf-8")


def with_rows(inserted, header="author,text"):
    """The good tweets, with `inserted` {row number: raw line} put at those rows."""
    rows = [header, *tweet_lines()]
    for number in sorted(inserted):
        rows.insert(number - 1, inserted[number])
    return rows


UNICODE_TEXTS = [
    "thumbs 👍🏽 and 👋🏿 waves",  # skin-tone modifiers
    "family 👨‍👩‍👧‍👦 and 🏳️‍🌈",  # ZWJ sequences
    "flags 🇫🇷🇯🇵",  # regional indicator pairs
    "你好，世界。今天天气很好",  # CJK, full-width punctuation
    "مرحبا بالعالم",  # Arabic, right to left
    "שלום \u200fעולם\u200e ok",  # Hebrew with RLM / LRM marks
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom",  # zero-width characters
    "cafe\u0301 n\u0303 Z\u0335\u0321a",  # combining marks (not normalised)
]


def corpus():
    """{file name: bytes} of the whole corpus."""
    files = {
        "empty.csv": b"",
        "header_only.csv": lines("author,text"),
        "header_then_blank_lines.csv": lines("author,text", "", ""),
        "unknown_header.csv": lines("user,tweet", "alice,hello there"),
        "no_header.csv": lines(*tweet_lines()),
        "missing_text_column.csv": lines("author,tweet", "alice,hello there"),
        "pairs_missing_label.csv": lines("text_a,text_b", "hello,hi there"),
        "label_2.csv": lines("text_a,text_b,same_author", "a b,c d,1", "e f,g h,0", "i j,k l,2"),
        "label_yes.csv": lines("text_a,text_b,same_author", "a b,c d,1", "e f,g h,yes"),
        "label_empty.csv": lines("text_a,text_b,same_author", "a,b,1", "c,d,0", "e,f,1", "g,h,"),
        "label_after_blank_line.csv": lines("text_a,text_b,same_author", "a,b,1", "", "c,d,yes"),
        "label_after_quoted_newline.csv": lines("text_a,text_b,same_author", '"line one\nline two",b,1', "c,d,yes"),
        "extra_columns.csv": lines(
            "id,author,lang,text,retweets",
            *[f"{n},{row.split(',', 1)[0]},en,{row.split(',', 1)[1]},{n % 7}" for n, row in enumerate(tweet_lines())],
        ),
        "empty_texts.csv": lines(*with_rows({5: "user_03,", 9: ",orphan text", 14: ","})),
        "whitespace_texts.csv": lines(
            *with_rows({3: "user_01, ", 4: "user_01,\t", 5: "user_02,\u00a0", 6: "user_02,\u3000\u3000", 7: "user_03,\u200b"})
        ),
        "nan_texts.csv": lines(*with_rows({2: "user_00,NaN", 3: "user_00,nan", 4: "user_01,NULL", 5: "user_01,NA", 6: "user_02,None"})),
        "blank_lines.csv": lines(*with_rows({4: ""}), ""),
        "short_row.csv": lines(*with_rows({6: "user_04"})),
        "all_texts_empty.csv": lines("author,text", *[f"user_{a},{'  '[: a % 3]}" for a in range(6)]),
        "non_utf8.csv": lines(*with_rows({5: "user_02,cafe\u0301 XX"})).replace("e\u0301 XX".encode(), b"\xe9 au lait"),
        "utf16.csv": "\n".join(["author,text", *tweet_lines()]).encode("utf-16"),
        "bom.csv": b"\xef\xbb\xbf" + lines("author,text", *tweet_lines()),
        "crlf.csv": lines("author,text", *tweet_lines(), 'user_00,"two lines\r\nin one tweet"', end="\r\n"),
        "quoted.csv": lines(
            "author,text",
            *tweet_lines(),
            'user_00,"a comma, inside"',
            'user_01,"she said ""hi"" twice"',
            'user_02,"first line\nsecond line"',
            'user_03,"all, of ""it""\nat once"',
            'user_04,""',
        ),
        "long_text.csv": lines("author,text", *tweet_lines(), "user_05," + ("long tweet " * 10_000)[:100_000]),
        "unicode.csv": lines("author,text", *tweet_lines(), *[f'user_{n:02d},"{text}"' for n, text in enumerate(UNICODE_TEXTS)]),
        "ragged_row.csv": lines(*with_rows({5: "user_02,one, two"})),
        "ragged_first_row.csv": lines(*with_rows({2: "user_00,hello,world"})),
        "unclosed_quote.csv": lines(*with_rows({4: 'user_00,"this quote never closes'})),
        "one_author.csv": lines("author,text", *[f"solo,tweet {i} by the only author" for i in range(20)]),
        "one_tweet_per_author.csv": lines("author,text", *[f"user_{a:02d},the one tweet of user {a}" for a in range(30)]),
        "pairs_one_class.csv": lines("text_a,text_b,same_author", *[f"tweet {i},other tweet {i},1" for i in range(40)]),
        "predict_bad_rows.csv": lines(
            "text_a,text_b,note",
            "note 1 about b things!!!,note 2 about c things!!!,first",
            ",note 2 about c things lol,empty a",
            "note 3 about d things :),note 4 about e things :),fine",
            "note 5 about f things,   ,blank b",
            ",,both empty",
            "note 6 about g things ~z,note 7 about h things ~z,last",
        ),
    }
    return files


def main():
    for name, content in corpus().items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(content)


if __name__ == "__main__":
    main()
