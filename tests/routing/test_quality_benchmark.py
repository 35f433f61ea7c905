"""``python -m benchmarks.routing_quality``: reading VRPLIB files nobody tuned for
(``--set file``) and its command line. Tiny instances written here; no solver runs
except where a test says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import routing_quality as rq


def _write(path: Path, specs: str, sections: str) -> Path:
    path.write_text(f"NAME : {path.stem}\n{specs}{sections}EOF\n")
    return path


def _coords_file(path: Path, ewt: str, coords: list[tuple[float, float]], extra: str = "") -> Path:
    rows = "".join(f"{i + 1} {x} {y}\n" for i, (x, y) in enumerate(coords))
    return _write(
        path,
        f"TYPE : TSP\nDIMENSION : {len(coords)}\nEDGE_WEIGHT_TYPE : {ewt}\n",
        f"NODE_COORD_SECTION\n{rows}{extra}",
    )


BURMA14 = [  # TSPLIB burma14 (GEO), optimum 3323
    (16.47, 96.10), (16.47, 94.44), (20.09, 92.54), (22.39, 93.37), (25.23, 97.24),
    (22.00, 96.05), (20.47, 97.02), (17.20, 96.29), (16.30, 97.38), (14.05, 98.12),
    (16.53, 97.38), (21.52, 95.59), (19.41, 97.13), (20.09, 94.55),
]
BURMA14_OPT = [1, 2, 14, 3, 4, 5, 6, 12, 7, 13, 8, 11, 9, 10]


def test_file_set_uses_the_files_edge_weight_type(tmp_path: Path) -> None:
    # GEO: the optimal tour evaluates to the published optimum (not Euclid on degrees)
    geo = rq.load(_coords_file(tmp_path / "burma14.tsp", "GEO", BURMA14), "auto")
    cost, problems = rq.evaluate(geo, [[v - 1 for v in BURMA14_OPT[1:]]])
    assert (cost, problems) == (3323.0, [])
    # ATT: sqrt((10^2 + 0) / 10) = 3.16 -> 4 (pseudo-Euclidean, rounded up)
    att = rq.load(_coords_file(tmp_path / "att.vrp", "ATT", [(0, 0), (10, 0)]), "auto")
    assert att.dist[0, 1] == 4
    # CEIL_2D: 1.41 -> 2, where nint would give 1
    ceil = rq.load(_coords_file(tmp_path / "ceil.vrp", "CEIL_2D", [(0, 0), (1, 1)]), "auto")
    assert ceil.dist[0, 1] == 2
    # EUC_2D stays nint
    euc = rq.load(_coords_file(tmp_path / "euc.vrp", "EUC_2D", [(0, 0), (1, 1)]), "auto")
    assert euc.dist[0, 1] == 1


FULL = np.array([[0, 4, 7, 3], [4, 0, 5, 6], [7, 5, 0, 2], [3, 6, 2, 0]])


def _stream(fmt: str) -> list[int]:
    n = len(FULL)
    pairs = {
        "FULL_MATRIX": [(i, j) for i in range(n) for j in range(n)],
        "LOWER_ROW": [(i, j) for i in range(n) for j in range(i)],
        "UPPER_ROW": [(i, j) for i in range(n) for j in range(i + 1, n)],
        "LOWER_DIAG_ROW": [(i, j) for i in range(n) for j in range(i + 1)],
        "UPPER_DIAG_ROW": [(i, j) for i in range(n) for j in range(i, n)],
    }[fmt]
    return [int(FULL[i, j]) for i, j in pairs]


@pytest.mark.parametrize(
    "fmt", ["FULL_MATRIX", "LOWER_ROW", "UPPER_ROW", "LOWER_DIAG_ROW", "UPPER_DIAG_ROW"]
)
@pytest.mark.parametrize("per_line", [1, 3, 100])
def test_explicit_formats_read_as_one_stream(tmp_path: Path, fmt: str, per_line: int) -> None:
    values = _stream(fmt)
    lines = "".join(
        " ".join(map(str, values[k : k + per_line])) + "\n"
        for k in range(0, len(values), per_line)
    )
    path = _write(
        tmp_path / "m.vrp",
        f"TYPE : TSP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : {fmt}\n",
        f"EDGE_WEIGHT_SECTION\n{lines}",
    )
    inst = rq.load(path, "auto")
    assert inst.dist.tolist() == FULL.tolist()


def _cvrp(n: int = 4) -> tuple[str, str]:
    coords = "".join(f"{i + 1} {i * 3} {i * 4}\n" for i in range(n))
    demand = "".join(f"{i + 1} {0 if i == 0 else 1}\n" for i in range(n))
    return (
        f"TYPE : CVRP\nDIMENSION : {n}\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\n",
        f"NODE_COORD_SECTION\n{coords}DEMAND_SECTION\n{demand}",
    )


def _refused(tmp_path: Path, specs: str, sections: str) -> str:
    path = _write(tmp_path / "bad.vrp", specs, sections)
    with pytest.raises(SystemExit) as exc:
        rq.main(["--set", "file", "--instances", str(path), "--seconds", "0.1",
                 "--solver", "ours", "--workers", "1", "--out", str(tmp_path / "o.json")])
    assert isinstance(exc.value.code, str), exc.value.code
    return exc.value.code


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, c: (s, c + "DEPOT_SECTION\n3\n-1\n"), "only one depot, node 1"),
        (lambda s, c: (s, c + "DEPOT_SECTION\n1\n2\n-1\n"), "only one depot, node 1"),
        (lambda s, c: (s + "DISTANCE : 50\n", c), "DISTANCE"),
        (lambda s, c: (s, c + "PICKUP_SECTION\n1 0\n2 0\n3 0\n4 0\n"), "PICKUP_SECTION"),
        (lambda s, c: (s, c + "TIME_WINDOW_SECTION\n1 0 100\n2 0 50\n"), "TIME_WINDOW_SECTION"),
        (
            lambda s, c: (s, c + "TIME_WINDOW_SECTION\n1 0 100\n2 0 50.5\n3 0 50\n4 0 50\n"),
            "must be integers",
        ),
        (
            lambda s, c: (s, c + "TIME_WINDOW_SECTION\n1 0 100\n2 60 50\n3 0 50\n4 0 50\n"),
            "node 2 opens after it closes",
        ),
        (lambda s, c: (s, c.replace("\n2 1\n", "\n2 -1\n")), "DEMAND_SECTION"),
        (lambda s, c: (s.replace("CAPACITY : 10", "CAPACITY : " + "9" * 20), c), "CAPACITY"),
        (lambda s, c: (s, c.replace("\n2 3 4\n", "\n2 3e15 4\n")), "distances must be"),
        (lambda s, c: (s.replace("DIMENSION : 4", "DIMENSION : 6"), c), "NODE_COORD_SECTION"),
        (lambda s, c: (s.replace("DIMENSION : 4\n", ""), c), "DIMENSION"),
        (lambda s, c: (s.replace("EUC_2D", "EUC_3D"), c), "EUC_3D"),
        (lambda s, c: (s, c.replace("NODE_COORD_SECTION", "NODE_COORDS")), "VRPLIB"),
    ],
)
def test_file_set_refuses_what_it_cannot_measure(tmp_path: Path, change, message: str) -> None:
    specs, sections = change(*_cvrp())
    assert message in _refused(tmp_path, specs, sections)


def test_explicit_weights_must_match_dimension_and_be_integers(tmp_path: Path) -> None:
    specs = "TYPE : TSP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : "
    assert "needs 6" in _refused(
        tmp_path, specs + "LOWER_ROW\n", "EDGE_WEIGHT_SECTION\n4\n7 5\n3 6\n"
    )
    assert "integers" in _refused(
        tmp_path, specs + "LOWER_ROW\n", "EDGE_WEIGHT_SECTION\n4.5\n7 5\n3 6 2\n"
    )
    assert "at most" in _refused(
        tmp_path, specs + "LOWER_ROW\n", "EDGE_WEIGHT_SECTION\n4\n7 5\n3 6 " + "9" * 20 + "\n"
    )


def _data_dir(tmp_path: Path) -> Path:
    specs, sections = _cvrp()
    folder = tmp_path / "data" / "cvrp_x"
    folder.mkdir(parents=True)
    for name in ("T1", "T2"):
        _write(folder / f"{name}.vrp", specs, sections)
    return tmp_path / "data"


@pytest.mark.parametrize(
    ("instances", "message"),
    [("T1,T1", "listed twice"), ("", "empty name"), ("T1,", "empty name"),
     ("T*", "not found"), ("T?", "not found")],
)
def test_instances_are_exact_distinct_names(tmp_path: Path, instances: str, message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        rq.main(["--set", "x", "--data", str(_data_dir(tmp_path)), "--instances", instances,
                 "--seconds", "0.1", "--solver", "ours", "--workers", "1",
                 "--out", str(tmp_path / "o.json")])
    assert isinstance(exc.value.code, str) and message in exc.value.code


def test_unwritable_out_fails_before_solving(tmp_path: Path, monkeypatch) -> None:
    def no_solve(*args, **kwargs):
        raise AssertionError("solved before checking --out")

    monkeypatch.setattr(rq, "solve_ours", no_solve)
    with pytest.raises(SystemExit) as exc:
        rq.main(["--set", "x", "--data", str(_data_dir(tmp_path)), "--instances", "T1",
                 "--seconds", "0.1", "--solver", "ours", "--out", str(tmp_path)])
    assert isinstance(exc.value.code, str) and "--out" in exc.value.code


@pytest.mark.parametrize("args", [["--seconds", "0"], ["--seconds", "nan"], ["--workers", "0"]])
def test_budget_and_workers_must_be_positive(tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        rq.main(["--set", "x", "--data", str(_data_dir(tmp_path)), "--instances", "T1",
                 "--solver", "ours", "--out", str(tmp_path / "o.json"), *args])
    assert exc.value.code == 2  # argparse's usage error, not a traceback from the solver


def test_file_set_end_to_end(tmp_path: Path) -> None:
    """One short solve: routes in .sol numbering and the recomputed cost in the JSON."""
    path = _coords_file(tmp_path / "burma14.tsp", "GEO", BURMA14)
    out = tmp_path / "o.json"
    assert rq.main(["--set", "file", "--instances", str(path), "--seconds", "0.2",
                    "--solver", "ours", "--workers", "1", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["results"]
    (route,) = row["routes"]
    assert sorted(route) == list(range(1, 14))
    assert row["cost"] == rq.evaluate(rq.load(path, "auto"), row["routes"])[0] >= 3323


def test_missing_data_folder_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        rq.main(["--set", "x", "--data", str(tmp_path / "nowhere"), "--instances", "T1",
                 "--solver", "ours", "--out", str(tmp_path / "o.json")])
    assert isinstance(exc.value.code, str) and "pass --data" in exc.value.code


@pytest.mark.parametrize("solver", ["", ",", "ours,ours"])
def test_solver_list_names_each_once(tmp_path: Path, solver: str) -> None:
    with pytest.raises(SystemExit) as exc:
        rq.main(["--set", "x", "--data", str(_data_dir(tmp_path)), "--instances", "T1",
                 "--seconds", "0.1", "--solver", solver, "--workers", "1",
                 "--out", str(tmp_path / "o.json")])
    assert isinstance(exc.value.code, str) and "--solver" in exc.value.code


def test_bks_from_sol_routes_in_this_runs_distances(tmp_path: Path) -> None:
    """A .sol next to a file (e.g. Solomon's, whose Cost is in DIMACS 0.1 units) gives the
    gap reference as its routes' cost under the distances of this run, not its Cost line."""
    path = _coords_file(tmp_path / "t.vrp", "EUC_2D", [(0, 0), (3, 4), (6, 8)])
    path.with_suffix(".sol").write_text("Route #1: 1 2\nCost 99.9\n")
    inst = rq.load(path, "auto")
    assert (inst.bks, inst.bks_vehicles) == (20.0, 1)
    assert rq.load(path, "dimacs").bks == 20.0  # 200 tenths


def test_comment_is_free_text(tmp_path: Path) -> None:
    """vrplib stops reading at any line containing 'EOF' or takes one containing '_SECTION'
    for a section: a comment may say either."""
    specs, sections = _cvrp()
    specs = "COMMENT : GEOFF's instance, see DEMAND_SECTION\n" + specs
    windows = "TIME_WINDOW_SECTION\n1 0 100\n2 0 50\n3 0 50\n4 0 50\n"
    inst = rq.load(_write(tmp_path / "c.vrp", specs, sections + windows), "auto")
    assert inst.tw is not None and inst.demand is not None and inst.tw[1, 1] == 50
    assert "EOF" in _refused(tmp_path, specs.replace("TYPE : CVRP", "TYPE : CVRP_GEOF"), sections)


def test_section_rows_in_node_order(tmp_path: Path) -> None:
    """vrplib drops the node numbers of a section: rows out of order would give node 2
    node 3's demand."""
    specs, sections = _cvrp()
    sections = sections.replace("\n1 0\n2 1\n3 1\n", "\n1 0\n3 7\n2 1\n")
    assert "in order" in _refused(tmp_path, specs, sections)
