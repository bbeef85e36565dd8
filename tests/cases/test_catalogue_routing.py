"""The service catalogue (YAML and CSV, checked on import, stored in PostgreSQL) and the routing of requests
with the real embedder, through the library and the ``kreiswissen cases`` commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kreiswissen.cases.catalogue import load_stored, read_catalogue, store_catalogue
from kreiswissen.cases.router import Router
from kreiswissen.errors import InputError
from kreiswissen.runtime import Runtime
from kreiswissen.security.principal import Principal

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "leistungen"


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return read_catalogue(SAMPLE / "leistungskatalog.yaml")


def test_the_sample_catalogue_reads_the_same_from_yaml_and_csv(catalogue) -> None:  # type: ignore[no-untyped-def]
    assert len(catalogue.services) == 77 and len(catalogue.units) == 44
    from_csv = read_catalogue(SAMPLE / "leistungskatalog.csv")
    assert from_csv.services == catalogue.services and from_csv.units == catalogue.units
    kfz = catalogue.services["kfz-zulassung"]
    assert catalogue.unit_of(kfz).email.endswith("@musterkreis.example") and kfz.synonyms and kfz.legal_bases


@pytest.mark.parametrize(("content", "message"), [
    ("leistungen: []\neinheiten: []\n", "enthält keine Leistungen"),
    ("einheiten:\n  - id: a\n    name: A\nleistungen:\n  - id: x\n    name: X\n    einheit: b\n", "„b“ ist nicht"),
    ("einheiten:\n  - id: a\n    name: A\nleistungen:\n  - id: X Y\n    name: X\n    einheit: a\n", "ungültige ID"),
    ("einheiten:\n  - id: a\n    name: A\nleistungen:\n  - {id: x, name: X, einheit: a}\n  - {id: x, name: Y, "
     "einheit: a}\n", "doppelt"),
    ("einheiten: [\n", "kein gültiges YAML"),
])
def test_bad_catalogues_are_refused_with_the_entry_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "katalog.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as refused:
        read_catalogue(path)
    assert message in refused.value.user_message


def test_latin1_and_unknown_suffix_are_refused(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_bytes("einheiten: []\nname: Gebühr\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        read_catalogue(tmp_path / "k.yaml")
    (tmp_path / "k.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError):
        read_catalogue(tmp_path / "k.xlsx")


def test_store_and_route_with_the_real_embedder(rt: Runtime, catalogue) -> None:  # type: ignore[no-untyped-def]
    store_catalogue(rt.db, Principal.local_operator(), catalogue)
    stored = load_stored(rt.db, Principal.with_groups(["bauamt"]))
    assert stored.services == catalogue.services  # readable by every principal
    from kreiswissen.cases.router import cached_vectors

    router = Router(stored, rt.embedder, cached_vectors(rt, Principal.local_operator()))
    car = router.route("Guten Tag, ich habe ein gebrauchtes Auto gekauft und möchte es auf mich zulassen. "
                       "Welche Unterlagen brauche ich? Mit freundlichen Grüßen, Erika Mustermann")
    assert car.best is not None and car.best.service.id in ("kfz-zulassung", "kfz-halterwechsel")
    assert 0 < car.confidence <= 1 and len(car.candidates) == 77
    result = car.to_json(stored)
    assert set(result) >= {"service", "unit", "confidence", "alternatives"}
    assert result["unit"] == stored.services[result["service"]].unit and len(result["alternatives"]) == 3
    trash = router.route("Wann wird bei uns in Beispielheim der Sperrmüll abgeholt? Ich habe ein altes Sofa.")
    assert trash.best is not None and trash.best.service.id == "sperrmuell"
    with pytest.raises(InputError):
        router.route("   ")


def test_cli_import_list_and_route_json(rt: Runtime) -> None:
    env = {**os.environ, "KREISWISSEN_HOME": str(rt.settings.home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kreiswissen.cli", "cases", *args], capture_output=True,
                              text=True, env=env, timeout=300)

    with rt.db.admin_connection() as admin:
        admin.execute("DELETE FROM services")
        admin.execute("DELETE FROM service_units")
    empty = run("route", "Mein Führerschein ist weg")
    assert empty.returncode != 0 and "Kein Leistungskatalog" in empty.stderr
    imported = run("catalogue", "import", str(SAMPLE / "leistungskatalog.yaml"), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == {"services": 77, "units": 44}
    listed = json.loads(run("catalogue", "list", "--json").stdout)
    assert len(listed["services"]) == 77
    routed = run("route", "Ich habe meinen Führerschein verloren, wie bekomme ich einen neuen?", "--json")
    assert routed.returncode == 0, routed.stderr
    data = json.loads(routed.stdout)
    assert data["service"] == "fuehrerschein-verlust" and data["unit"] == "strassenverkehrsamt-fuehrerschein"
    assert 0 < data["confidence"] <= 1 and [a["service"] for a in data["alternatives"]]
    both = run("route", "x", "--file", "y")
    assert both.returncode != 0 and "TEXT oder mit --file" in both.stderr
    assert shutil.which(sys.executable)


def test_profile_vectors_come_from_the_embedding_cache_the_second_time(rt: Runtime, catalogue) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from kreiswissen.cases.router import cached_vectors

    operator = Principal.local_operator()
    first = Router(catalogue, rt.embedder, cached_vectors(rt, operator))
    calls: list[int] = []

    class Counting:  # the real embedder, counting what it is asked to embed
        model_id = rt.embedder.model_id

        def embed_passages(self, texts: list[str]):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return rt.embedder.embed_passages(texts)

        def embed_query(self, text: str):  # type: ignore[no-untyped-def]
            return rt.embedder.embed_query(text)

    counting_rt = Runtime(settings=rt.settings, db=rt.db)
    counting_rt.__dict__["embedder"] = Counting()
    second = Router(catalogue, counting_rt.embedder, cached_vectors(counting_rt, operator))  # type: ignore[arg-type]
    assert calls == [] and np.allclose(first._vectors, second._vectors, atol=1e-3)
    assert second.route("Sperrmüll anmelden, bitte").best.service.id == "sperrmuell"  # type: ignore[union-attr]
