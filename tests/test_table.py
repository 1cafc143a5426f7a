import numpy as np
import pytest

from utrflow.errors import InputError
from utrflow.labelled import covariate_columns, read_user_table


def test_spreadsheet_quirks_are_normalized(tmp_path):
    path = tmp_path / "t.csv"
    # byte-order mark, CRLF, stray spaces, lowercase and RNA letters
    path.write_bytes("\ufeffsequence , label,access\r\n acgu ,1.5, 0.2\r\nGGTT,-2,1\r\n".encode())
    table = read_user_table(path)
    assert table["sequence"].tolist() == ["ACGT", "GGTT"]
    np.testing.assert_allclose(table["label"], [1.5, -2.0])
    assert covariate_columns(table) == ["access"]
    assert (table["qc"] == "pass").all()


def test_tsv_with_split_column(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("sequence\tlabel\tsplit\nACGT\t1\tTrain\nCCCC\t2\ttest\n")
    assert read_user_table(path)["split"].tolist() == ["train", "test"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("sequence,value\nACGT,1\n", "missing column 'label'"),
        ("sequence,label\n", "header but no rows"),
        ("sequence,label\nACGT,1\nACXT,2\n", "row 3: sequence has non-IUPAC characters 'X'"),
        ("sequence,label\nACGT,1\n,2\n", "row 3: empty sequence"),
        ("sequence,label\nACGT,high\n", "row 2: column 'label' value 'high' is not a number"),
        ("sequence,label,od\nACGT,1,\n", "row 2: column 'od' value '' is not a number"),
        ("sequence,label,split\nACGT,1,holdout\n", "row 2: split must be one of"),
        ("", "the file is empty"),
    ],
)
def test_bad_tables_name_file_row_and_problem(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_user_table(path)
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)
