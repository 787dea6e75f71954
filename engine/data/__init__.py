"""Dataset registry: name -> DatasetSpec. Loaders return a `Dataset` of in-memory splits."""

from __future__ import annotations

from engine.data import covid, csvdata, digits, mnist, news, playground, pokemon
from engine.data.base import Dataset, DatasetSpec, Split
from engine.data.download import DataMissingError

DATASETS: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    DATASETS[spec.name] = spec
    return spec


register(DatasetSpec(
    "digits", "image", "classification", "8x8 digits (scikit-learn)",
    "1,797 handwritten digits, 8x8 pixels; ships inside scikit-learn, works offline.",
    load=lambda home=None, **_: digits.load(home), ready=digits.ready,
))
register(DatasetSpec(
    "playground", "table", "classification", "Playground: 2-D points",
    "TensorFlow Playground's toy data: two classes of points in the plane shaped as a circle, xor, two "
    "Gaussians or a spiral, with noise and extra input features (x1², x2², x1·x2, sin x1, sin x2); generated "
    "from a seed, works offline. Training shows the decision boundary over the plane, epoch by epoch.",
    load=lambda home=None, **args: playground.load(home, **args), ready=playground.ready,
    options=playground.OPTIONS, defaults=playground.DEFAULTS,
))
register(DatasetSpec(
    "news", "text", "classification", "News headlines (UCI)",
    "UCI News Aggregator headlines from five publishers, 4 classes (business, science/tech, "
    "entertainment, health); the standard exercise split 10,684 / 1,336 / 1,336.",
    load=lambda home=None, **_: news.load(home), ready=news.ready, fetch=news.fetch,
))
register(DatasetSpec(
    "mnist", "image", "classification", "MNIST 28x28 digits",
    "70,000 handwritten digits, 28x28 pixels: 54,000 train / 6,000 valid (10 % held out, fixed seed) / "
    "10,000 test; four IDX files, downloaded (checksummed) or taken from a local folder.",
    load=lambda home=None, **args: mnist.load(home, **args), ready=mnist.ready, fetch=mnist.fetch,
    options=mnist.OPTIONS, defaults={"epochs": 3},  # 54,000 images: a few epochs suffice
))
register(DatasetSpec(
    "pokemon", "table", "classification", "Pokémon: Water vs Normal",
    "The machine-learning course's classification task: Water vs Normal Pokémon from their base stats; "
    "# < 400 train (79 Water + 61 Normal), the rest test (70). Pokemon.csv from a local folder.",
    load=lambda home=None, **args: pokemon.load(home, **args), ready=pokemon.ready, fetch=pokemon.fetch,
    options=pokemon.OPTIONS,
))
register(DatasetSpec(
    "covid", "table", "regression", "COVID-19 cases (regression)",
    "The machine-learning course's COVID-19 regression (ML2022 HW1): the 5th day's tested-positive share from "
    "37 states and 5 days of survey signals (2,699 rows; valid 20 % with seed 5201314); predictions for the "
    "1,078 unlabelled rows go to the run's predictions.csv.",
    load=lambda home=None, **args: covid.load(home, **args), ready=covid.ready, fetch=covid.fetch,
    options=covid.OPTIONS, defaults=covid.DEFAULTS, after_run=covid.write_predictions,
))

register(DatasetSpec(
    "csv", "table", "auto", "Your CSV table",
    "A table you add (upload on the Home page, or `fetch csv --from FILE`): pick the target column; numbers are "
    "standardised, text is one-hot encoded; classification or regression is inferred from the target.",
    load=lambda home=None, **args: csvdata.load(home, **args), ready=csvdata.ready, fetch=csvdata.fetch,
    options=csvdata.OPTIONS, option_choices=csvdata.option_choices, addable=True,
))


def load_dataset(name: str, home=None, **data_args) -> Dataset:
    return DATASETS[name].load(home, **data_args)


__all__ = ["DATASETS", "Dataset", "DatasetSpec", "Split", "DataMissingError", "load_dataset", "register"]
