"""The `fundstelle` command: its entry point as a separate process, as a user starts it (`--help` needs no
model), and its commands' code in this process with the session's model (cli_here)."""

import json

from tests.conftest import cli, cli_here

QUESTION = "Wie viele nordkoreanische Soldaten sind in Russland?"


def test_ask_json_prints_the_api_shape(sample_index_dir):
    result = cli_here("ask", QUESTION, "--index-dir", str(sample_index_dir), "--top-k", "3", "--json")
    answer = json.loads(result.stdout)
    assert answer["question"] == QUESTION and len(answer["passages"]) == 3
    assert any("mehr als 10.000" in p["text"] for p in answer["passages"])
    assert set(answer["passages"][0]["citation"]) >= {"doc_id", "title", "paragraph", "char_start", "char_end"}


def test_ask_prints_citations_for_people(sample_index_dir):
    result = cli_here("ask", QUESTION, "--index-dir", str(sample_index_dir), "--top-k", "3")
    assert "[1]" in result.stdout and "»" in result.stdout and "¶" in result.stdout


def test_ask_without_an_index_says_what_to_do(tmp_path):
    result = cli_here("ask", QUESTION, "--index-dir", str(tmp_path / "none"), check=False)
    assert result.returncode == 2 and "fundstelle index" in result.stderr


def test_index_dir_from_the_environment(sample_index_dir):
    result = cli_here("ask", QUESTION, "--json", env={"FUNDSTELLE_INDEX_DIR": str(sample_index_dir)})
    assert json.loads(result.stdout)["passages"]


def test_help_lists_the_commands():
    out = cli("--help").stdout
    for command in ("index", "serve", "ask", "delete", "eval"):
        assert command in out
