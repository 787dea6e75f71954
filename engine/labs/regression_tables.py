"""Tables for the regression lab: Pokémon stats when Pokemon.csv is fetched, and two that work offline
(the course demo's ten Pokémon CP points and scikit-learn's diabetes table)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.data import pokemon

# the course's regression demo: combat power before (x) and after (y) evolution of ten Pokémon
COURSE_CP = {"cp": [338.0, 333.0, 328.0, 207.0, 226.0, 25.0, 179.0, 60.0, 208.0, 606.0],
             "cp_after_evolution": [640.0, 633.0, 619.0, 393.0, 428.0, 27.0, 193.0, 66.0, 226.0, 1591.0]}


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    frame: pd.DataFrame  # numeric columns only
    x: str  # default columns
    y: str


def pokemon_stats(home=None) -> Table:
    df = pokemon.read_table(pokemon.folder(home) / pokemon.FILENAME)
    return Table("pokemon", "Pokémon base stats (800 Pokémon)", df[list(pokemon.STATS["all7"])].astype(float),
                 "Attack", "Total")


def course_cp() -> Table:
    return Table("course_cp", "The course demo's 10 Pokémon: CP before → after evolution (built in)",
                 pd.DataFrame(COURSE_CP), "cp", "cp_after_evolution")


def diabetes() -> Table:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.frame.rename(columns={"target": "progression"}).astype(float)
    return Table("diabetes", "scikit-learn diabetes (442 patients, built in)", frame, "bmi", "progression")


def available(home=None) -> dict[str, Table]:
    """name -> Table; Pokémon first when it is fetched."""
    tables = {"pokemon": pokemon_stats(home)} if pokemon.ready(home) else {}
    tables.update(course_cp=course_cp(), diabetes=diabetes())
    return tables
