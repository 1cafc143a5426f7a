import copy
from pathlib import Path

import pytest
import yaml

from utrflow import config, preflight
from utrflow.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_filled_into_an_empty_config():
    cfg = config.validate({})
    assert cfg["source"] == "simulate"
    assert cfg["model"]["conv_filters"] == [128, 128, 64]
    assert cfg["split"] == {
        "method": "random",
        "validation": 0.1,
        "test": 0.1,
        "cluster_distance": 3,
        "folds": 0,
    }


def test_the_shipped_config_is_valid_and_equals_the_schema_defaults():
    shipped = preflight.load(REPO / "config" / "config.yaml", base_dir=REPO)
    assert shipped == config.validate({})


def test_the_demo_changes_three_documented_keys_and_stays_valid():
    """`make demo` runs config/config.yaml with config/demo.yaml over it (Snakemake merges
    --configfile section by section): a smaller table, two search candidates of the default
    three, and no learning curve there."""
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    changes = {
        "simulate": {"n_sequences": 12000},
        "model": {"search": {"learning_curve": False}},
        "resources": {"candidates": 2},
    }
    assert demo == changes
    assert shipped["resources"]["candidates"] == 3  # the default the demo narrows
    merged = copy.deepcopy(shipped)
    merged["simulate"]["n_sequences"] = 12000
    merged["model"]["search"]["learning_curve"] = False
    merged["resources"]["candidates"] = 2
    validated = config.validate(merged)
    assert validated["resources"]["candidates"] == 2
    assert validated["model"]["search"]["learning_curve"] is False


def test_the_workflow_schema_is_the_package_schema():
    workflow_schema = yaml.safe_load(
        (REPO / "workflow" / "schemas" / "config.schema.yaml").read_text()
    )
    assert workflow_schema == config.schema()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"modle": {}}, "unknown key 'modle'"),
        ({"model": {"epoch": 3}}, "unknown key 'epoch' in 'model'"),
        ({"model": {"epochs": "ten"}}, "key 'model.epochs': 'ten' is not of type integer"),
        ({"source": "fastq"}, "key 'source': 'fastq' is not one of simulate, reads, table"),
        ({"split": {"test": 0.7}}, "key 'split.test'"),
        (
            {"simulate": {"min_length": 50, "max_length": 40}},
            "'simulate.min_length' (50) is larger",
        ),
        ({"model": {"conv_filters": []}}, "key 'model.conv_filters'"),
        ({"simulate": {"run": {"n_plate": 2}}}, "unknown key 'n_plate' in 'simulate.run'"),
        ({"simulate": {"run": {"n_plates": "two"}}}, "key 'simulate.run.n_plates': 'two' is not"),
        ({"simulate": {"run": {"error_preset": "r11"}}}, "error_preset"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(raw, expected):
    with pytest.raises(InputError) as err:
        config.validate(raw, source="my.yaml")
    message = str(err.value)
    assert message.startswith("my.yaml: ")
    assert expected in message
    assert "\n" not in message


def test_missing_table_file_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("source: table\ntable: data/mine.csv\n")
    with pytest.raises(InputError, match=r"key 'table': file not found: data/mine.csv"):
        preflight.load(path, base_dir=tmp_path)
    path.write_text("source: table\n")
    with pytest.raises(InputError, match="key 'table' must name a file"):
        preflight.load(path, base_dir=tmp_path)


def test_relative_paths_resolve_against_the_base_directory(tmp_path):
    (tmp_path / "data").mkdir()
    bases = ["".join("ACGT"[i >> (2 * k) & 3] for k in range(4)) for i in range(30)]
    rows = "".join(f"ACGTAC{b},{i}\n" for i, b in enumerate(bases))  # a table a model can use
    (tmp_path / "data" / "mine.csv").write_text("sequence,label\n" + rows)
    path = tmp_path / "config.yaml"
    path.write_text("source: table\ntable: data/mine.csv\n")
    assert preflight.load(path, base_dir=tmp_path)["table"] == "data/mine.csv"


def test_unreadable_configs_are_named(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        preflight.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(InputError, match=r"bad.yaml: line [12] is not valid YAML"):
        preflight.load(bad)
    bad.write_text("- a list\n")
    with pytest.raises(InputError, match="expected a mapping"):
        preflight.load(bad)


def test_overlay_lays_derived_keys_over_a_copy() -> None:
    """What a simulated run's jobs read: the config, with the keys the run decides laid over
    it section by section; the config itself is left as its files say."""
    cfg = config.validate({})
    merged = config.overlay(cfg, {"wells": "w.tsv", "fluorescence": {"saturated_at": 9.0}})
    assert merged["wells"] == "w.tsv" and merged["fluorescence"]["saturated_at"] == 9.0
    assert merged["fluorescence"]["signal"] == cfg["fluorescence"]["signal"]
    assert cfg["wells"] != "w.tsv" and cfg["fluorescence"]["saturated_at"] is None
    assert config.overlay(cfg, {}) == cfg
