import numpy as np
import pytest

from utrflow import config
from utrflow.errors import InputError
from utrflow.model.network import Scaler, build_network, export, layer_specs
from utrflow.model.predict import predict_sequences, read_sequences


def test_fasta_csv_and_tsv_inputs(tmp_path):
    fasta = tmp_path / "new.fa"
    fasta.write_text(">a first\nACGT\nacgu\n\n>b\nGGGG\n")
    assert read_sequences(fasta).to_dict("list") == {
        "id": ["a", "b"],
        "sequence": ["ACGTACGT", "GGGG"],
    }
    csv = tmp_path / "new.csv"
    csv.write_text("sequence\nACGT\nTTTT\n")
    assert read_sequences(csv)["id"].tolist() == ["seq1", "seq2"]
    tsv = tmp_path / "new.tsv"
    tsv.write_text("id\tsequence\nx\tAAAA\n")
    assert read_sequences(tsv)["id"].tolist() == ["x"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.fa", "ACGT\n>a\nACGT\n", "line 1: sequence before the first '>' header"),
        ("bad.fa", ">a\nACGT\n>b\nAC-GT\n", "record 2 (b): not a DNA sequence"),
        ("bad.csv", "seq\nACGT\n", "missing column 'sequence'"),
    ],
)
def test_bad_inputs_name_the_file_and_record(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_sequences(path)
    assert str(err.value) == f"{path}: {expected}"


def test_ensemble_mean_and_spread():
    cfg = config.validate({"model": {"conv_filters": [2], "dense_units": 0}})["model"]
    members = [
        export(build_network(6, layer_specs(cfg), "regression"), Scaler(m, 1.0), "regression")
        for m in (0.0, 2.0)
    ]
    mean, sd = predict_sequences(["ACGTAC", "GG"], members)
    single = [predict_sequences(["ACGTAC", "GG"], [m])[0] for m in members]
    np.testing.assert_allclose(mean, (single[0] + single[1]) / 2, rtol=1e-5)
    np.testing.assert_allclose(sd, np.abs(single[0] - single[1]) / 2, rtol=1e-4)
