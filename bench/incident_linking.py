"""``python -m bench.incident_linking [--seeds 11-40]``: precision and recall of incident links.

Pairwise, over the labelled synthetic set (`bench.incident_samples`): a pair of complaints is
a true link when both belong to one true incident, a predicted link when the linker put both in
one incident. Seeds 1-10 were used while choosing the thresholds; the default 11-40 were not.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from itertools import combinations

from bench.incident_samples import LabelledComplaint, labelled_set
from workflow.incidents.linker import LinkRules, link_all, sighting_of

__all__ = ["LinkScore", "score_links"]


@dataclass(frozen=True, slots=True)
class LinkScore:
    true_positive: int
    false_positive: int
    false_negative: int
    complaints: int

    @property
    def precision(self) -> float:
        predicted = self.true_positive + self.false_positive
        return self.true_positive / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        actual = self.true_positive + self.false_negative
        return self.true_positive / actual if actual else 1.0


def _score_one(data: list[LabelledComplaint], rules: LinkRules | None) -> LinkScore:
    sightings = (sighting_of(c.case_id, c.received_at, c.text, c.location) for c in data)
    predicted = link_all((s for s in sightings if s is not None), rules)
    tp = fp = fn = 0
    for a, b in combinations(data, 2):
        actual = a.incident is not None and a.incident == b.incident
        linked = a.case_id in predicted and predicted[a.case_id] == predicted.get(b.case_id)
        tp += actual and linked
        fp += linked and not actual
        fn += actual and not linked
    return LinkScore(tp, fp, fn, len(data))


def score_links(seeds: range, rules: LinkRules | None = None) -> LinkScore:
    total = LinkScore(0, 0, 0, 0)
    for seed in seeds:
        one = _score_one(labelled_set(seed), rules)
        total = LinkScore(
            total.true_positive + one.true_positive,
            total.false_positive + one.false_positive,
            total.false_negative + one.false_negative,
            total.complaints + one.complaints,
        )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="11-40", help="first-last, inclusive")
    first, last = (int(part) for part in parser.parse_args().seeds.split("-"))
    result = score_links(range(first, last + 1))
    print(
        f"seeds {first}-{last}: {result.complaints} complaints, "
        f"links TP {result.true_positive} FP {result.false_positive} "
        f"FN {result.false_negative}: precision {result.precision:.3f} recall {result.recall:.3f}"
    )


if __name__ == "__main__":
    main()
