"""How well news runs read headlines written long after the 2014 training data: 48 hand-written
headlines about 2019-2026 events (12 per class), none of them in the UCI data.

    python bench/recent_headlines.py RUN_ID [RUN_ID ...] [--home DIR]

Prints, per run, the share read right overall and per class, and the headlines it got wrong.
"""

from __future__ import annotations

import argparse
from collections import Counter

import _common  # noqa: F401 (puts the repository on sys.path)

HEADLINES = {
    "business": [
        "Federal Reserve holds interest rates steady as inflation cools",
        "Oil prices jump after OPEC announces surprise production cuts",
        "Silicon Valley Bank collapses in the largest US bank failure since 2008",
        "Stocks slide as investors fear a recession",
        "European Central Bank raises rates for the tenth time in a row",
        "Dollar weakens after jobs report shows slower hiring",
        "Shares of the carmaker tumble after quarterly profit misses forecasts",
        "Gold hits a record high as investors seek safety",
        "Retail sales fall for a second month as shoppers cut back",
        "Mortgage rates climb to their highest level in two decades",
        "Bank of England cuts its key interest rate to four percent",
        "Airline profits soar as travel demand returns",
    ],
    "science/tech": [
        "Nvidia becomes the world's most valuable company as AI chip demand soars",
        "OpenAI releases a new version of ChatGPT",
        "Apple unveils its first mixed reality headset",
        "SpaceX launches Starship rocket on its latest test flight",
        "Microsoft invests billions in artificial intelligence start-up",
        "Google faces antitrust trial over its search engine",
        "NASA's James Webb telescope captures images of distant galaxies",
        "Meta launches Threads app to rival Twitter",
        "Samsung unveils a foldable smartphone with a bigger screen",
        "Hackers steal millions of customer records in a data breach",
        "Amazon tests drone deliveries in more cities",
        "New quantum computer chip outperforms supercomputers, researchers say",
    ],
    "entertainment": [
        "Taylor Swift's Eras Tour film breaks box office records",
        "Barbie becomes the highest grossing film of the year",
        "Beyonce wins album of the year at the Grammys",
        "Netflix renews its hit series for a final season",
        "Oppenheimer sweeps the Oscars with seven awards",
        "Actor announces engagement to his longtime girlfriend",
        "Rolling Stones release their first album of new songs in eighteen years",
        "Hollywood actors end their strike after four months",
        "Singer cancels world tour concerts due to illness",
        "New Star Wars movie set to hit theaters next summer",
        "Reality TV star and rapper split after two years of marriage",
        "Disney's live-action remake tops the weekend box office",
    ],
    "health": [
        "WHO declares mpox outbreak a global health emergency",
        "Measles cases surge as vaccination rates fall",
        "FDA approves a new weight loss drug",
        "Study links ultra-processed food to higher risk of heart disease",
        "COVID-19 vaccine booster recommended for older adults this autumn",
        "Bird flu spreads to dairy cows, raising concern among doctors",
        "Hospitals report a rise in flu and RSV patients",
        "New Alzheimer's drug slows memory decline in trial",
        "Cancer screening rates drop during the pandemic, study finds",
        "Doctors warn of antibiotic resistant infections",
        "Daily walking lowers the risk of early death, researchers find",
        "Malaria vaccine rollout begins in African countries",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_ids", nargs="+")
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    from engine.jobs.store import RunStore
    from engine.predict.predictor import Predictor

    items = [(text, label) for label, texts in HEADLINES.items() for text in texts]
    for run_id in args.run_ids:
        predictor = Predictor.from_run(RunStore(args.home), run_id)
        results = predictor.predict_texts([t for t, _ in items])
        right, wrong = Counter(), []
        for (text, label), result in zip(items, results, strict=True):
            right[label] += result["label"] == label
            if result["label"] != label:
                wrong.append(f"{text!r}: {result['label']} (true {label})")
        total = sum(right.values())
        per_class = ", ".join(f"{label} {right[label]}/{len(texts)}" for label, texts in HEADLINES.items())
        print(f"{run_id} ({predictor.config.short_name()}): {total}/{len(items)} = {total / len(items):.3f}  "
              f"[{per_class}]")
        for line in wrong:
            print("   wrong:", line)


if __name__ == "__main__":
    main()
