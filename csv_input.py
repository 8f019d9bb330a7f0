"""CSV in, checked rows out: every CSV the project reads goes through `read_csv_chunks`.

So each rule of the format (`read_csv` lists them: the header, UTF-8 and
UTF-16, line endings, blank lines and empty texts, labels, extra columns)
is written once, here. `read_csv` reads a whole file into one frame
(corpus.load_corpus, predict.py); tweet_cache streams shards larger than
memory through `read_csv_chunks`. Both see the same rows and the same
errors: `DataError`, one line naming the file, row and column.
"""

import csv
import os
import re
import warnings

import numpy as np
import pandas as pd

PAIRS_COLUMNS = ("text_a", "text_b", "same_author")
TWEETS_COLUMNS = ("author", "text")
CHUNK_ROWS = 200_000  # rows per chunk pandas parses at a time
PROGRESS_BYTES = 20_000_000  # read_csv_chunks(progress=None): a progress bar for files this large
_NOT_UTF8 = "[\udc80-\udcff]"  # the bytes that surrogateescape kept: not UTF-8


class DataError(ValueError):
    """Bad input, reported as one line: `file: row N, column C: what is wrong`.

    Rows count as a spreadsheet does: the header is row 1, the first tweet row 2.
    """

    def __init__(self, message, path=None, row=None, column=None):
        where = ", ".join(
            part
            for part in (
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column is not None else "",
            )
            if part
        )
        prefix = f"{path}: " if path else ""
        text = prefix + (f"{where}: " if where else "") + str(message)
        # One line, always: a stray line break (in a path, a library's message) is escaped.
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))
        self.path, self.row, self.column = path, row, column


def _show(value, limit=40):
    """A cell for an error message: repr'd (so one line, no odd characters), cut to `limit`."""
    value = str(value)
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"... ({len(value)} characters)"


# ---------------------------------------------------------------------------
# Reading


def read_csv(path, require_labels=True, progress=None, keep_columns=False, columns=None):
    """Read a pairs or tweets CSV, detected by its header: (kind, frame).

    pairs:  text_a,text_b,same_author   (same_author is 0 or 1)
    tweets: author,text
    Extra columns are ignored (kept with `keep_columns`). With
    `require_labels=False` a pairs file needs no same_author column, and any
    given is passed through unchecked. kind is "pairs" or "tweets"; the frame
    holds str columns plus `row` (the spreadsheet row number: the header is
    row 1, and a quoted text spanning several lines is one row).

    Repairs, silent because they lose nothing:
    - a UTF-8 byte-order mark is dropped; CRLF, LF or CR line endings all work;
    - a line break inside a quoted text is read as "\\n", whatever the file's
      line endings (no "\\r" is left in a text);
    - blank lines are kept as rows with empty cells, so row numbers match the
      file; like any row with an empty text they are then skipped and counted
      (`drop_empty_texts`), and a blank line needs no label.
    Texts are otherwise kept as they are: no trimming, no Unicode normalisation;
    the literal text "NaN" is a text.

    columns: a header of the caller's own instead of the two formats, e.g.
    ("account_a", "account_b"): those columns are required, with every rule
    above; kind is then "table".

    Raises DataError naming the file, row and column of the first problem:
    missing or empty file, a directory, no data rows, an unknown header or a
    missing column, a row with more fields than the header, an unclosed quote,
    bytes that are not UTF-8, a label other than 0 or 1.
    """
    chunks = list(read_csv_chunks(path, columns, require_labels, keep_columns, progress=progress))
    return chunks[0][0], pd.concat([chunk for _, chunk in chunks], ignore_index=True)


def read_csv_chunks(
    path, columns=None, require_labels=True, keep_columns=False, chunk_rows=CHUNK_ROWS, check=True, progress=None,
    refuse=None,
):
    """Yield (kind, chunk) for the rows of a CSV, `chunk_rows` at a time, by `read_csv`'s rules.

    A chunk holds what `read_csv`'s frame holds for its rows. What only the
    whole file shows is raised once it is read through, in `read_csv`'s order:
    a bad header (then nothing is yielded, and the rows are read on, so that a
    row pandas cannot parse is named first), no data, bytes that are not
    UTF-8, labels other than 0 or 1. check=False skips the cells' checks (a
    later pass over a checked file). progress: a Keras bar over the file's
    bytes (None: for a file over PROGRESS_BYTES), or a function told the bytes
    read so far. refuse: {kind: message}, a header of that kind is an error.
    """
    path = os.fspath(path)
    formats = "author,text or text_a,text_b,same_author" if columns is None else ",".join(columns)
    expected = f"the first row must be the header {formats}"
    f, size = _open(path, expected)
    on_bytes = _progress(progress, size)
    header, problems, first_row = None, None, 2
    with f:
        for raw in _parsed_chunks(f, path, expected, chunk_rows):
            if on_bytes is not None:
                on_bytes(min(f.tell(), size))
            names = [str(name).strip() for name in raw.columns]
            if header is None:
                header = _check_header(names, path, expected, columns, require_labels, refuse)
                problems = _Problems(path)
            if isinstance(header, DataError):
                continue  # read on: a row pandas cannot parse is reported first
            kind, needed = header
            raw.columns = names
            chunk = (raw if keep_columns else raw[list(needed)]).copy()
            chunk.insert(0, "row", np.arange(first_row, first_row + len(chunk)))
            first_row += len(chunk)
            if check:
                problems.check_cells(chunk, needed)
            for column in needed[:2]:  # the texts (and authors): one line break, "\n"
                if "\r" in "".join(chunk[column].tolist()):
                    chunk[column] = chunk[column].str.replace("\r\n?", "\n", regex=True)
            if "same_author" in needed:
                chunk["same_author"] = problems.labels(chunk, check)
            yield kind, chunk
    if header is None:  # not one chunk: what an empty frame's header says
        header = _check_header([], path, expected, columns, require_labels, refuse)
    if isinstance(header, DataError):
        raise header
    if check:
        problems.raise_first()


def _open(path, expected):
    """The file open for reading, and its size; a DataError for what is not a readable CSV."""
    if not os.path.exists(path):
        raise DataError("no such file", path)
    if os.path.isdir(path):
        raise DataError("is a directory, not a CSV file", path)
    size = os.path.getsize(path)
    if size == 0:
        raise DataError(f"file is empty; {expected}", path)
    try:
        f = open(path, "rb")
    except OSError as error:
        raise DataError(f"cannot read the file ({error.strerror})", path) from None
    if f.read(2) in (b"\xff\xfe", b"\xfe\xff"):
        f.close()
        raise DataError("file is UTF-16; save it as UTF-8", path)
    f.seek(0)
    return f, size


def _progress(progress, size):
    """read_csv_chunks' `progress` as a function of the bytes read, or None."""
    if callable(progress):
        return progress
    if progress or (progress is None and size > PROGRESS_BYTES):
        import keras

        return keras.utils.Progbar(size, unit_name="bytes").update
    return None


def _parsed_chunks(f, path, expected, chunk_rows):
    """pandas' chunks of an open CSV, every cell a Python str; what pandas cannot parse, a DataError."""
    try:
        with warnings.catch_warnings():
            # A data row wider than the header would silently lose a cell: an error instead.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            reader = pd.read_csv(
                f,
                dtype=object,  # Python str: Arrow strings (pandas 3 + pyarrow) cannot hold the bad bytes kept below
                keep_default_na=False,  # "NaN", "null", "NA" are texts like any other
                chunksize=chunk_rows,
                encoding="utf-8-sig",  # drops a byte-order mark
                encoding_errors="surrogateescape",  # keeps bad bytes, to name their cell
                skip_blank_lines=False,  # blank lines stay rows, so row numbers are right
                index_col=False,  # never take the first column for an index
            )
        with reader:
            while True:
                with warnings.catch_warnings():  # per chunk: the caller's code runs between chunks
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    chunk = next(reader, None)
                if chunk is None:
                    return
                yield chunk
    except pd.errors.EmptyDataError:
        raise DataError(f"file is empty; {expected}", path) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
        raise _locate_parse_error(path, error) from None


def _locate_parse_error(path, error):
    """A DataError naming the row pandas could not parse, found again with the csv module.

    pandas reports physical lines, which differ from rows when a quoted text
    spans several lines; the csv module counts rows as read_csv does.
    """
    csv.field_size_limit(2**31 - 1)
    width, wide, last = None, None, 1
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        try:
            for row, record in enumerate(csv.reader(f), start=1):
                last = row
                if width is None:
                    width = len(record)
                elif len(record) > width and wide is None:
                    wide = (row, len(record))
        except csv.Error:
            pass
    if wide is not None:
        return DataError(
            f"{wide[1]} fields, but the header has {width}; a text that holds a comma must be in "
            'double quotes ("like, this")',
            path,
            row=wide[0],
        )
    if "EOF inside string" in str(error):
        return DataError(
            'a double quote opens a quoted text that never closes (the file ends inside it); '
            'write a quote inside a quoted text as two ("")',
            path,
            row=last,
        )
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return DataError(f"malformed CSV ({first_line})", path)


# ---------------------------------------------------------------------------
# The header


def sniff_kind(path):
    """The kind of a file by its header alone ("pairs", "tweets"), a quick look; None for a bad file or header."""
    try:
        f, _ = _open(path, "")
        with f:
            names = [str(name).strip() for name in next(_parsed_chunks(f, path, "", 1)).columns]
    except (DataError, StopIteration):
        return None
    header = _check_header(names, path, "", None, True, None)
    return None if isinstance(header, DataError) else header[0]


def _check_header(names, path, expected, columns, require_labels, refuse):
    """(kind, needed columns) of a header, or the DataError it deserves."""
    header = ",".join(names)
    if re.search(_NOT_UTF8, header):
        return DataError(f"the header is not valid UTF-8 ({_show(header)}); save the file as UTF-8", path, row=1)
    present = set(names)
    if columns is not None:
        kind = "table" if present & set(columns) else None
    elif set(PAIRS_COLUMNS[:2]) <= present:
        kind = "pairs"
    elif set(TWEETS_COLUMNS) <= present:
        kind = "tweets"
    elif present & set(PAIRS_COLUMNS):  # some of a format's columns: name the missing one
        kind = "pairs"
    elif present & set(TWEETS_COLUMNS):
        kind = "tweets"
    else:
        kind = None
    if kind is None:
        found = "a blank line" if not header.strip(",") else _show(header)
        return DataError(f"found {found}; {expected}", path, row=1)
    if columns is not None:
        needed = tuple(columns)
    else:
        needed = TWEETS_COLUMNS if kind == "tweets" else PAIRS_COLUMNS if require_labels else PAIRS_COLUMNS[:2]
    for column in needed:
        if column not in names:
            which = "this file" if columns is not None else f"a {kind} file"
            return DataError(
                f"missing column; {which} needs the header {','.join(needed)}, found {_show(header)}",
                path,
                row=1,
                column=column,
            )
        if names.count(column) > 1:
            return DataError("column appears twice in the header", path, row=1, column=column)
    if refuse and kind in refuse:
        return DataError(refuse[kind], path, row=1)
    return kind, needed


# ---------------------------------------------------------------------------
# Cells


class _Problems:
    """What only the whole file shows, gathered chunk by chunk; `raise_first` raises it in read_csv's order."""

    def __init__(self, path):
        self.path, self.any_cell, self.columns = path, False, None  # any_cell: a needed cell not empty
        self.first = {}  # (column, "bytes" or "label") -> [first bad row, its value, bad rows]

    def note(self, key, chunk, values, bad):
        if bad.any():
            at = int(np.argmax(bad))
            self.first.setdefault(key, [int(chunk["row"].iloc[at]), values.iloc[at], 0])[2] += int(bad.sum())

    def check_cells(self, chunk, needed):
        self.columns = self.columns or list(chunk.columns[1:])
        self.any_cell = self.any_cell or bool((chunk[list(needed)] != "").to_numpy().any())
        for column in self.columns:
            values = chunk[column]
            try:  # fast path: a chunk with no bad byte encodes as a whole
                "".join(values.tolist()).encode("utf-8")
            except UnicodeEncodeError:
                self.note((column, "bytes"), chunk, values, values.str.contains(_NOT_UTF8, regex=True).to_numpy())

    def labels(self, chunk, check):
        """same_author as uint8, accepting 0/1 (also written 0.0/1.0, with spaces around).

        A blank line (no texts, no label) needs no label: it is skipped later
        with the rows that have an empty text; its label reads 0.
        """
        labels = chunk["same_author"].str.strip()
        if check:
            blank = labels.eq("") & chunk["text_a"].str.strip().eq("") & chunk["text_b"].str.strip().eq("")
            bad = ~(labels.isin(["0", "1", "0.0", "1.0"]) | blank).to_numpy()
            self.note(("same_author", "label"), chunk, chunk["same_author"], bad)
        return labels.isin(["1", "1.0"]).astype(np.uint8)

    def raise_first(self):
        if not self.any_cell:
            raise DataError("header only, no data rows", self.path)
        for column in self.columns:
            if (column, "bytes") in self.first:
                row, value, count = self.first[column, "bytes"]
                at = re.search(_NOT_UTF8, value).start()
                more = f"; {count} rows have such bytes" if count > 1 else ""
                place = f"after {_show(value[:at][-20:])}" if at else "at the start"
                raise DataError(
                    f"text is not valid UTF-8 (byte 0x{ord(value[at]) - 0xDC00:02X} {place}){more}; "
                    "save the file as UTF-8",
                    self.path,
                    row=row,
                    column=column,
                )
        if ("same_author", "label") in self.first:
            row, value, count = self.first["same_author", "label"]
            more = f"; {count} rows have such labels" if count > 1 else ""
            raise DataError(
                f"label {_show(value)} is not 0 or 1 (expected 1: same author, 0: different authors){more}",
                self.path,
                row=row,
                column="same_author",
            )


def empty_rows(frame, columns):
    """A bool mask of the rows whose text (in any of `columns`) is empty or whitespace only.

    Whitespace is Python's: spaces, tabs, line breaks, no-break and ideographic
    spaces. Zero-width characters (U+200B, U+200D, ...) are characters, not
    whitespace: a text of them is kept. Blank lines of the file are such rows.
    """
    empty = np.zeros(len(frame), dtype=bool)
    for column in columns:  # `not t or t.isspace()` is `t.strip() == ""`, without copies
        values = frame[column].tolist()
        empty |= np.fromiter((not t or t.isspace() for t in values), dtype=bool, count=len(values))
    return empty


def skipped_note(path, count, rows, columns):
    """The line that reports `count` skipped rows (`empty_rows`), the first of them `rows` (up to 6 shown as 5, ...)."""
    shown = ", ".join(str(int(row)) for row in rows[:5]) + (", ..." if count > 5 else "")
    where = f"{path}: " if path else ""
    return (
        f"{where}skipped {count} row(s) with an empty or blank {' or '.join(columns)} "
        f"(row{'s' if count > 1 else ''} {shown})"
    )


def drop_empty_texts(frame, columns, path=None):
    """Drop the `empty_rows` of a frame: (kept frame, `skipped_note` line or None)."""
    empty = empty_rows(frame, columns)
    if not empty.any():
        return frame, None
    rows = frame["row"].to_numpy()[empty]
    return frame[~empty].reset_index(drop=True), skipped_note(path, len(rows), rows, columns)
