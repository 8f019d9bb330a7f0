"""Bad input: one clear line naming file, row and column (exit != 0, no traceback), or a counted repair.

The corpus is tests/bad_inputs/ (its make_bad_inputs.py lists every file and its
answer). Repairs are checked fast, through csv_input.read_csv / load_corpus / encode.
Errors are checked through the command line:

- a few cases run as real processes (`python train.py ...`), one process each;
- the rest run in ONE process per script, which executes the script as
  `__main__` once per case (runpy) and records its exit code and its
  stderr: the same code path as the command line, without paying the
  TensorFlow import (several seconds) per case;
- one tiny training run gives predict.py a real run folder; the broken run
  folders are made from it.
All of it starts with the session (`bad_input_runs`), beside the quick tests.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, started_with_the_session

import csv_input
import data
from corpus import load_corpus

BAD = os.path.join("tests", "bad_inputs")  # relative: the CLI runs with cwd=REPO
TINY = ["--epochs", "1", "--pairs-per-epoch", "64", "--eval-pairs", "32", "--batch-size", "32",
        "--units", "8", "--max-len", "40", "--account-sizes", "1", "--jit-compile", "off",
        "--pretrain-epochs", "0"]
# Lines TensorFlow's C++ side logs itself, whatever TF_CPP_MIN_LOG_LEVEL says.
TF_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl::InitializeLog\(\)|"
                    r"To enable the following instructions)")


def bad(name):
    return os.path.join(BAD, name)


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_bad_inputs", os.path.join(REPO, BAD, "make_bad_inputs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


# ---------------------------------------------------------------------------
# Running the command line


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_process(script, *args):
    """`python SCRIPT ARGS` in the repository root, as a user would."""
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, cwd=REPO,
                          env=ENV, timeout=300)
    return Result(done.returncode, done.stdout, done.stderr)


# Runs SCRIPT as __main__ once per argv, in one process; the exit code is what the
# interpreter would return (SystemExit(str) prints the string and exits 1), and an
# uncaught exception leaves its traceback in that case's stderr, as it would.
BATCH_DRIVER = r"""
import contextlib, io, json, runpy, sys, traceback
script, cases_path, out_path = sys.argv[1:4]
with open(cases_path) as f:
    cases = json.load(f)
results = []
for argv in cases:
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [script, *argv]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code
            if code is None:
                code = 0
            elif not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([code, out.getvalue(), err.getvalue()])
with open(out_path, "w") as f:
    json.dump(results, f)
"""


def run_batch(script, cases, work_dir):
    """{name: Result} for {name: argv}, all in one process running SCRIPT as __main__."""
    names = list(cases)
    cases_path = os.path.join(work_dir, f"{script}.cases.json")
    out_path = os.path.join(work_dir, f"{script}.results.json")
    with open(cases_path, "w") as f:
        json.dump([cases[name] for name in names], f)
    done = subprocess.run([sys.executable, "-c", BATCH_DRIVER, script, cases_path, out_path],
                          capture_output=True, text=True, cwd=REPO, env=ENV, timeout=300)
    assert done.returncode == 0 and os.path.exists(out_path), done.stderr[-3000:]
    with open(out_path) as f:
        return {name: Result(*result) for name, result in zip(names, json.load(f))}


def message_lines(stderr):
    """stderr without TensorFlow's own log lines and blank lines."""
    return [line for line in stderr.splitlines() if line.strip() and not TF_LOG.match(line)]


def assert_one_line_error(result, prog, parts, returncode=1):
    """Exit code, exactly one line on stderr starting `prog: error:`, holding every part."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = message_lines(result.stderr)
    assert len(lines) == 1, lines
    line = lines[0]
    assert result.returncode == returncode, (result.returncode, line)
    assert line.startswith(f"{prog}: error: "), line
    for part in parts:
        assert part in line, (part, line)
    return line


# ---------------------------------------------------------------------------
# The cases: (script, argv, expected parts of the one line, exit code, how to run)
# Every train.py case carries the tiny flags, so a case that wrongly got past the
# checks would train for seconds, not minutes; flag cases point --data at a
# missing file for the same reason.

MISSING = bad("no_such_file.csv")


def train_case(path, parts, returncode=1, real=False, marks=()):
    """train.py --data PATH: one line naming PATH and holding every part."""
    argv = ["--data", path, *TINY]
    return pytest.param(("train.py", argv, [path, *parts], returncode, real), id=f"train-{os.path.basename(path)}",
                        marks=marks)


def flag_case(case_id, argv, parts, returncode=1, real=False, marks=()):
    return pytest.param(("train.py", ["--data", MISSING, *TINY, *argv], parts, returncode, real),
                        id=f"train-{case_id}", marks=marks)


TRAIN_CASES = [
    # Files
    train_case(MISSING, ["no such file"]),
    train_case(BAD, ["is a directory, not a CSV file"]),
    train_case(bad("empty.csv"), ["file is empty", "author,text"]),
    train_case(bad("header_only.csv"), ["header only, no data rows"]),
    train_case(bad("header_then_blank_lines.csv"), ["header only, no data rows"]),
    # Columns and labels
    train_case(bad("unknown_header.csv"), ["row 1: ", "found 'user,tweet'", "author,text or text_a,text_b,same_author"]),
    train_case(bad("no_header.csv"), ["row 1: ", "the first row must be the header"]),
    train_case(bad("missing_text_column.csv"), ["row 1, column 'text': missing column", "found 'author,tweet'"]),
    train_case(bad("pairs_missing_label.csv"), ["row 1, column 'same_author': missing column"]),
    train_case(bad("label_2.csv"), ["row 4, column 'same_author': label '2' is not 0 or 1"]),
    train_case(bad("label_yes.csv"), ["row 3, column 'same_author': label 'yes' is not 0 or 1"]),
    train_case(bad("label_empty.csv"), ["row 5, column 'same_author': label '' is not 0 or 1"]),
    train_case(bad("label_after_blank_line.csv"), ["row 4, column 'same_author'"]),
    train_case(bad("label_after_quoted_newline.csv"), ["row 3, column 'same_author'"]),
    # Text content
    train_case(bad("all_texts_empty.csv"), ["no usable rows"]),
    train_case(bad("non_utf8.csv"), ["row 5, column 'text': text is not valid UTF-8 (byte 0xE9 after 'caf')"], real=True),
    train_case(bad("utf16.csv"), ["file is UTF-16; save it as UTF-8"]),
    train_case(bad("ragged_row.csv"), ["row 5: 3 fields, but the header has 2", "double quotes"]),
    train_case(bad("ragged_first_row.csv"), ["row 2: 3 fields, but the header has 2"]),
    train_case(bad("unclosed_quote.csv"), ["row 4: ", "never closes"]),
    # Data that cannot form pairs
    train_case(bad("one_author.csv"), ["one author only", "no different-author pairs"]),
    train_case(bad("one_tweet_per_author.csv"), ["every author has one tweet only", "no same-author pairs"]),
    train_case(bad("pairs_one_class.csv"), ["column 'same_author'", "only same_author=1 pairs"]),
    # Options
    flag_case("epochs-0", ["--epochs", "0"], ["--epochs must be at least 1, not 0"]),
    flag_case("negative-batch-size", ["--batch-size", "-8"], ["--batch-size must be at least 1, not -8"], real=True),
    flag_case("one-pair-per-epoch", ["--pairs-per-epoch", "1"], ["--pairs-per-epoch must be at least 2, not 1"]),
    flag_case("three-eval-pairs", ["--eval-pairs", "3"], ["--eval-pairs must be at least 8, not 3"]),
    flag_case("negative-pretrain-epochs", ["--pretrain-epochs", "-1"], ["--pretrain-epochs must be 0 or more, not -1"]),
    flag_case("pretrain-learning-rate-0", ["--pretrain-learning-rate", "0"],
              ["--pretrain-learning-rate must be positive, not 0.0"]),
    flag_case("alphabet-size-300", ["--alphabet-size", "300"], ["--alphabet-size must be 2..256"]),
    flag_case("unknown-flag", ["--no-such-flag", "3"], ["unrecognized arguments: --no-such-flag"], returncode=2,
              real=True),
]

# predict.py cases use run folders made by the `cli` fixture: {RUN} and friends
# are replaced by their paths there.
PREDICT_CASES = [
    pytest.param(("predict.py", ["{TMP}/no_such_run", "--a", "x", "--b", "y"],
                  ["{TMP}/no_such_run", "no such run folder"], 1, False), id="predict-missing-run-folder"),
    pytest.param(("predict.py", ["{RUN}.partial", "--a", "x", "--b", "y"],
                  ["{RUN}.partial", "unfinished run", "--resume"], 1, False), id="predict-partial-run"),
    pytest.param(("predict.py", ["{TMP}/no_alphabet", "--a", "x", "--b", "y"],
                  ["{TMP}/no_alphabet/alphabet.json", "no such file"], 1, False), id="predict-no-alphabet"),
    pytest.param(("predict.py", ["{TMP}/size_mismatch", "--a", "x", "--b", "y"],
                  ["{TMP}/size_mismatch", "(40, 256)", "(40, 64)", "different runs"], 1, False),
                 id="predict-alphabet-size-mismatch"),
    pytest.param(("predict.py", ["{TMP}/bad_alphabet_json", "--a", "x", "--b", "y"],
                  ["{TMP}/bad_alphabet_json/alphabet.json", "not an alphabet written by train.py"], 1, False),
                 id="predict-corrupt-alphabet"),
    pytest.param(("predict.py", ["{TMP}/garbage_model", "--a", "x", "--b", "y"],
                  ["{TMP}/garbage_model/model.keras", "not a Keras .keras model file"], 1, False),
                 id="predict-garbage-model"),
    pytest.param(("predict.py", ["{TMP}/lambda_model", "--a", "x", "--b", "y"],
                  ["{TMP}/lambda_model/model.keras", "refusing to load", "Lambda layer"], 1, True),
                 id="predict-lambda-layer"),
    pytest.param(("predict.py", ["{TMP}/lambda_named_function", "--a", "x", "--b", "y"],
                  ["{TMP}/lambda_named_function/model.keras", "refusing to load", "Lambda layer"], 1, False),
                 id="predict-lambda-named-function"),
    pytest.param(("predict.py", ["{RUN}", bad("extra_columns.csv")],
                  [bad("extra_columns.csv"), "row 1", "expected columns text_a,text_b"], 1, False),
                 id="predict-tweets-file"),
    pytest.param(("predict.py", ["{RUN}", bad("non_utf8.csv")],
                  [bad("non_utf8.csv"), "row 5, column 'text'", "not valid UTF-8"], 1, False),
                 id="predict-non-utf8"),
    pytest.param(("predict.py", ["{RUN}", MISSING], [MISSING, "no such file"], 1, False), id="predict-missing-csv"),
    pytest.param(("predict.py", ["{RUN}", "--a", "  ", "--b", "y"], ["--a number 1 is an empty text"], 2, False),
                 id="predict-empty-a"),
    pytest.param(("predict.py", ["{RUN}", bad("predict_bad_rows.csv"), "-o", "{TMP}/no/such/dir/out.csv"],
                  ["{TMP}/no/such/dir", "does not exist"], 2, False), id="predict-out-folder-missing"),
]


def _fill(value, paths):
    """The case with {TMP}, {RUN} replaced by the fixture's paths (lists copied)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(item, paths) for item in value)
    if isinstance(value, str):
        for key, path in paths.items():
            value = value.replace("{" + key + "}", path)
    return value


def _make_run_folders(run_dir, tmp):
    """Broken run folders next to the good one (`run_dir`)."""
    import keras

    def folder(name, files=("model.keras", "alphabet.json", "config.json")):
        path = os.path.join(tmp, name)
        os.makedirs(path)
        for file in files:
            shutil.copy(os.path.join(run_dir, file), path)
        return path

    shutil.copytree(run_dir, run_dir + ".partial")
    folder("no_alphabet", ("model.keras", "config.json"))
    path = folder("size_mismatch")  # an alphabet.json from a run with --alphabet-size 64
    record = json.load(open(os.path.join(path, "alphabet.json")))
    record.update(alphabet_size=64, code_points=record["code_points"][:63])
    json.dump(record, open(os.path.join(path, "alphabet.json"), "w"))
    path = folder("bad_alphabet_json", ("model.keras",))
    with open(os.path.join(path, "alphabet.json"), "w") as f:
        f.write('{"alphabet_size": 256, "max_len": 40, "code_po')  # cut short
    path = folder("garbage_model", ("alphabet.json",))
    with open(os.path.join(path, "model.keras"), "w") as f:
        f.write("this is not a zip archive")
    # A model of the card's shape, but with a Lambda layer: arbitrary Python code.
    for name, function in (("lambda_model", lambda t: t[:, -1, :]), ("lambda_named_function", keras.ops.abs)):
        tweet = keras.Input(shape=(40, 256), name="tweet_a")
        hidden = keras.layers.Lambda(function, name="code")(tweet)
        if name == "lambda_named_function":
            hidden = keras.layers.Flatten()(hidden)
        out = keras.layers.Dense(1, activation="sigmoid")(hidden)
        path = folder(name, ("alphabet.json",))
        keras.Model(tweet, out).save(os.path.join(path, "model.keras"))


def _cases(params, paths):
    return {param.id: _fill(param.values[0], paths) for param in params}


def _one_case(key, script, argv):
    return {key: run_process(script, *argv)}


def _train_then_predict(tweets, paths, predict_cases, scores):
    """The tiny training run, the broken run folders made from it, then every predict.py case:
    {case id: Result}, "train-tiny" the training's."""
    tmp = paths["TMP"]
    trained = run_process("train.py", "--data", tweets, "--out-dir", os.path.join(tmp, "runs"), "--run-name", "tiny",
                          *TINY)
    assert trained.returncode == 0, trained.stderr[-3000:]
    _make_run_folders(paths["RUN"], tmp)
    results = {"train-tiny": trained}
    results.update(run_batch("predict.py", {k: v[1] for k, v in predict_cases.items() if not v[4]}, tmp))
    for key, (script, argv, _, _, real) in predict_cases.items():
        if real:
            results[key] = run_process(script, *argv)
    results["predict-bad-rows"] = run_process("predict.py", paths["RUN"], bad("predict_bad_rows.csv"), "-o", scores)
    return results


@started_with_the_session
def bad_input_runs(tmp_path_factory, submit):
    """Every command line case of this module: {"paths", "cases", "scores", "jobs": [Futures]}."""
    tmp = str(tmp_path_factory.mktemp("bad_input_cli"))
    paths = {"TMP": tmp, "RUN": os.path.join(tmp, "runs", "tiny")}
    tweets = os.path.join(tmp, "tweets.csv")
    with open(tweets, "w", encoding="utf-8") as f:
        f.write("\n".join(["author,text", *gen.tweet_lines()]) + "\n")
    train_cases, predict_cases = _cases(TRAIN_CASES, paths), _cases(PREDICT_CASES, paths)
    for script, argv, _, _, _ in train_cases.values():
        argv += ["--out-dir", os.path.join(tmp, "error_runs")]
    scores = os.path.join(tmp, "scores.csv")
    jobs = [submit(45, _train_then_predict, tweets, paths, predict_cases, scores),
            submit(15, run_batch, "train.py", {k: v[1] for k, v in train_cases.items() if not v[4]}, tmp)]
    for key, (script, argv, _, _, real) in train_cases.items():
        if real:
            jobs.append(submit(10, _one_case, key, script, argv))
    return {"paths": paths, "cases": {**train_cases, **predict_cases}, "scores": scores, "jobs": jobs}


@pytest.fixture(scope="module")
def cli(bad_input_runs):
    """Every command line case of this module, run once: {case id: Result}, and the paths used."""
    results = {}
    for job in bad_input_runs["jobs"]:
        results.update(job.result())
    return {"results": results, **{key: bad_input_runs[key] for key in ("paths", "cases", "scores")}}


@pytest.mark.slow
@pytest.mark.parametrize("case", TRAIN_CASES + PREDICT_CASES)
def test_bad_input_is_one_clear_line_and_a_failing_exit_code(cli, case, request):
    case_id = request.node.callspec.id
    script, _, parts, returncode, _ = cli["cases"][case_id]
    assert_one_line_error(cli["results"][case_id], script, parts, returncode)


@pytest.mark.slow
def test_predict_scores_the_good_rows_and_reports_the_bad_ones(cli):
    result = cli["results"]["predict-bad-rows"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    path = bad("predict_bad_rows.csv")
    assert message_lines(result.stderr) == [
        f"predict.py: {path}: row 3, column 'text_a': empty text; not scored",
        f"predict.py: {path}: row 5, column 'text_b': empty text; not scored",
        f"predict.py: {path}: row 6, columns 'text_a', 'text_b': empty texts; not scored",
    ]
    assert f"scored 3 pairs: {cli['scores']}" in result.stdout
    scored = pd.read_csv(cli["scores"], keep_default_na=False)
    assert scored.columns.tolist() == ["text_a", "text_b", "note", "score"]
    assert scored["note"].tolist() == ["first", "empty a", "fine", "blank b", "both empty", "last"]  # input order
    score = scored["score"].tolist()
    assert [score[i] for i in (1, 3, 4)] == ["", "", ""]  # rows 3, 5, 6 of the file: score left empty
    assert all(0 <= float(score[i]) <= 1 for i in (0, 2, 5))


@pytest.mark.slow
def test_the_tiny_run_trained_without_traceback(cli):
    result = cli["results"]["train-tiny"]
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------
# The corpus itself


def test_corpus_files_are_what_the_generator_writes():
    expected = gen.corpus()
    on_disk = {name for name in os.listdir(os.path.join(REPO, BAD)) if name.endswith(".csv")}
    assert on_disk == set(expected), "run python tests/bad_inputs/make_bad_inputs.py"
    for name, content in expected.items():
        with open(os.path.join(REPO, BAD, name), "rb") as f:
            assert f.read() == content, f"{name} differs; run python tests/bad_inputs/make_bad_inputs.py"


# ---------------------------------------------------------------------------
# Repairs, through corpus.py directly


def corpus(name):
    return load_corpus(os.path.join(REPO, bad(name)), (0.15, 0.15), seed=1337)


def read(name, **kwargs):
    return csv_input.read_csv(os.path.join(REPO, bad(name)), **kwargs)


def skipped_note(notes):
    found = [note for note in notes if "skipped" in note]
    assert len(found) == 1, notes
    return found[0]


def test_extra_columns_are_ignored_or_kept_on_request():
    kind, frame = read("extra_columns.csv")
    assert kind == "tweets" and frame.columns.tolist() == ["row", "author", "text"]
    assert frame["author"][0] == "user_00" and frame["text"][0] == "note 0 about a things!!!"
    _, kept = read("extra_columns.csv", keep_columns=True)
    assert kept.columns.tolist() == ["row", "id", "author", "lang", "text", "retweets"]
    assert len(corpus("extra_columns.csv").codes) == 96


@pytest.mark.parametrize("name, rows", [
    ("empty_texts.csv", "3 row(s) with an empty or blank author or text (rows 5, 9, 14)"),
    ("whitespace_texts.csv", "4 row(s) with an empty or blank author or text (rows 3, 4, 5, 6)"),
    ("blank_lines.csv", "2 row(s) with an empty or blank author or text (rows 4, 99)"),
    ("short_row.csv", "1 row(s) with an empty or blank author or text (row 6)"),
])
def test_rows_with_empty_texts_are_skipped_and_counted_by_row(name, rows):
    loaded = corpus(name)
    assert skipped_note(loaded.notes) == f"{os.path.join(REPO, bad(name))}: skipped {rows}"
    kind, frame = read(name)
    kept, note = csv_input.drop_empty_texts(frame, ["author", "text"], "x.csv")
    assert note == f"x.csv: skipped {rows}"
    assert not kept["text"].str.strip().eq("").any()


def test_a_text_of_zero_width_characters_is_kept():
    kind, frame = read("whitespace_texts.csv")
    kept, _ = csv_input.drop_empty_texts(frame, ["author", "text"])
    assert kept.loc[kept["row"] == 7, "text"].tolist() == ["\u200b"]


def test_blank_lines_keep_the_row_numbers_of_the_file():
    _, frame = read("blank_lines.csv")
    lines = open(os.path.join(REPO, bad("blank_lines.csv")), encoding="utf-8").read().split("\n")
    for row, author, text in frame[["row", "author", "text"]].itertuples(index=False):
        assert lines[row - 1] == (f"{author},{text}" if author else "")


def test_nan_like_texts_are_texts():
    _, frame = read("nan_texts.csv")
    assert frame["text"][:5].tolist() == ["NaN", "nan", "NULL", "NA", "None"]
    assert not any("skipped" in note for note in corpus("nan_texts.csv").notes)


def test_bom_does_not_leak_into_the_first_column():
    kind, frame = read("bom.csv")
    assert kind == "tweets" and frame.columns.tolist() == ["row", "author", "text"]
    assert frame["author"][0] == "user_00"
    assert not frame["author"].str.contains("\ufeff").any()


def test_crlf_leaves_no_carriage_return_and_a_quoted_line_break_is_newline():
    _, frame = read("crlf.csv")
    assert len(frame) == 97
    assert not frame["text"].str.contains("\r").any() and not frame["author"].str.contains("\r").any()
    assert frame["text"].iloc[-1] == "two lines\nin one tweet"
    assert frame["text"][0] == "note 0 about a things!!!"


def test_quoted_fields_keep_commas_quotes_and_newlines():
    _, frame = read("quoted.csv")
    tail = frame.iloc[-5:]
    assert tail["text"].tolist() == [
        "a comma, inside",
        'she said "hi" twice',
        "first line\nsecond line",
        'all, of "it"\nat once',
        "",
    ]
    assert tail["row"].tolist() == [98, 99, 100, 101, 102]  # a text over two lines is one row
    assert "(row 102)" in skipped_note(corpus("quoted.csv").notes)


def test_a_100k_character_text_is_truncated_and_counted():
    _, frame = read("long_text.csv")
    long_text = frame["text"].iloc[-1]
    assert len(long_text) == 100_000
    loaded = corpus("long_text.csv")
    assert "truncated 1 tweet(s) longer than 280 characters" in loaded.notes
    assert loaded.lengths.max() == 280
    encoded = data.encode([long_text, long_text[:280]], loaded.alphabet)
    assert encoded.truncated == 1 and (encoded.codes[0] == encoded.codes[1]).all()


def test_emoji_cjk_rtl_and_zero_width_characters_survive_exactly():
    _, frame = read("unicode.csv")
    texts = frame["text"].iloc[-len(gen.UNICODE_TEXTS):].tolist()
    assert texts == gen.UNICODE_TEXTS
    alphabet = data.build_alphabet(texts)
    encoded = data.encode(texts, alphabet)
    assert encoded.lengths.tolist() == [len(text) for text in texts]  # code points, ZWJ and modifiers included
    assert encoded.truncated == 0
    rows = data.one_hot(encoded.codes, encoded.lengths)
    assert rows.sum(axis=(1, 2)).tolist() == [len(text) for text in texts]
    assert len(corpus("unicode.csv").codes) == 96 + len(gen.UNICODE_TEXTS)


def test_read_csv_errors_match_the_cli_ones_for_the_table_cases():
    """The same DataError comes from read_csv directly: row, column and file named."""
    with pytest.raises(csv_input.DataError, match=r"label_yes\.csv: row 3, column 'same_author': label 'yes'"):
        read("label_yes.csv")
    with pytest.raises(csv_input.DataError, match=r"non_utf8\.csv: row 5, column 'text': text is not valid UTF-8"):
        read("non_utf8.csv")
    with pytest.raises(csv_input.DataError, match=r"ragged_row\.csv: row 5: 3 fields"):
        read("ragged_row.csv")


@pytest.mark.parametrize("storage", [
    "python",
    pytest.param("pyarrow", marks=pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None,
                                                     reason="pyarrow not installed")),
])
def test_csv_cells_stay_python_strings_whatever_pandas_string_storage(storage):
    """pandas 3 keeps strings in Arrow when pyarrow is installed, and Arrow strings
    cannot hold the bytes kept to name a cell that is not UTF-8: searching them
    raised UnicodeEncodeError on every CSV. Cells stay Python str, both readers."""
    import tweet_cache

    with pd.option_context("mode.string_storage", storage):
        kind, frame = read("unicode.csv")
        assert kind == "tweets" and frame["text"].dtype == object and frame["author"].dtype == object
        with pytest.raises(csv_input.DataError, match=r"non_utf8\.csv: row 5, column 'text': text is not valid UTF-8"):
            read("non_utf8.csv")
        chunks = list(tweet_cache.read_shard(os.path.join(REPO, bad("unicode.csv"))))
        assert all(chunk["text"].dtype == object for chunk in chunks)
        assert sum(map(len, chunks)) == len(frame)
        with pytest.raises(csv_input.DataError, match=r"non_utf8\.csv: row 5, column 'text': text is not valid UTF-8"):
            list(tweet_cache.read_shard(os.path.join(REPO, bad("non_utf8.csv"))))


def test_data_error_is_always_one_line():
    error = csv_input.DataError("bad\nthing\r\n", "a\nb.csv", row=3, column="text")
    assert "\n" not in str(error) and "\r" not in str(error)
    assert str(error).startswith("a\\nb.csv: row 3, column 'text': bad\\nthing")


def test_a_long_or_odd_cell_is_shown_short_and_escaped(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("text_a,text_b,same_author\na,b," + "y" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(csv_input.DataError) as caught:
        csv_input.read_csv(path)
    assert len(str(caught.value)) < 300 and "(5000 characters)" in str(caught.value)


def test_predict_ignores_a_label_column_it_does_not_need():
    kind, frame = read("label_yes.csv", require_labels=False, keep_columns=True)
    assert kind == "pairs" and frame["same_author"].tolist() == ["1", "yes"]


def test_encode_survives_every_text_of_the_corpus():
    """No file that loads can break encode: every text of every repair file encodes."""
    for name in ("extra_columns.csv", "empty_texts.csv", "whitespace_texts.csv", "nan_texts.csv",
                 "blank_lines.csv", "short_row.csv", "bom.csv", "crlf.csv", "quoted.csv", "long_text.csv",
                 "unicode.csv"):
        _, frame = read(name)
        encoded = data.encode(frame["text"].tolist(), data.build_alphabet(frame["text"]), max_len=280)
        assert (encoded.lengths == np.minimum(frame["text"].str.len(), 280)).all(), name


@pytest.mark.slow
def test_train_help_answers_without_importing_keras():
    """`python train.py --help` lists the constants at once: no Keras/TensorFlow import first."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "train.py", "--help"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0 and "--batch-size" in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "argparse" in imported and not {"keras", "tensorflow", "data"} & imported
