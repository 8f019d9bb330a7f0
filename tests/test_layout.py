"""The project's layout: imports among its modules run one way (issue #19, point 3).

The base modules import no project module: csv_input (the CSV format), data (text to
codes), lstm_recurrence (the LSTM's loops) and nodes.py (the Keras 2 node API the README
teaches). code_lstm (the layer) imports lstm_recurrence only; corpus (tweets, splits,
pairs) imports csv_input and data; disk_storage (reading the on-disk cache) imports
csv_input and corpus; tweet_cache (building the cache) imports disk_storage; model and
the programs (pretrain, train, predict, ...) come above. Read from the source with `ast`,
so an import inside a function counts as much as one at the top.
"""

import ast
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(path.stem for path in ROOT.glob("*.py"))


def project_imports(module):
    """The project modules `module` imports anywhere in its source (top level or in a function)."""
    tree = ast.parse((ROOT / f"{module}.py").read_text(encoding="utf-8"), filename=f"{module}.py")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names)
    return found & set(MODULES) - {module}


def import_graph():
    return {module: project_imports(module) for module in MODULES}


def find_cycle(graph):
    """One cycle as a list [a, b, ..., a], or None."""
    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_the_graph_reader_sees_the_imports_it_should():
    assert MODULES and {"data", "model", "code_lstm", "nodes", "train", "predict", "pretrain"} <= set(MODULES)
    graph = import_graph()
    assert {"data", "code_lstm", "nodes"} <= graph["model"]
    assert "model" in graph["train"]  # an import inside a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_project_imports_have_no_cycle():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "project modules import each other in a circle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["lstm_recurrence", "nodes", "csv_input", "data"])
def test_the_base_modules_import_no_project_module(module):
    assert project_imports(module) == set(), f"{module}.py should import no project module"


def test_the_layer_imports_only_its_recurrence():
    """code_lstm.py and lstm_recurrence.py need Keras alone: saved models load without the data pipeline."""
    assert project_imports("code_lstm") == {"lstm_recurrence"}


def test_corpus_imports_only_the_csv_reader_and_the_encoding():
    """corpus.py reads CSVs with csv_input and encodes with data, and imports nothing else of the project."""
    assert project_imports("corpus") == {"csv_input", "data"}


def test_the_cache_reader_imports_nothing_of_the_builder():
    """disk_storage.py reads a cache folder (the OnDisk storage); tweet_cache.py builds one and imports the reader."""
    assert project_imports("disk_storage") == {"csv_input", "corpus"}
    assert project_imports("tweet_cache") == {"csv_input", "data", "corpus", "disk_storage"}


def test_model_is_the_pipeline_and_code_lstm_the_layer():
    import code_lstm
    import data
    import model
    import nodes

    for name in ("build_code_model", "export_core", "import_core", "encoder", "shared_layer", "head_of"):
        assert callable(getattr(model, name)), name
    for gone in ("build_code_model", "export_core", "import_core", "_head_of"):
        assert not hasattr(code_lstm, gone), f"code_lstm.{gone}: the siamese model lives in model.py"
    assert not hasattr(nodes, "encoder") and not hasattr(nodes, "shared_layer")
    # The registration namespace saved models record ("siamese_tweets>CodeLSTM"): one constant, unchanged.
    assert code_lstm.PACKAGE == model.PACKAGE == "siamese_tweets"
    assert inspect.signature(code_lstm.CodeLSTM).parameters["depth"].default == data.ALPHABET_SIZE


def test_saved_names_of_the_custom_layers_are_unchanged():
    import keras

    import code_lstm
    import model
    import pretrain

    names = {
        "siamese_tweets>CodeLSTM": code_lstm.CodeLSTM,
        "siamese_tweets>OneHotCodes": model.OneHotCodes,
        "siamese_tweets>NextCharacter": pretrain.NextCharacter,
        "siamese_tweets>next_character_loss": pretrain.next_character_loss,
        "siamese_tweets>next_character_accuracy": pretrain.next_character_accuracy,
    }
    for name, registered in names.items():
        assert keras.saving.get_registered_name(registered) == name
        assert keras.saving.get_registered_object(name) is registered
