"""The `fundstelle` command: its entry point as a separate process, as a user starts it (`--help` needs no
model), and its commands' code in this process with the session's model (cli_here); `--server` against the
session's service on loopback (a real HTTP server in a thread)."""

import json
import shutil

import httpx
import pytest

from engine import LocalEngine
from tests.conftest import cli, cli_here, serve_here, served_settings, stop_server
from tests.paths import BUNDLED_CORPUS

QUESTION = "Wie viele nordkoreanische Soldaten sind in Russland?"
WEATHER = "Wie wird das Wetter morgen in Hamburg?"
OFF_TOPIC_EN = "How do I bake an apple pie?"
READ_TOKEN = "read-token-0123456789"


def test_ask_json_prints_the_api_shape(sample_index_dir):
    result = cli_here("ask", QUESTION, "--index-dir", str(sample_index_dir), "--top-k", "3", "--json")
    answer = json.loads(result.stdout)
    assert answer["question"] == QUESTION and len(answer["passages"]) == 3
    assert any("mehr als 10.000" in p["text"] for p in answer["passages"])
    assert set(answer["passages"][0]["citation"]) >= {"doc_id", "title", "paragraph", "char_start", "char_end",
                                                      "author", "page"}
    assert result.returncode == 0 and answer["answer_found"] is True
    assert "model loaded in " in result.stderr and " s, answered in " in result.stderr  # what the answer cost


def test_ask_prints_citations_for_people(sample_index_dir):
    result = cli_here("ask", QUESTION, "--index-dir", str(sample_index_dir), "--top-k", "3")
    assert "[1]" in result.stdout and "»" in result.stdout and "¶" in result.stdout
    assert "confidence 0." in result.stdout or "confidence 1.00" in result.stdout
    assert "t-online, 2024-10-15" in result.stdout or "Chas Pravdy, 2025-05-29" in result.stdout
    assert "Keine Antwort" not in result.stdout


def test_a_question_the_archive_does_not_answer_says_so_and_exits_1(sample_index_dir):
    result = cli_here("ask", WEATHER, "--index-dir", str(sample_index_dir), "--top-k", "2", check=False)
    assert result.returncode == 1
    assert result.stdout.startswith("Keine Antwort im Archiv")
    assert "[1]" in result.stdout and "confidence 0.0" in result.stdout  # the nearest passages, set apart
    as_json = cli_here("ask", WEATHER, "--index-dir", str(sample_index_dir), "--json", check=False)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["answer_found"] is False


def test_ask_group_article_is_the_timeline(sample_index_dir):
    result = cli_here("ask", QUESTION, "--index-dir", str(sample_index_dir), "--group", "article", "--sort", "date",
                      "--json")
    answer = json.loads(result.stdout)
    ids = [p["citation"]["doc_id"] for p in answer["passages"]]
    assert len(ids) == len(set(ids)) == 5 and answer["group"] == "article"
    bad = cli_here("ask", QUESTION, "--index-dir", str(sample_index_dir), "--group", "articles", check=False)
    assert bad.returncode == 2 and "--group: Input should be 'passage' or 'article'" in bad.stderr


def test_ask_without_an_index_says_what_to_do(tmp_path):
    result = cli_here("ask", QUESTION, "--index-dir", str(tmp_path / "none"), check=False)
    assert result.returncode == 2 and "fundstelle index" in result.stderr


def test_index_dir_from_the_environment(sample_index_dir):
    result = cli_here("ask", QUESTION, "--json", env={"FUNDSTELLE_INDEX_DIR": str(sample_index_dir)})
    assert json.loads(result.stdout)["passages"]


def test_help_lists_the_commands_and_says_no_timing():
    out = cli("--help").stdout
    for command in ("index", "serve", "ask", "list", "delete", "mcp", "eval"):
        assert command in out
    ask_help = cli("ask", "--help")
    assert "--server" in ask_help.stdout and "Exit codes" in ask_help.stdout
    assert " ms" not in ask_help.stdout + ask_help.stderr and "loaded in" not in ask_help.stderr


# -- ask and list over HTTP (--server, FUNDSTELLE_SERVER) -------------------------------------
def test_ask_over_http_prints_what_the_local_ask_prints(server, sample_index_dir):
    remote = cli_here("ask", QUESTION, "--server", server.url, "--top-k", "3", "--json")
    local = cli_here("ask", QUESTION, "--index-dir", str(sample_index_dir), "--top-k", "3", "--json")
    strip = lambda r: {k: v for k, v in json.loads(r.stdout).items() if k != "took_ms"}  # noqa: E731
    assert strip(remote) == strip(local)
    assert f"asked {server.url}: answered in " in remote.stderr
    people = cli_here("ask", QUESTION, "--top-k", "3", env={"FUNDSTELLE_SERVER": server.url})
    assert "[1]" in people.stdout and "»" in people.stdout and "model loaded" not in people.stderr


def test_ask_over_http_says_no_answer_in_the_questions_language(server):
    result = cli_here("ask", OFF_TOPIC_EN, "--server", server.url, "--top-k", "2", check=False)
    assert result.returncode == 1 and result.stdout.startswith("No answer in the archive")


@pytest.mark.parametrize(("url", "fragment"), [
    ("localhost:1", "give the service's URL"),
    ("http://127.0.0.1:1", "cannot reach the service at http://127.0.0.1:1"),
])
def test_ask_over_http_names_what_went_wrong(url, fragment):
    result = cli_here("ask", QUESTION, "--server", url, check=False)
    assert result.returncode == 2 and fragment in result.stderr


def test_ask_and_list_over_http_send_the_read_token(sample_index_dir, embedder, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(sample_index_dir, folder, ignore=shutil.ignore_patterns("*.lock"))
    settings = served_settings(folder, read_token=READ_TOKEN)
    engine = LocalEngine(settings, encoder=embedder)
    guarded = serve_here(settings, engine)
    try:
        refused = cli_here("list", "--server", guarded.url, check=False)
        assert refused.returncode == 2 and "needs a read token: set FUNDSTELLE_READ_TOKEN" in refused.stderr
        wrong = cli_here("ask", QUESTION, "--server", guarded.url, check=False,
                         env={"FUNDSTELLE_READ_TOKEN": "wrong"})
        assert wrong.returncode == 2 and "refused" in wrong.stderr
        token = {"FUNDSTELLE_READ_TOKEN": READ_TOKEN}
        assert json.loads(cli_here("ask", QUESTION, "--server", guarded.url, "--json", env=token).stdout)["passages"]
        assert json.loads(cli_here("list", "--server", guarded.url, "--json", env=token).stdout)["total"] == 5
    finally:
        stop_server(guarded)
        engine.close()


# -- list -------------------------------------------------------------------------------------
def test_list_shows_every_article_with_its_doc_id(sample_index_dir):
    result = cli_here("list", "--index-dir", str(sample_index_dir))
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and lines[0].startswith("002_f98be471c2941e97  2025-05-29  ")  # newest first
    assert lines[1].startswith("003_b4d41754e5c68a6e  2024-10-15  Nordkoreas Hilfe für Russland")
    assert "(t-online" in lines[1] and "(1-5 of 5 articles)" in result.stderr


def test_list_json_is_the_api_page_and_filters_like_it(server, sample_index_dir):
    api = httpx.get(f"{server.url}/api/documents", params={"limit": 500}).json()
    everything = json.loads(cli_here("list", "--index-dir", str(sample_index_dir), "--json").stdout)
    assert everything["documents"] == api["documents"] and everything["total"] == 5
    assert json.loads(cli_here("list", "--server", server.url, "--json").stdout) == everything
    page = json.loads(cli_here("list", "--server", server.url, "--json", "--limit", "2", "--offset", "1").stdout)
    assert page == httpx.get(f"{server.url}/api/documents", params={"limit": 2, "offset": 1}).json()
    outlet = json.loads(cli_here("list", "--index-dir", str(sample_index_dir), "--json", "--source", "T-ONLINE",
                                 "--source", "Chas Pravdy", "--since", "2024-10-15", "--until", "2024-12-31").stdout)
    assert [d["doc_id"] for d in outlet["documents"]] == ["003_b4d41754e5c68a6e"] and outlet["total"] == 1


@pytest.mark.parametrize(("args", "fragment"), [
    (["--since", "2024-02-30"], "--since: must be a date as YYYY-MM-DD, got '2024-02-30'"),
    (["--since", "2025-01-01", "--until", "2024-01-01"], "since (2025-01-01) is after until (2024-01-01)"),
    (["--limit", "0"], "--limit"),
])
def test_list_refuses_bad_options_clearly(sample_index_dir, args, fragment):
    result = cli_here("list", "--index-dir", str(sample_index_dir), *args, check=False)
    assert result.returncode == 2 and fragment in result.stderr


# -- serve on a folder of articles -------------------------------------------------------------
def test_serve_on_a_folder_of_articles_shows_the_two_right_commands(tmp_path):
    articles = tmp_path / "artikel"
    shutil.copytree(BUNDLED_CORPUS, articles / "2024")
    result = cli_here("serve", "--index-dir", str(articles), check=False)
    assert result.returncode == 2
    assert f"{articles} holds articles (" in result.stderr and "but no index" in result.stderr
    assert f"fundstelle index {articles} --index-dir {articles}-index" in result.stderr
    assert f"fundstelle serve --index-dir {articles}-index" in result.stderr
    empty = cli_here("serve", "--index-dir", str(tmp_path / "leer"), check=False)
    assert empty.returncode == 2 and "no index at" in empty.stderr and "--create" in empty.stderr
